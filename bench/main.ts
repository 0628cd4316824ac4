/**
 * `npm run bench` (and `npm run bench:smoke`): gateway overhead against the upstream directly and
 * against Portkey's open-source gateway, interleaved in one run on this machine. Writes
 * BENCHMARKS.md and bench/results/latest.json (the smoke run writes only to a temp directory).
 *
 *   npm run bench                 # the full run (~25 minutes on 2 cores, not yet timed with keys-paced and the 10 s consumer window)
 *   npm run bench:smoke           # about five minutes: checks the harness end to end, numbers meaningless
 *   npm run bench -- --out DIR    # write the report elsewhere
 *   npm run bench -- --tree working   # measure the working tree instead of a snapshot of HEAD
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { CONTINUATION_HEADER } from "../src/pipeline/continuation";
import { ROOT } from "../scripts/lib/dev-stack";
import { LOCAL_USAGE_DELIVERY_WINDOW_S, USAGE_DELIVERY_WINDOW_ENV, localUsageDeliveryWindow, productionUsageDeliveryWindow } from "../scripts/lib/usage-window";
import { loadAverageNow, machineFacts } from "./lib/machine";
import { watchLog } from "./lib/gateway-log";
import { readOps } from "./lib/ops";
import { runPhases, type PathDef, type RequestSpec, type Results, type Workload } from "./lib/phases";
import { cpuMicros, peakRssKib, rssKib } from "./lib/procfs";
import { profileWhile } from "./lib/profiler";
import { runLoad } from "./lib/load";
import type { IsolateProfile } from "./lib/summary";
import { fmtSummaryLine, renderReport } from "./lib/render";
import { requestBodies } from "./lib/requests";
import { seedSubscribers } from "./lib/seed";
import { buildSummary } from "./lib/summary";
import { privateDevRegistry, requestTarget, startForwarder, startGateway, startPortkey, startUpstream, type Forwarder, type Gateway, type PathName, type Peer, type Upstream } from "./lib/targets";
import { measureNodeComponents } from "./micro/node-components";
import { measureWorkerdComponents } from "./lib/workerd-components";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
    /** "head" (default): benchmark a snapshot of the committed HEAD; "working": the working tree as it is. */
    tree: { type: "string", default: "head" },
    "in-snapshot": { type: "boolean", default: false },
  },
});
const smoke = values.smoke;

/** The fixed upstreams: one fast for non-streamed load, one paced like a real model for streams. */
const FAST = { hotkeyUri: "//Bob", model: "bench/fast", ttftMs: 5, tokensPerSec: 2000 };
const PACED = { hotkeyUri: "//Charlie", model: "bench/paced", ttftMs: 50, tokensPerSec: 100 };
const MAX_TOKENS = 16;
const STREAM_TOKENS = 32;
/** The dev stack's subscriber (scripts/lib/dev-stack.ts), whose key the one-key workloads use. */
const DEV_SUBSCRIBER = "sub_dev";

/** The many-keys subscribers' plan: a paid plan, sliced by the limits object like a customer's. */
const MANY_KEYS_PLAN = "pro";

/**
 * The usage queue consumer's delivery window (its `max_batch_timeout`) in the dev stack the bench
 * starts: the consumer runs a batch only when it is full or this long after its first message, so
 * a phase's usage rows land up to this long after its last request. A full run measures
 * production's (wrangler.toml, 10 s: its D1 rows per request are what the cost model prices); the
 * smoke run the dev stack's 1 s, to stay short. USAGE_DELIVERY_WINDOW_S overrides both
 * (scripts/lib/usage-window.ts).
 */
const CONSUMER_WINDOW_S = process.env[USAGE_DELIVERY_WINDOW_ENV] ? localUsageDeliveryWindow(ROOT) : smoke ? LOCAL_USAGE_DELIVERY_WINDOW_S : productionUsageDeliveryWindow(ROOT);
const CONSUMER_WINDOW_MS = CONSUMER_WINDOW_S * 1000;
/** The grant book's idle give-back (GRANT_IDLE_MS): a book idle this long gives its slice back to the limits object. */
const GIVE_BACK_MS = 1000;
/**
 * How long a phase's late work can take to land after its last request: the consumer's window, the
 * give-back, and a margin for the consumer's run (D1, R2) and the limits objects' writes.
 */
