/**
 * `npm run bench:profile`: a CPU profile of the gateway's Worker inside workerd under steady
 * non-streamed load, taken through wrangler dev's inspector (Chrome DevTools protocol), and
 * summarised by task (request path, Durable Objects, queue consumer, runtime), by source module
 * (from the `// path` markers of wrangler's bundle) and by function. Writes
 * bench/results/gateway.cpuprofile (open it in Chrome DevTools) and profile-summary.txt, and prints
 * the summary. Runs on the working tree (`npm run bench:profile -- --seconds 20`).
 *
 * Needs Node's WebSocket: the npm script runs `node --experimental-websocket` (Node 20).
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/dev-stack";
import { runLoad } from "./lib/load";
import { listeningLoopbackPorts } from "./lib/procfs";
import { requestTarget, startGateway, startUpstream } from "./lib/targets";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, connections: { type: "string", default: "16" } } });

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a sample's time belongs: the task it ran for (its stack's modules), then the module that spent it. */
const TASKS: [string, RegExp][] = [
  ["Durable Objects (limits, MinerHealth)", /^src\/(billing\/limits-do|routing\/health\/miner-health-do)\.ts$/],
  ["queue consumer (R2 archive, D1 rollups)", /^src\/billing\/(consumer|usage-record|usage-writer|usage-archive)\.ts$/],
];
const REQUEST_TASK = "request path (fetch handler and its continuations)";
const RUNTIME = "runtime: (program), GC, runtime internals";

/** esbuild's non-minified bundle marks each module's start with a `// path` comment line. */
function moduleMap(bundle: string): { line: number; module: string }[] {
  const out: { line: number; module: string }[] = [];
  bundle.split("\n").forEach((text, i) => {
    const m = /^\/\/ ((?:\.\.\/)*(?:src|node_modules|bench|scripts)\/\S+)$/.exec(text);
    if (m) out.push({ line: i, module: (m[1] as string).replace(/^(\.\.\/)+/, "").replace(/^.*node_modules\//, "node_modules/") });
  });
  return out;
}

function moduleAt(map: readonly { line: number; module: string }[], line: number): string {
  let lo = 0;
  let hi = map.length - 1;
  let found = "(bundle prelude)";
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    const e = map[mid] as { line: number; module: string };
    if (e.line <= line) {
      found = e.module;
      lo = mid + 1;
    } else hi = mid - 1;
  }
  return found.startsWith("node_modules/") ? found.split("/").slice(0, found.split("/")[1]?.startsWith("@") ? 3 : 2).join("/") : found;
}

interface Analysis {
  totalMs: number;
  tasks: [string, number][];
  modules: [string, number][];
  functions: [string, number][];
}

/**
 * Self time per sample (the profiler samples the isolate's thread: time blocked inside a native
 * call, e.g. a local storage write, counts too), attributed to the task it ran for and to the
 * bundle module whose code spent it; natives (fetch, Response, storage put) and WebAssembly count
 * for the JS module that called them.
 */
function analyse(p: Profile, bundle: string | null): Analysis {
  const map = bundle ? moduleMap(bundle) : [];
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const tasks = new Map<string, number>();
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  let totalUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const leaf = byId.get(samples[i] as number);
    const us = deltas[i + 1] ?? deltas[i] ?? 0;
    if (!leaf || leaf.callFrame.functionName === "(idle)") continue;
    totalUs += us;
    const stack: ProfileNode[] = [];
    for (let cur: number | undefined = leaf.id; cur !== undefined; cur = parent.get(cur)) {
      const n = byId.get(cur);
      if (n) stack.push(n);
    }
    const bundleFrames = stack.filter((n) => n.callFrame.url === "index.js");
    const mods = bundleFrames.map((n) => moduleAt(map, n.callFrame.lineNumber));
    const owner = bundleFrames[0];
    if (!owner) {
      add(tasks, RUNTIME, us);
      add(modules, leaf.callFrame.url.startsWith("wasm://") ? "wasm (no JS caller)" : RUNTIME, us);
      add(functions, leaf.callFrame.functionName || "(anonymous)", us);
      continue;
    }
    add(tasks, TASKS.find(([, re]) => mods.some((m) => re.test(m)))?.[0] ?? REQUEST_TASK, us);
    const where = leaf === owner ? "" : leaf.callFrame.url.startsWith("wasm://") ? " → wasm" : ` → ${leaf.callFrame.functionName || "(native)"}`;
    add(modules, `${mods[0]}${leaf.callFrame.url.startsWith("wasm://") ? " (WebAssembly)" : ""}`, us);
    add(functions, `${owner.callFrame.functionName || "(anonymous)"} (${mods[0]})${where}`, us);
  }
  const top = (m: Map<string, number>, n: number) => [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([k, v]): [string, number] => [k, v / 1000]);
  return { totalMs: totalUs / 1000, tasks: top(tasks, 10), modules: top(modules, 40), functions: top(functions, 40) };
}

/** wrangler dev's bundle of the running Worker (its newest .wrangler/tmp/dev-* build), for module names. */
function readBundle(): string | null {
  const dir = join(ROOT, ".wrangler/tmp");
  if (!existsSync(dir)) return null;
  const builds = readdirSync(dir)
    .filter((d) => d.startsWith("dev-") && existsSync(join(dir, d, "index.js")))
    .map((d) => join(dir, d, "index.js"))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return builds[0] ? readFileSync(builds[0], "utf8") : null;
}

class Cdp {
  private next = 1;
  private readonly pending = new Map<number, (v: unknown) => void>();
  private constructor(private readonly ws: WebSocket) {
    ws.addEventListener("message", (ev: MessageEvent) => {
      const msg = JSON.parse(String(ev.data)) as { id?: number; result?: unknown; error?: unknown };
      if (msg.id !== undefined) this.pending.get(msg.id)?.(msg.error ? Promise.reject(new Error(JSON.stringify(msg.error))) : msg.result);
    });
  }
  static open(url: string): Promise<Cdp> {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(url);
      ws.addEventListener("open", () => resolve(new Cdp(ws)));
      ws.addEventListener("error", () => reject(new Error(`inspector websocket ${url} failed`)));
    });
  }
  send<T>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.next++;
    this.ws.send(JSON.stringify({ id, method, params }));
    return new Promise<T>((resolve) => this.pending.set(id, (v) => resolve(v as T)));
  }
  close(): void {
    this.ws.close();
  }
}

