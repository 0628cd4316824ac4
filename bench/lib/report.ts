/**
 * Turns one run's raw samples into the summary (bench/results/latest.json) and BENCHMARKS.md:
 * per workload and path the latency percentiles, added latency over direct, throughput, CPU per
 * request and memory; the issues' targets with pass/miss; the cost per million requests.
 */
import type { WorkerdComponents } from "./workerd-components";
import type { NodeComponents } from "../micro/node-components";
import { costPerMillionRequests, milli, PRICES, PRICES_READ_ON, usd, type CostLine, type UsagePerRequest } from "./cost";
import type { MachineFacts } from "./machine";
import type { Acc, Results, Workload } from "./phases";
import { summarise, type Summary } from "./stats";

export interface RunInput {
  smoke: boolean;
  started: Date;
  finished: Date;
  command: string;
  machine: MachineFacts;
  config: Record<string, unknown>;
  paths: { id: string; label: string }[];
  workloads: Workload[];
  results: Results;
  memory: { idleKib: Record<string, number>; peakSampledKib: Record<string, number>; peakHwmKib: Record<string, number> };
  cpuTotalUs: Record<string, number>;
  /** Usage the run metered, and how it travelled: `batches` applied holding `batchedEvents` events. */
  metering: { servedByGateway: number; meteredRequests: number; batches: number; batchedEvents: number };
  node: NodeComponents;
  workerd: WorkerdComponents | null;
}

export interface PathFigures {
  latency: Summary;
  ttft: Summary | null;
  gaps: Summary | null;
  ok: number;
  failed: number;
  rps: number;
  /** CPU µs per successful request, by process role. */
  cpuUsPerRequest: Record<string, number>;
}

export interface Target {
  issue: string;
  what: string;
  target: string;
  measured: string;
  pass: boolean | null;
  note: string;
}

export interface Summary2 {
  input: Omit<RunInput, "results">;
  figures: Record<string, Record<string, PathFigures>>;
  maxThroughput: Record<string, { rps: number; at: string }>;
  gatewayCpuUsPerRequest: number;
  cost: { usage: Record<string, string>; lines: { what: string; perRequest: string; unit: string; perMillion: string }[]; total: string; totalMicroUsd: string };
  targets: Target[];
  problems: string[];
  saturation: string[];
}

const GATEWAY_IDS = ["gateway-workerd", "gateway"] as const;

function figuresOf(acc: Acc, stream: boolean): PathFigures {
  const cpuUsPerRequest: Record<string, number> = {};
  for (const [role, us] of Object.entries(acc.cpuUs)) cpuUsPerRequest[role] = acc.ok > 0 ? us / acc.ok : Number.NaN;
  return {
    latency: summarise(acc.latenciesMs),
    ttft: stream ? summarise(acc.ttftMs) : null,
    gaps: stream ? summarise(acc.gapsMs) : null,
    ok: acc.ok,
    failed: acc.failed,
    rps: acc.seconds > 0 ? acc.ok / acc.seconds : 0,
    cpuUsPerRequest,
  };
}

const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "n/a");
const mib = (kib: number | undefined) => (kib === undefined ? "n/a" : `${(kib / 1024).toFixed(0)} MiB`);

