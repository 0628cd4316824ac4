/**
 * CPU profiles of the gateway's isolate inside workerd, through its inspector socket (Chrome
 * DevTools protocol), and their analysis: by task (request path, Durable Objects, queue consumer,
 * runtime), by source module (from the `// path` markers of wrangler's bundle) and by function.
 * Used by `npm run bench:profile` and by `npm run bench`'s profiled phase. Needs Node's WebSocket
 * (`node --experimental-websocket` on Node 20).
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/dev-stack";
import { listeningLoopbackPorts } from "./procfs";

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
export interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Where a sample's time belongs: the task it ran for (its stack's modules), then the module that spent it. */
export const TASKS: [string, RegExp][] = [
  ["Durable Objects (limits, MinerHealth)", /^src\/(billing\/limits-do|routing\/health\/miner-health-do)\.ts$/],
  ["queue consumer (R2 archive, D1 rollups)", /^src\/billing\/(consumer|usage-record|usage-writer|usage-archive)\.ts$/],
];
export const REQUEST_TASK = "request path (fetch handler and its continuations)";
export const RUNTIME = "runtime: (program), GC, runtime internals";

/**
 * esbuild's non-minified bundle marks each module's start with a `// path` comment line, relative
 * to the config wrangler ran (the dev stack's generated one lives outside the repository, so the
 * paths may climb out and back in: `../../../work/main/src/...`). Named from the repository's
 * top folders, or from `node_modules/`.
 */
function moduleName(path: string): string | null {
  const pkg = path.lastIndexOf("node_modules/");
  if (pkg >= 0) return path.slice(pkg);
  const own = /(?:^|\/)((?:src|bench|scripts)\/\S+)$/.exec(path);
  return own ? (own[1] as string) : null;
}

function moduleMap(bundle: string): { line: number; module: string }[] {
  const out: { line: number; module: string }[] = [];
  bundle.split("\n").forEach((text, i) => {
    const m = /^\/\/ (\S+\.(?:ts|tsx|js|mjs|cjs))$/.exec(text);
    const module = m ? moduleName(m[1] as string) : null;
    if (module) out.push({ line: i, module });
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

export interface Analysis {
  totalMs: number;
  tasks: [string, number][];
  modules: [string, number][];
  functions: [string, number][];
}

/**
 * Time per sample, attributed to the task it ran for and to the bundle module whose code spent
 * it; natives (fetch, Response, storage put) and WebAssembly count for the JS module that called
 * them. Every sample counts as one sampling interval (the median gap between samples), not as the
 * gap before it: when other processes preempt the isolate's thread, the next sample comes late and
 * its gap (up to hundreds of ms on a busy machine) would be charged to whatever code happened to
 * be running. Time blocked inside a native call (a local storage write) is sampled and counts.
 */
export function analyse(p: Profile, bundle: string | null): Analysis {
  const map = bundle ? moduleMap(bundle) : [];
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  const unit = [...deltas].sort((a, b) => a - b)[Math.floor(deltas.length / 2)] ?? 0;
  const tasks = new Map<string, number>();
  const modules = new Map<string, number>();
  const functions = new Map<string, number>();
  const add = (m: Map<string, number>, k: string, us: number) => m.set(k, (m.get(k) ?? 0) + us);
  let totalUs = 0;
  for (let i = 0; i < samples.length; i++) {
    const leaf = byId.get(samples[i] as number);
    const us = unit;
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

/**
 * wrangler dev's bundle of the running gateway (its newest .wrangler/tmp/dev-* build holding the
 * pipeline), for module names. wrangler writes `.wrangler/` beside the config it runs: the dev
 * stack's generated one (`<configDir>/gateway/wrangler.toml`, scripts/lib/dev-config.ts), or the
 * repository's for a plain `wrangler dev`; both are looked at.
 */
export function readBundle(configDir?: string): string | null {
  const dirs = [...(configDir ? [join(configDir, "gateway/.wrangler/tmp")] : []), join(ROOT, ".wrangler/tmp")].filter((d) => existsSync(d));
  const builds = dirs
    .flatMap((dir) => readdirSync(dir).filter((d) => d.startsWith("dev-") && existsSync(join(dir, d, "index.js"))).map((d) => join(dir, d, "index.js")))
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  for (const file of builds) {
    const text = readFileSync(file, "utf8");
    if (/^\/\/ \S*src\/pipeline\/serve\.ts$/m.test(text)) return text;
  }
  return null;
}

export class Cdp {
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
export async function findInspectorTarget(pid: number): Promise<InspectorTarget> {
  for (const port of listeningLoopbackPorts(pid)) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json`, { signal: AbortSignal.timeout(2000) });
      if (!res.ok) continue;
      const list = (await res.json()) as InspectorTarget[];
      if (!Array.isArray(list)) continue;
      const target = list.find((t) => `${t.title ?? ""}`.includes("bittensor-gateway") && !`${t.title ?? ""}`.includes("chain"));
      if (target) return target;
      process.stderr.write(`no gateway among the inspector targets on port ${port}: ${list.map((t) => t.title ?? "?").join(", ")}\n`);
    } catch {
      /* not the inspector */
    }
  }
  throw new Error(`no inspector socket on workerd ${pid}`);
}

/**
 * Profiles the isolate while `during` runs: sampling every `intervalUs`, the profile and its
 * analysis (module names from wrangler's current bundle, read while the stack still runs).
 */
export async function profileWhile<T>(workerPid: number, intervalUs: number, during: () => Promise<T>, configDir?: string): Promise<{ result: T; profile: Profile; analysis: Analysis; bundleFound: boolean }> {
  const target = await findInspectorTarget(workerPid);
  const cdp = await Cdp.open(target.webSocketDebuggerUrl);
  try {
    await cdp.send("Profiler.enable");
    await cdp.send("Profiler.setSamplingInterval", { interval: intervalUs });
    await cdp.send("Profiler.start");
    const result = await during();
    const { profile } = await cdp.send<{ profile: Profile }>("Profiler.stop");
    const bundle = readBundle(configDir);
    return { result, profile, analysis: analyse(profile, bundle), bundleFound: bundle !== null };
  } finally {
    cdp.close();
  }
}