interface InspectorTarget {
  title?: string;
  url?: string;
  webSocketDebuggerUrl: string;
}

/**
 * The gateway Worker's DevTools target on its own workerd's inspector socket (wrangler's
 * inspector proxy refuses non-DevTools clients). Workers of other configs (the chain Worker) are
 * skipped by name.
 */
async function findInspectorTarget(pid: number): Promise<InspectorTarget> {
  for (const port of listeningLoopbackPorts(pid)) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) continue;
      const list = (await res.json()) as InspectorTarget[];
      if (!Array.isArray(list)) continue;
      for (const t of list) process.stderr.write(`inspector target: ${t.title ?? ""} ${t.url ?? ""}\n`);
      const target = list.find((t) => `${t.title ?? ""}`.includes("bittensor-gateway") && !`${t.title ?? ""}`.includes("chain")) ?? list[0];
      if (target) return target;
    } catch {
      /* not the inspector */
    }
  }
  throw new Error(`no inspector socket on workerd ${pid}`);
}

async function main(): Promise<void> {
  const up = await startUpstream("upstream-fast", { hotkeyUri: "//Bob", model: "bench/fast", ttftMs: 5, tokensPerSec: 2000 });
  const gateway = await startGateway([up]).catch(async (err: unknown) => {
    await up.process.stop();
    throw err;
  });
  try {
    const target = await findInspectorTarget(gateway.pids.worker);
    const t = requestTarget("gateway", up, gateway.innerUrl ?? gateway.url, gateway.devKey, "");
    const body = JSON.stringify({ model: up.model, messages: [{ role: "user", content: "Say something short about rivers." }], max_tokens: 16 });
    await runLoad({ url: t.url, headers: t.headers, body, connections: 16, durationSec: 3 }); // warm-up

    const cdp = await Cdp.open(target.webSocketDebuggerUrl);
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: 200 });
    await cdp.send("Profiler.start");
    const load = await runLoad({ url: t.url, headers: t.headers, body, connections: Number(values.connections), durationSec: Number(values.seconds) });
    await new Promise((r) => setTimeout(r, 1500)); // the usage queue's last batch
    const { profile } = await cdp.send<{ profile: Profile }>("Profiler.stop");
    cdp.close();

    const bundle = readBundle();
    mkdirSync(join(ROOT, "bench/results"), { recursive: true });
    writeFileSync(join(ROOT, "bench/results/gateway.cpuprofile"), JSON.stringify(profile));
    const a = analyse(profile, bundle);
    const per = (ms: number) => ((ms * 1000) / load.ok).toFixed(0);
    const lines = [
      `requests ok ${load.ok}, failed ${load.failed} at ${values.connections} connections for ${values.seconds} s; sampled ${a.totalMs.toFixed(0)} ms = ${per(a.totalMs)} µs/request (not idle)${bundle ? "" : " (bundle not found: no module names)"}`,
      "",
      "by task (µs per request):",
      ...a.tasks.map(([k, v]) => `  ${per(v).padStart(6)}  ${k}`),
      "",
      "by module, natives and WebAssembly counted for their JS caller (µs per request):",
      ...a.modules.map(([k, v]) => `  ${per(v).padStart(6)}  ${k}`),
      "",
      "by function (µs per request):",
      ...a.functions.map(([k, v]) => `  ${per(v).padStart(6)}  ${k}`),
    ];
    writeFileSync(join(ROOT, "bench/results/profile-summary.txt"), `${lines.join("\n")}\n`);
    console.log(lines.join("\n"));
  } finally {
    await gateway.stack.stop();
    await up.process.stop();
  }
}

await main();