export function buildSummary(input: RunInput): Summary2 {
  const problems: string[] = [];
  /** Failures past 64 connections: expected when a path saturates, reported but not an error. */
  const saturation: string[] = [];
  const figures: Record<string, Record<string, PathFigures>> = {};
  for (const w of input.workloads) {
    const byPath = input.results[w.id] ?? {};
    figures[w.id] = Object.fromEntries(Object.entries(byPath).map(([p, acc]) => [p, figuresOf(acc, w.kind === "stream")]));
    for (const [p, f] of Object.entries(figures[w.id] ?? {})) {
      const total = f.ok + f.failed;
      const kinds = Object.entries(byPath[p]?.failures ?? {})
        .map(([k, n]) => `${k} ×${n}`)
        .join(", ");
      if (f.ok === 0) problems.push(`${w.id}/${p}: no successful request${kinds ? ` (${kinds})` : ""}`);
      else if (w.kind === "load" && w.connections <= 64 && f.failed / total > 0.001) problems.push(`${w.id}/${p}: ${f.failed} of ${total} requests failed (${kinds})`);
      else if (f.failed > 0) saturation.push(`${w.id}/${p}: ${f.failed} of ${total} requests failed (${kinds || "stream errors"})`);
    }
  }

  // Max sustained throughput: best req/s over the non-streamed levels with < 1% failures.
  const maxThroughput: Record<string, { rps: number; at: string }> = {};
  for (const p of input.paths) {
    let best = { rps: 0, at: "n/a" };
    for (const w of input.workloads) {
      if (w.kind !== "load") continue;
      const f = figures[w.id]?.[p.id];
      if (!f || f.ok === 0 || f.failed / (f.ok + f.failed) >= 0.01) continue;
      if (f.rps > best.rps) best = { rps: f.rps, at: `${w.connections} connections` };
    }
    maxThroughput[p.id] = best;
  }

  // CPU per non-streamed request of the Worker's own workerd (what production bills), over all
  // fixed-concurrency phases through the workerd socket (or through wrangler dev if absent).
  const gwId = input.paths.some((p) => p.id === "gateway-workerd") ? "gateway-workerd" : "gateway";
  let cpuUs = 0;
  let reqs = 0;
  for (const w of input.workloads) {
    if (w.kind !== "load") continue;
    const acc = input.results[w.id]?.[gwId];
    if (!acc) continue;
    cpuUs += acc.cpuUs.worker ?? 0;
    reqs += acc.ok;
  }
  const gatewayCpuUsPerRequest = reqs > 0 ? cpuUs / reqs : Number.NaN;

  // What one request does, per billed line (see the report's cost section for the derivation).
  // Usage travels in batches: one queue message (< 64 KB: write, read, delete = 3 operations), one
  // R2 put and one D1 transaction per batch, so those lines are per batch / events per batch, with
  // events per batch as the run actually batched them (the gateway's usage_batches ledger).
  const { batches, batchedEvents } = input.metering;
  const perEvent = (perBatchMilli: bigint): bigint => (batchedEvents > 0 ? (perBatchMilli * BigInt(batches)) / BigInt(batchedEvents) : perBatchMilli);
  const d1Written = input.workerd?.d1.rowsWrittenPerBatch ?? 0;
  const d1Read = input.workerd?.d1.rowsReadPerBatch ?? 0;
  const usage: UsagePerRequest = {
    workerRequests: 1000n + perEvent(10n), // the request + 1/100 of a queue consumer invocation per batch message (up to 100 messages per invocation)
    workerCpuMs: BigInt(Math.round(Number.isFinite(gatewayCpuUsPerRequest) ? gatewayCpuUsPerRequest : 0)), // µs = milli-CPU-ms
    d1RowsWritten: perEvent(BigInt(Math.round(d1Written * 1000))),
    d1RowsRead: perEvent(BigInt(Math.round(d1Read * 1000))),
    queueOps: perEvent(3000n),
    r2ClassA: perEvent(1000n),
    doRequests: 2016n, // limits DO: reserve + settle; MinerHealth DO: one report per 64 observations at load
    doRowsWritten: 5000n, // limits DO storage keys: reserve 2 (lease, bucket), settle 3 (lease, bucket, counters)
  };
  if (batchedEvents === 0) problems.push("metering: no usage batches recorded; queue, R2 and D1 lines counted as one batch per request");
  if (!input.workerd) problems.push("workerd component run failed: D1 rows per usage batch unknown (counted as 0)");
  const priced = costPerMillionRequests(usage);
  const cost = {
    usage: Object.fromEntries(Object.entries(usage).map(([k, v]) => [k, milli(v)])),
    lines: priced.lines.map((l: CostLine) => ({ what: PRICES[l.key].what, perRequest: milli(l.milliUnitsPerRequest), unit: PRICES[l.key].unit, perMillion: usd(l.microUsd) })),
    total: usd(priced.totalMicroUsd),
    totalMicroUsd: priced.totalMicroUsd.toString(),
  };

  const targets = evaluateTargets(input, figures, maxThroughput, gatewayCpuUsPerRequest, priced.totalMicroUsd);
  if (input.metering.meteredRequests < input.metering.servedByGateway) {
    problems.push(`metering: ${input.metering.meteredRequests} usage rows for ${input.metering.servedByGateway} requests served through the gateway`);
  }
  const { results: _omit, ...rest } = input;
  void _omit;
  return { input: rest, figures, maxThroughput, gatewayCpuUsPerRequest, cost, targets, problems, saturation };
}