const LATE_WORK_MS = CONSUMER_WINDOW_MS + GIVE_BACK_MS + 1500;

/**
 * The paced many-keys case: `keys` subscribers each sending a request every `keys / rate` s.
 * Full run: 1,000 keys at 200 req/s (each key every 5 s, an agent's loop or a chat user), 12 s of
 * warm-up at the same pace on the same keys (every key touched twice, so its limits object is live
 * and the consumer has run at least one full window) and 30 s measured (three consumer windows, six
 * visits per key). Run in the first round only: one such phase is 42 s per path.
 */
const pacedFull = { keys: 1000, rate: 200, warmupSec: Math.max(12, (CONSUMER_WINDOW_MS + 2000) / 1000), measureSec: Math.max(30, (3 * CONSUMER_WINDOW_MS) / 1000), maxSockets: 64 };

const config = smoke
  ? {
      rounds: 1,
      phaseSec: 1,
      warmupSec: 1,
      levels: [1, 16],
      saturation: [] as number[],
      streams: [{ c: 2, n: 4 }],
      keys: 20,
      // A tiny version of the paced case: 20 keys, each every 2 s.
      paced: { keys: 20, rate: 10, warmupSec: 2, measureSec: 4, maxSockets: 16 },
      burst: { size: 30, bursts: 1, idleMs: 1200 },
      tailMs: LATE_WORK_MS,
      profileSec: 2,
      microIterations: 50,
    }
  : {
      rounds: 3,
      phaseSec: 4,
      warmupSec: 3,
      levels: [1, 16, 64],
      saturation: [128, 256],
      streams: [{ c: 1, n: 10 }, { c: 16, n: 48 }],
      keys: 1000,
      paced: pacedFull,
      burst: { size: 300, bursts: 2, idleMs: 1500 },
      // After the last phase, before the last counter reading: the books' idle give-backs and the queue consumer's last batches land within it.
      tailMs: LATE_WORK_MS,
      profileSec: 10,
      microIterations: 1000,
    };

const bodies = requestBodies(FAST.model, MAX_TOKENS, PACED.model, STREAM_TOKENS);
const GATEWAYS = ["gateway", "gateway-workerd"] as const;
/**
 * Gateway phases wait this long before reading CPU: the grant book's 1 s idle give-back. The
 * consumer's batch lands within LATE_WORK_MS, which each round waits after every workload
 * (`workloadSettleMs`), so it still counts for the workload that caused it.
 */
const GATEWAY_SETTLE_MS = GIVE_BACK_MS + 600;

const log = (line: string) => process.stdout.write(`[bench] ${line}\n`);

function workloadsOf(): { measured: Workload[]; warmup: Workload[] } {
  const dialects = (endpoint: "messages" | "responses"): Workload => ({ kind: "load", id: `${endpoint}-c16`, connections: 16, endpoint, keys: "one", paths: ["direct", ...GATEWAYS] });
  // The cold case: 16 connections as fast as they go, each key seen about once per phase.
  const manyKeys: Workload = { kind: "load", id: "keys-c16", connections: 16, endpoint: "chat", keys: "many", paths: ["direct", ...GATEWAYS] };
  // The steady case: each key every keys/rate seconds, gateway paths only (no added latency over direct at a pace: the cost is the point).
  const pacedKeys: Workload = { kind: "paced", id: "keys-paced", endpoint: "chat", ...config.paced, rounds: 1, paths: GATEWAYS };
  const measured: Workload[] = [
    ...[...config.levels, ...config.saturation].map((c): Workload => ({ kind: "load", id: `c${c}`, connections: c, endpoint: "chat", keys: "one" })),
    manyKeys,
    dialects("messages"),
    dialects("responses"),
    ...config.streams.flatMap((s): Workload[] => [
      { kind: "stream", id: `s${s.c}`, concurrency: s.c, count: s.n, continuation: true },
      { kind: "stream", id: `s${s.c}-off`, concurrency: s.c, count: s.n, continuation: false, paths: GATEWAYS },
    ]),
    // Last of the rounds' workloads: the cold case of the next round comes after every one-key phase.
    pacedKeys,
    { kind: "burst", id: "burst-cold", ...config.burst, cold: true, paths: GATEWAYS },
    { kind: "burst", id: "burst-warm", ...config.burst, cold: false, paths: GATEWAYS },
  ];
  const warmup: Workload[] = [
    { kind: "load", id: "warmup", connections: 16, endpoint: "chat", keys: "one" },
    { ...manyKeys, id: "warmup-keys", paths: GATEWAYS },
    { ...dialects("messages"), id: "warmup-messages", paths: GATEWAYS },
    { ...dialects("responses"), id: "warmup-responses", paths: GATEWAYS },
  ];
  return { measured, warmup };
}