function evaluateTargets(
  input: RunInput,
  figures: Record<string, Record<string, PathFigures>>,
  maxThroughput: Record<string, { rps: number; at: string }>,
  cpuUsPerRequest: number,
  costMicroUsd: bigint,
): Target[] {
  const out: Target[] = [];
  const direct16 = figures.c16?.direct;
  for (const gw of GATEWAY_IDS) {
    const g = figures.c16?.[gw];
    if (!g || !direct16) continue;
    const label = gw === "gateway" ? "through wrangler dev" : "workerd socket";
    const addP50 = g.latency.p50 - direct16.latency.p50;
    const addP99 = g.latency.p99 - direct16.latency.p99;
    out.push({ issue: "#7, #2", what: `added p50 latency at concurrency 16 (${label})`, target: "< 1 ms", measured: `${f2(addP50)} ms`, pass: addP50 < 1, note: "" });
    out.push({ issue: "#7, #2", what: `added p99 latency at concurrency 16 (${label})`, target: "< 5 ms", measured: `${f2(addP99)} ms`, pass: addP99 < 5, note: "" });
    const ds = figures.s1?.direct?.ttft;
    const gs = figures.s1?.[gw]?.ttft;
    if (ds && gs) {
      const add = gs.p50 - ds.p50;
      out.push({ issue: "#7, #2", what: `TTFT overhead, p50, 1 stream at a time (${label})`, target: "< 2 ms", measured: `${f2(add)} ms`, pass: add < 2, note: "" });
    }
  }
  const pk = maxThroughput.portkey?.rps ?? 0;
  for (const gw of GATEWAY_IDS) {
    const g = maxThroughput[gw];
    if (!g || pk === 0) continue;
    const label = gw === "gateway" ? "through wrangler dev" : "workerd socket";
    out.push({
      issue: "#7",
      what: `max throughput vs Portkey (${label})`,
      target: ">= 1x (aim 2x)",
      measured: `${f0(g.rps)} vs ${f0(pk)} req/s = ${f2(g.rps / pk)}x`,
      pass: g.rps >= pk,
      note: g.rps >= 2 * pk ? "aim (2x) reached" : "",
    });
  }
  out.push({
    issue: "#7, #2",
    what: "gateway CPU per non-streamed request (the Worker's workerd)",
    target: "< 1 ms",
    measured: `${f2(cpuUsPerRequest / 1000)} ms`,
    pass: cpuUsPerRequest < 1000,
    note: "includes the queue consumer, local D1 (SQLite) and the limits Durable Object, all in this workerd",
  });
  out.push({ issue: "#7", what: "infrastructure cost per million requests", target: "< $2.00", measured: usd(costMicroUsd), pass: costMicroUsd < 2_000_000n, note: "" });
  const wasmSign = input.workerd?.components.find((c) => c.id === "sr25519-wasm");
  const signRatio = input.workerd?.ratios?.find((r) => r.what.startsWith("sr25519 signature"));
  out.push({
    issue: "#12",
    what: "sr25519 signature in workerd (WebAssembly)",
    target: "<= 80 µs",
    measured: wasmSign ? `${f1(wasmSign.cpuUsPerOp)} µs` : "not measured",
    pass: wasmSign ? wasmSign.cpuUsPerOp <= 80 : null,
    note: signRatio ? `${f2(signRatio.ratio)}x faster than the pure-TS signer in the same workerd` : "",
  });
  const sel = input.node.select.find((s) => s.miners === 64) ?? input.node.select[0];
  out.push({
    issue: "#4",
    what: `picking a miner, CPU per request${sel ? ` (${sel.miners} miners)` : ""}`,
    target: "< 0.2 ms",
    measured: sel ? `${f2(sel.cpuUsPerOp / 1000)} ms` : "not measured",
    pass: sel ? sel.cpuUsPerOp < 200 : null,
    note: input.node.selectNote,
  });
  return out;
}

// ---------------------------------------------------------------------------------------------

function table(head: string[], rows: string[][]): string {
  return [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.join(" | ")} |`)].join("\n");
}

export function renderMarkdown(s: Summary2): string {
  const { input } = s;
  const m = input.machine;
  const label = Object.fromEntries(input.paths.map((p) => [p.id, p.label]));
  const loads = input.workloads.filter((w): w is Extract<Workload, { kind: "load" }> => w.kind === "load");
  const streams = input.workloads.filter((w): w is Extract<Workload, { kind: "stream" }> => w.kind === "stream");
  const out: string[] = [];
  out.push("# Benchmarks");
  out.push("");
  if (input.smoke) out.push("> **Smoke run: tiny request counts, the numbers mean nothing.**\n");
  out.push(
    `Generated by \`${input.command}\` on ${input.started.toISOString()} (${Math.round((input.finished.getTime() - input.started.getTime()) / 1000)} s), ` +
      `commit \`${m.commit}\`${m.dirtyFiles > 0 ? ` with ${m.dirtyFiles} uncommitted files in the shared working tree` : ""}. ` +
      "Every number below comes from that one run; rerun the command to reproduce it.",
  );
  out.push("");
  out.push("## Machine and versions");
  out.push("");
  out.push(
    table(
      ["what", "value"],
      [
        ["CPU", `${m.nproc} cores (\`nproc\`), ${m.cpuModel}`],
        ["memory (`free -h`)", `<pre>${m.memory.replace(/\n/g, "<br>")}</pre>`],
        ["kernel", m.kernel],
        ["load average at the end (1 / 5 / 15 min)", m.loadAverage ?? "not recorded"],
        ["Node", m.node],
        ...Object.entries(m.versions).map(([k, v]) => [k, v]),
      ],
    ),
  );
  out.push("");
  out.push("## What was measured");
  out.push("");
  const cfg = input.config as {
    rounds: number;
    phaseSec: number;
    fast: { ttftMs: number; tokensPerSec: number; model: string };
    paced: { ttftMs: number; tokensPerSec: number; model: string };
    maxTokens: number;
    streamTokens: number;
  };
  out.push(
    [
      `- **Upstream**: the reference miner's deterministic built-in model (\`miner/server.ts\`, Epistula verification off so no path pays for it), in its own process. ` +
        `Non-streamed load goes to one with TTFT ${cfg.fast.ttftMs} ms and ${cfg.fast.tokensPerSec} tokens/s (answers of ${cfg.maxTokens} tokens); ` +
        `streams go to one paced like a model, TTFT ${cfg.paced.ttftMs} ms and ${cfg.paced.tokensPerSec} tokens/s (${cfg.streamTokens} tokens).`,
      "- **Paths** (the same request, the same upstream):",
      ...input.paths.map((p) => `  - \`${p.id}\`: ${pathText(p.id, p.label)}`),
      `- **Interleaving**: ${cfg.rounds} rounds; in each round every workload visits every path in a rotated order, ${cfg.phaseSec} s per non-streamed phase. ` +
        "Samples of all rounds are merged before percentiles are taken. A warm-up phase per path precedes the rounds.",
      "- **Load**: autocannon (HTTP/1.1 keep-alive, one request in flight per connection) for non-streamed chat; streams by a small measuring client (node:http) that records the time to the first content event (TTFT) and the gaps between content events.",
      "- **CPU per request**: utime+stime from `/proc/<pid>/stat` of each process before and after each phase (10 ms tick), divided by the phase's successful requests. " +
        "For the gateway, `worker` is the workerd that runs the Worker (and, locally, the queue consumer, D1's SQLite and the limits Durable Object); `proxy` is wrangler dev's local proxy workerd and `wrangler` its Node process, neither of which exists in production. " +
        "Gateway phases wait 1.3 s before the CPU is read so the usage queue's batch (1 s timeout) is consumed inside the phase.",
      "- **Memory**: resident set sampled every 200 ms, and the kernel's high-water mark (VmHWM) at the end.",
      "- The load generator, the upstream and the path under test share the machine's cores: absolute numbers are this machine's, the ratios between paths are the point.",
      "- The code measured is a snapshot of the commit above (`git archive`), not the shared working tree: `wrangler dev` restarts the Worker whenever a file changes.",
    ].join("\n"),
  );
  out.push("");

  out.push("## Targets");
  out.push("");
  out.push(
    table(
      ["issue", "what", "target", "measured", "result", "note"],
      s.targets.map((t) => [t.issue, t.what, t.target, t.measured, t.pass === null ? "not measured" : t.pass ? "**pass**" : "**miss**", t.note]),
    ),
  );
  out.push("");

  out.push("## Non-streamed chat");
  out.push("");
  for (const w of loads) {
    const byPath = s.figures[w.id] ?? {};
    const direct = byPath.direct;
    out.push(`### ${w.connections} connection${w.connections === 1 ? "" : "s"}`);
    out.push("");
    out.push(
      table(
        ["path", "requests ok / failed", "req/s", "p50 ms", "p90 ms", "p99 ms", "added p50 ms (ratio)", "added p99 ms (ratio)", "CPU µs/request"],
        Object.entries(byPath).map(([p, f]) => [
          label[p] ?? p,
          `${f.ok} / ${f.failed}`,
          f0(f.rps),
          f2(f.latency.p50),
          f2(f.latency.p90),
          f2(f.latency.p99),
          p === "direct" || !direct ? "—" : `${f2(f.latency.p50 - direct.latency.p50)} (${f2(f.latency.p50 / direct.latency.p50)}x)`,
          p === "direct" || !direct ? "—" : `${f2(f.latency.p99 - direct.latency.p99)} (${f2(f.latency.p99 / direct.latency.p99)}x)`,
          Object.entries(f.cpuUsPerRequest)
            .map(([role, us]) => `${role} ${f0(us)}`)
            .join(", "),
        ]),
      ),
    );
    out.push("");
  }
  out.push("### Maximum sustained throughput");
  out.push("");
  out.push("The best req/s of each path over all the connection counts above with under 1% failed requests.");
  out.push("");
  out.push(table(["path", "req/s", "at"], Object.entries(s.maxThroughput).map(([p, t]) => [label[p] ?? p, f0(t.rps), t.at])));
  out.push("");

  out.push("## Streamed chat");
  out.push("");
  for (const w of streams) {
    const byPath = s.figures[w.id] ?? {};
    const direct = byPath.direct;
    out.push(`### ${w.concurrency} stream${w.concurrency === 1 ? "" : "s"} at a time (${w.count} per path per round)`);
    out.push("");
    out.push(
      table(
        ["path", "streams ok / failed", "TTFT p50 ms", "TTFT p90 ms", "TTFT p99 ms", "TTFT overhead p50 ms", "inter-token gap p50 / p99 ms", "whole stream p50 ms"],
        Object.entries(byPath).map(([p, f]) => [
          label[p] ?? p,
          `${f.ok} / ${f.failed}`,
          f2(f.ttft?.p50 ?? Number.NaN),
          f2(f.ttft?.p90 ?? Number.NaN),
          f2(f.ttft?.p99 ?? Number.NaN),
          p === "direct" || !direct?.ttft || !f.ttft ? "—" : f2(f.ttft.p50 - direct.ttft.p50),
          `${f2(f.gaps?.p50 ?? Number.NaN)} / ${f2(f.gaps?.p99 ?? Number.NaN)}`,
          f1(f.latency.p50),
        ]),
      ),
    );
    out.push("");
  }

  out.push("## Memory");
  out.push("");
  const mem = input.memory;
  out.push(
    table(
      ["process", "idle RSS", "peak RSS sampled", "VmHWM"],
      Object.keys(mem.peakHwmKib).map((r) => [roleText(r), mib(mem.idleKib[r]), mib(mem.peakSampledKib[r]), mib(mem.peakHwmKib[r])]),
    ),
  );
  out.push("");

  out.push("## Where the gateway's CPU goes");
  out.push("");
  out.push(
    `The Worker's workerd spent **${f0(s.gatewayCpuUsPerRequest)} µs of CPU per non-streamed request** over all fixed-concurrency phases. ` +
      "Components of the request path measured in isolation (per call; `signRequest` is SHA-256 of the body, a UUID and the sr25519 signature):",
  );
  out.push("");
  const wc = input.workerd?.components ?? [];
  const nc = input.node.components;
  const names = [...new Set([...wc.map((c) => c.name), ...nc.map((c) => c.name)])];
  out.push(
    table(
      ["component", "workerd CPU µs", "Node CPU µs"],
      names.map((n) => [n, f1(wc.find((c) => c.name === n)?.cpuUsPerOp ?? Number.NaN), f1(nc.find((c) => c.name === n)?.cpuUsPerOp ?? Number.NaN)]),
    ),
  );
  out.push("");
  for (const r of input.workerd?.ratios ?? []) out.push(`- ${r.what}: **${f2(r.ratio)}x** (CPU per call, same workerd)`);
  if ((input.workerd?.ratios ?? []).length > 0) out.push("");
  if (input.node.select.length > 0) {
    out.push(`Picking a miner (\`src/routing/select.ts\`; ${input.node.selectNote}):`);
    out.push("");
    out.push(table(["miners serving the model", "CPU µs per pick", "wall µs per pick"], input.node.select.map((r) => [String(r.miners), f2(r.cpuUsPerOp), f2(r.wallUsPerOp)])));
  } else out.push(`Picking a miner: ${input.node.selectNote}.`);
  out.push("");

  out.push("## Cost per million requests");
  out.push("");
  out.push(
    `Cloudflare list prices (Workers Paid, marginal price past the included allowances; the $5/month base is not per request), read ${PRICES_READ_ON} from ` +
      `${[...new Set(Object.values(PRICES).map((p) => p.source))].join(", ")}. Integer micro-USD arithmetic (\`bench/lib/cost.ts\`).`,
  );
  out.push("");
  out.push(table(["line", "per request", "unit", "per million requests"], [...s.cost.lines.map((l) => [l.what, l.perRequest, l.unit, l.perMillion]), ["**total**", "", "", `**${s.cost.total}**`]]));
  out.push("");
  out.push(
    [
      "What one non-streamed request does, and where each figure comes from:",
      `- Usage is metered in batches (docs/metering.md): each isolate sends its usage events as one queue message every 50 ms or 100 events; the consumer writes one R2 object and one D1 transaction per batch. This run: ${input.metering.batches} batches for ${input.metering.batchedEvents} events (${input.metering.batchedEvents > 0 ? (input.metering.batchedEvents / input.metering.batches).toFixed(1) : "n/a"} per batch), so each per-batch line below is divided by that.`,
      "- Workers requests: the request itself, plus 1/100 of a queue-consumer invocation per batch message (up to 100 messages per invocation).",
      "- Workers CPU: the measured CPU of the Worker's workerd per request (above). Locally that also includes D1's SQLite, the queue machinery and the limits Durable Object, which production does not bill as Worker CPU, so this line is an upper bound.",
      `- D1 rows written: ${input.workerd ? `${input.workerd.d1.rowsWrittenPerBatch} per usage batch of ${input.workerd.d1.eventsPerBatch} events from one subscriber, model and miner, as D1 itself reports (\`meta.rows_written\`, rows plus index entries) for the consumer's transaction (ledger row, hourly and per-second rollups, recent-requests list), mean of a batch that creates its rollup rows and one that adds to them; rows read ${input.workerd.d1.rowsReadPerBatch}` : "not measured"}. None per request. API-key and miner lookups are cached per isolate (10 s / 5 s) and round to zero per request.`,
      "- Queue operations: one batch message (< 64 KB) is written, read and deleted: 3 per batch.",
      "- R2: one PutObject (Class A) per batch for the raw NDJSON archive.",
      "- Durable Objects: the routing MinerHealth object gets one `report` per isolate per model per second or per 64 requests, whichever comes first (1/64 per request at load; its storage writes are not counted). The per-subscriber limits object is called twice (`reserve` before relaying, `settle` after; `renew` only for requests longer than half the lease). Its storage writes are counted from the code (`src/billing/limits-state.ts`: reserve puts the lease and the minute bucket, settle deletes the lease and puts the bucket and counters), not measured. Durable Object duration (GB-s) is not per request and is not included.",
    ].join("\n"),
  );
  out.push("");
  out.push("## Profile: what costs the time, and proposals");
  out.push("");
  out.push(PROFILE_NOTES_MARKER);
  out.push("");
  out.push("## Problems in this run");
  out.push("");
  out.push(s.problems.length === 0 ? "None: every phase had successful requests, non-streamed failures under 0.1% up to 64 connections, and every request the gateway served was metered." : s.problems.map((p) => `- ${p}`).join("\n"));
  if (s.saturation.length > 0) {
    out.push("");
    out.push("Failures past 64 connections (saturation; such levels do not count for maximum throughput when 1% or more failed):");
    out.push("");
    out.push(s.saturation.map((p) => `- ${p}`).join("\n"));
  }
  out.push("");
  out.push("## Reproduce");
  out.push("");
  out.push("```sh\nnpm ci\nnpm run bench          # ~8 minutes; rewrites this file and bench/results/latest.json\nnpm run bench:smoke    # a few seconds, checks the harness end to end\n```");
  out.push("");
  return out.join("\n");
}

/** Replaced by the hand-written analysis in bench/profile-notes.md when present (see main.ts). */
export const PROFILE_NOTES_MARKER = "<!-- profile notes -->";

function pathText(id: string, labelText: string): string {
  switch (id) {
    case "direct":
      return "straight to the upstream: the floor.";
    case "gateway":
      return `${labelText}: \`wrangler dev\` (workerd) with auth (API key), limits (per-subscriber Durable Object), routing, Epistula signing and metering (Queue → D1) on, as \`npm run dev\` serves it; this includes wrangler's local proxy hop, which production does not have.`;
    case "gateway-workerd":
      return `${labelText}: the same Worker reached on its own workerd socket (miniflare's entry), skipping wrangler's proxy: the closest local stand-in for production.`;
    case "portkey":
      return `${labelText}: \`@portkey-ai/gateway\` from npm on Node, headless, OpenAI provider with the upstream as custom host (\`x-portkey-custom-host\`); no auth, limits or metering. A preload binds it to loopback and works around its streaming bug on Node 20 (bench/peer/loopback-only.mjs).`;
    default:
      return labelText;
  }
}

function roleText(role: string): string {
  return (
    {
      worker: "gateway: the Worker's workerd",
      proxy: "gateway: wrangler dev proxy workerd",
      wrangler: "gateway: wrangler (Node)",
      portkey: "Portkey (Node)",
      upstreamFast: "upstream (Node)",
    }[role] ?? role
  );
}

export function fmtSummaryLine(s: Summary2): string {
  return s.targets.map((t) => `${t.what}: ${t.measured} (${t.pass === null ? "n/a" : t.pass ? "pass" : "miss"})`).join("\n");
}