/**
 * The forwarding-only Worker on its own workerd socket: one-key chat and the default streams,
 * the floor of what workerd and miniflare cost by themselves.
 */
function forwarderPath(f: Forwarder, fast: Upstream, paced: Upstream): PathDef {
  const json = { "content-type": "application/json" };
  return {
    id: "forwarder",
    label: "a forwarding-only Worker (workerd socket)",
    roles: { worker: f.pids.worker },
    settleMs: 300,
    request(w: Workload): RequestSpec | null {
      if (w.kind === "load" && w.endpoint === "chat" && w.keys === "one") return { url: `${f.url}/v1/chat/completions`, headers: { ...json, "x-upstream": fast.url }, body: bodies.chat };
      if (w.kind === "stream" && w.continuation) return { url: `${f.url}/v1/chat/completions`, headers: { ...json, "x-upstream": paced.url }, body: bodies.stream };
      return null;
    },
  };
}

/** GET with a bearer token; null when the gateway does not answer in time or not with 2xx JSON. */
async function getJson<T>(url: string, token: string): Promise<T | null> {
  try {
    const res = await fetch(url, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(30_000) });
    if (!res.ok) throw new Error(`${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  } catch (err) {
    log(`GET ${new URL(url).pathname} failed: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

/** Requests answered 2xx of the workloads matching `pick`, over the gateway paths. */
function gatewayServed(results: Results, workloads: readonly Workload[], pick: (w: Workload) => boolean): number {
  let n = 0;
  for (const w of workloads.filter(pick)) for (const gw of GATEWAYS) n += results[w.id]?.[gw]?.ok ?? 0;
  return n;
}

const isManyKeys = (w: Workload) => (w.kind === "load" && w.keys === "many") || w.kind === "paced";

async function main(): Promise<void> {
  const outDir = values.out ?? (smoke ? mkdtempSync(join(tmpdir(), "bench-smoke-")) : ROOT);
  const started = new Date();
  const loadAtStart = loadAverageNow();
  const stops: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await s().catch((err: unknown) => log(`stop failed: ${String(err)}`));
  };
  process.once("SIGINT", () => void stopAll().finally(() => process.exit(130)));
  process.once("SIGTERM", () => void stopAll().finally(() => process.exit(143)));

  // Pushed first, so it runs last: after every wrangler dev has stopped.
  const dropRegistry = privateDevRegistry();
  stops.push(async () => dropRegistry());
  try {
    log(`load average at the start: ${loadAtStart}`);
    log("starting the fixed upstreams");
    const fast: Upstream = await startUpstream("upstream-fast", FAST);
    stops.push(() => fast.process.stop());
    const paced: Upstream = await startUpstream("upstream-paced", PACED);
    stops.push(() => paced.process.stop());
    log("starting the gateway (wrangler dev) and Portkey");
    const gateway: Gateway = await startGateway([fast, paced], { usageDeliveryWindowS: CONSUMER_WINDOW_S });
    stops.push(() => gateway.stack.stop());
    const gatewayLog = watchLog(gateway.stack.gateway.child);
    const portkey: Peer = await startPortkey();
    stops.push(() => portkey.process.stop());
    const forwarder: Forwarder = await startForwarder();
    stops.push(() => forwarder.process.stop());
    log(`gateway ${gateway.url} (workerd entry ${gateway.innerUrl ?? "not found"}), portkey ${portkey.url}, forwarding Worker ${forwarder.url}`);
    const admin = { url: gateway.url, token: gateway.stack.adminToken };

    log(`seeding ${config.keys} subscribers with a key each (plan ${MANY_KEYS_PLAN})`);
    const seeded = await seedSubscribers(gateway.url, gateway.stack.adminToken, config.keys, MANY_KEYS_PLAN);

    const gwRoles: Record<string, number> = { worker: gateway.pids.worker, wrangler: gateway.pids.wrangler };
    if (gateway.pids.proxy !== null) gwRoles.proxy = gateway.pids.proxy;
    const probe = () => readOps(admin);
    const path = (id: string, label: string, kind: PathName, base: string, roles: Record<string, number>, settleMs: number): PathDef => ({
      id,
      label,
      roles,
      settleMs,
      probe: kind === "gateway" ? probe : undefined,
      request(w: Workload): RequestSpec | null {
        if (w.kind === "paced") {
          if (kind !== "gateway" && kind !== "direct") return null;
          const t = requestTarget(kind, fast, base, null, portkey.url, w.endpoint);
          return { ...t, body: kind === "gateway" ? bodies[w.endpoint] : bodies.chat, rotate: { header: "authorization", values: seeded.authorizations } };
        }
        if (w.kind === "load") {
          if (kind === "portkey" && (w.endpoint !== "chat" || w.keys !== "one")) return null;
          const many = w.keys === "many";
          const t = requestTarget(kind, fast, base, many ? null : gateway.devKey, portkey.url, w.endpoint);
          // Every path rotates the same header in the many-keys workload, so the load generator works alike for each.
          return { ...t, body: kind === "gateway" ? bodies[w.endpoint] : bodies.chat, rotate: many ? { header: "authorization", values: seeded.authorizations } : undefined };
        }
        if (w.kind === "stream") {
          if (!w.continuation && kind !== "gateway") return null;
          const t = requestTarget(kind, paced, base, gateway.devKey, portkey.url);
          return { url: t.url, headers: w.continuation ? t.headers : { ...t.headers, [CONTINUATION_HEADER]: "off" }, body: bodies.stream };
        }
        if (kind !== "gateway") return null;
        return { ...requestTarget(kind, fast, base, gateway.devKey, portkey.url), body: bodies.chat };
      },
    });
    const paths: PathDef[] = [
      path("direct", "direct to upstream", "direct", "", { upstream: fast.process.child.pid as number }, 300),
      path("gateway", "this gateway (wrangler dev)", "gateway", gateway.url, { ...gwRoles }, GATEWAY_SETTLE_MS),
    ];
    if (gateway.innerUrl) paths.push(path("gateway-workerd", "this gateway (workerd socket)", "gateway", gateway.innerUrl, { ...gwRoles }, GATEWAY_SETTLE_MS));
    paths.push(forwarderPath(forwarder, fast, paced));
    paths.push(path("portkey", "Portkey gateway 1.15.2 (Node)", "portkey", portkey.url, { portkey: portkey.pid }, 300));

    // Memory: sample resident sets through the run; the kernel's high-water mark is read at the end.
    const tracked: Record<string, number> = { ...gwRoles, forwarder: forwarder.pids.worker, portkey: portkey.pid, upstreamFast: fast.process.child.pid as number };
    const peakSampled: Record<string, number> = {};
    const sampler = setInterval(() => {
      for (const [role, pid] of Object.entries(tracked)) peakSampled[role] = Math.max(peakSampled[role] ?? 0, rssKib(pid));
    }, 200);
    stops.push(async () => clearInterval(sampler));
    const idleRss = Object.fromEntries(Object.entries(tracked).map(([role, pid]) => [role, rssKib(pid)]));

    const { measured: workloads, warmup } = workloadsOf();
    log("warming up every path and endpoint");
    // The tail: what warm-up leaves behind (batches, give-backs) lands before the rounds start.
    await runPhases(paths, { rounds: 1, phaseSec: config.warmupSec, workloads: warmup, log: () => {}, tailMs: config.tailMs, workloadSettleMs: LATE_WORK_MS });

    // Bursts come last, after the profile: a burst can leave the gateway unable to answer (see
    // the profile notes), and nothing else should be measured on a gateway in that state.
    const rounds = workloads.filter((w) => w.kind !== "burst");
    const bursts = workloads.filter((w) => w.kind === "burst");
    const cpuBefore = Object.fromEntries(Object.entries(tracked).map(([role, pid]) => [role, cpuMicros(pid)]));
    const opsStart = await probe();
    const results = await runPhases(paths, { rounds: config.rounds, phaseSec: config.phaseSec, workloads: rounds, log, tailMs: config.tailMs, workloadSettleMs: LATE_WORK_MS });
    const opsEnd = await probe();
    const cpuTotal = Object.fromEntries(Object.entries(tracked).map(([role, pid]) => [role, cpuMicros(pid) - (cpuBefore[role] ?? 0)]));

    // Metering was on: the gateway's own usage report must count what it served the dev subscriber.
    const usage = await getJson<{ totals?: { requests?: number } | null }>(`${gateway.url}/v1/usage`, gateway.devKey);
    const recorded = (await getJson<{ recorded?: { batches: number; events: number } }>(`${gateway.url}/admin/usage?subscriber_id=${DEV_SUBSCRIBER}`, gateway.stack.adminToken))?.recorded ?? { batches: 0, events: 0 };
    const servedDev = gatewayServed(results, rounds, (w) => !isManyKeys(w));

    // The gateway's own isolate, profiled: locally the Worker's workerd also runs miniflare's
    // isolates (its entry, the D1, R2 and Queue simulators), which /proc cannot tell apart.
    log("profiling the gateway's isolate under load");
    const isolate = gateway.innerUrl ? await profileIsolate(gateway, gateway.innerUrl, fast) : null;

    log("bursts on one key");
    Object.assign(results, await runPhases(paths, { rounds: config.rounds, phaseSec: config.phaseSec, workloads: bursts, log }));
    clearInterval(sampler);
    const peakHwm = Object.fromEntries(Object.entries(tracked).map(([role, pid]) => [role, peakRssKib(pid)]));


    log("measuring components in workerd");
    const workerd = await measureWorkerdComponents(smoke ? 20 : 300, log, undefined, smoke ? 1 : 3).catch((err: unknown) => {
      log(`workerd components failed: ${err instanceof Error ? err.message : String(err)}`);
      return null;
    });
    await stopAll();

    log("measuring components on Node");
    const node = await measureNodeComponents(bodies.chat, answerSample, config.microIterations);

    const summary = buildSummary({
      smoke,
      started,
      finished: new Date(),
      command: smoke ? "npm run bench:smoke" : "npm run bench",
      machine: machineFacts(loadAtStart),
      config: { ...config, fast: FAST, paced: PACED, maxTokens: MAX_TOKENS, streamTokens: STREAM_TOKENS, gatewaySettleMs: GATEWAY_SETTLE_MS, consumerWindowMs: CONSUMER_WINDOW_MS, lateWorkMs: LATE_WORK_MS },
      paths: paths.map((p) => ({ id: p.id, label: p.label })),
      workloads,
      results,
      memory: { idleKib: idleRss, peakSampledKib: peakSampled, peakHwmKib: peakHwm },
      cpuTotalUs: cpuTotal,
      metering: { servedByGateway: servedDev, meteredRequests: usage ? (usage.totals?.requests ?? 0) : null, batches: recorded.batches, batchedEvents: recorded.events },
      manyKeys: { subscribers: seeded.subscriberIds.length, planId: MANY_KEYS_PLAN },
      runOps: opsStart && opsEnd ? { start: opsStart, end: opsEnd } : null,
      isolate,
      gatewayLog: gatewayLog.messages(),
      node,
      workerd,
    });
    mkdirSync(join(outDir, "bench/results"), { recursive: true });
    writeFileSync(join(outDir, "bench/results/latest.json"), `${JSON.stringify(summary, (_k, v: unknown) => (typeof v === "bigint" ? v.toString() : v), 2)}\n`);
    writeFileSync(join(outDir, "BENCHMARKS.md"), renderReport(summary));
    log(`wrote ${join(outDir, "BENCHMARKS.md")}`);
    log(`targets:\n${fmtSummaryLine(summary)}`);
    if (summary.problems.length > 0) {
      for (const p of summary.problems) log(`problem: ${p}`);
      process.exitCode = 1;
    }
  } finally {
    await stopAll();
  }
}

/** Non-streamed chat at 16 connections on the Worker's own socket with the CPU profiler on; null when profiling failed. */
async function profileIsolate(gateway: Gateway, base: string, upstream: Upstream): Promise<IsolateProfile | null> {
  const connections = 16;
  const intervalUs = 200;
  try {
    const t = requestTarget("gateway", upstream, base, gateway.devKey, "");
    const { result, analysis, bundleFound } = await profileWhile(gateway.pids.worker, intervalUs, async () => {
      const r = await runLoad({ ...t, body: bodies.chat, connections, durationSec: config.profileSec });
      await new Promise((res) => setTimeout(res, GATEWAY_SETTLE_MS)); // the batch's consumer and the give-back
      return r;
    }, gateway.stack.configDir);
    const per = (ms: number) => (result.ok > 0 ? (ms * 1000) / result.ok : Number.NaN);
    return {
      connections,
      seconds: config.profileSec,
      intervalUs,
      requests: result.ok,
      failed: result.failed,
      bundleFound,
      totalUsPerRequest: per(analysis.totalMs),
      tasks: analysis.tasks.map(([k, v]) => [k, per(v)]),
      modules: analysis.modules.slice(0, 20).map(([k, v]) => [k, per(v)]),
      functions: analysis.functions.slice(0, 20).map(([k, v]) => [k, per(v)]),
    };
  } catch (err) {
    log(`profiling failed: ${err instanceof Error ? err.message : String(err)}`);
    return null;
  }
}

/** A typical non-streamed answer of the fast upstream, for the JSON micro-benchmark. */
const answerSample = JSON.stringify({
  id: "chatcmpl-0123456789abcdef01234567",
  object: "chat.completion",
  created: 1_764_000_000,
  model: FAST.model,
  system_fingerprint: "fp_tiny_miner",
  choices: [{ index: 0, message: { role: "assistant", content: "River stone light quiet simple bright, green system small large open careful reason.", refusal: null }, logprobs: null, finish_reason: "length" }],
  usage: { prompt_tokens: 14, completion_tokens: 16, total_tokens: 30 },
});

/**
 * `wrangler dev` rebuilds and restarts the Worker whenever a source file changes, and the working
 * tree is shared with other engineers: a run against it can switch code (and workerd processes)
 * mid-measurement. So by default the run happens in a snapshot of HEAD (`git archive`), with
 * node_modules linked, and the report is written back here.
 */
async function inSnapshot(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "bench-tree-"));
  try {
    execFileSync("sh", ["-c", `git archive --format=tar HEAD | tar -x -C '${dir}'`], { cwd: ROOT });
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
    const outDir = values.out ?? (smoke ? mkdtempSync(join(tmpdir(), "bench-smoke-")) : ROOT);
    log(`benchmarking a snapshot of HEAD (${commit}) in ${dir}`);
    // Node 20's WebSocket (the CPU profiler's DevTools connection) is behind a flag.
    const args = ["--experimental-websocket", "--import", "tsx", join(dir, "bench/main.ts"), "--in-snapshot", "--out", outDir, ...(smoke ? ["--smoke"] : [])];
    const child = spawn(process.execPath, args, { cwd: dir, stdio: "inherit", env: { ...process.env, BENCH_COMMIT: commit } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    const code = await new Promise<number>((resolve) => child.once("exit", (c, sig) => resolve(c ?? (sig ? 130 : 1))));
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.tree === "head" && !values["in-snapshot"]) process.exitCode = await inSnapshot();
else if (values.tree === "head" || values.tree === "working") {
  await main();
  // Everything is written and every process the run started was stopped; end now. Twice a run sat
  // here for minutes afterwards, its event loop held by a handle none of its own code keeps (an
  // orphaned workerd's socket or a library's timer), which left `npm run bench` hanging.
  process.exit(process.exitCode ?? 0);
}
else throw new Error(`--tree must be "head" or "working", got ${values.tree}`);
