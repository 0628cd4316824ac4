/**
 * `npm run bench:profile`: a CPU profile of the gateway's Worker inside workerd under steady
 * non-streamed load, taken through wrangler dev's inspector (Chrome DevTools protocol), and
 * summarised as self time per function and time inside the request path's main steps.
 * Writes bench/results/gateway.cpuprofile (open it in Chrome DevTools) and prints the summary.
 *
 * Needs Node's WebSocket: the npm script runs `node --experimental-websocket` (Node 20).
 */
import { mkdirSync, writeFileSync } from "node:fs";
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

/** Steps of the request path, by the function names that start them (inclusive time). */
const STEPS: Record<string, string[]> = {
  "Epistula signing (signRequest)": ["signRequest"],
  "auth (authenticate)": ["authenticate"],
  "limits admission (admit / reserve / settle callers)": ["admit", "admission", "reserveFor", "settleAdmission"],
  "limits Durable Object (SubscriberLimits methods)": ["reserve", "settle", "renew", "release"],
  "request body read + validation": ["readJsonObject", "validateChat"],
  "relay (whole, includes signing and the miner fetch)": ["relay"],
  "usage meter finish + batching": ["finish", "add"],
  "usage batch hand-off (queue send)": ["handOff"],
  "queue consumer (R2 archive + D1 rollups)": ["consumeUsageBatch"],
  "token counting": ["countTokens", "countMessageTokens", "countPrompt"],
  "hono routing / compose": ["dispatch", "compose"],
};

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

function analyse(p: Profile): { totalMs: number; selfTop: [string, number][]; steps: [string, number][] } {
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Sample time per node from samples/timeDeltas (µs).
  const selfUs = new Map<number, number>();
  const samples = p.samples ?? [];
  const deltas = p.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const id = samples[i] as number;
    const dt = deltas[i + 1] ?? deltas[i] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
  }
  const name = (n: ProfileNode) => `${n.callFrame.functionName || "(anonymous)"}${n.callFrame.url ? ` ${n.callFrame.url.split("/").pop()}:${n.callFrame.lineNumber + 1}` : ""}`;
  const selfByName = new Map<string, number>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (!n) continue;
    if (n.callFrame.functionName === "(idle)") {
      idleUs += us;
      continue;
    }
    totalUs += us;
    selfByName.set(name(n), (selfByName.get(name(n)) ?? 0) + us);
  }
  void idleUs;
  const steps: [string, number][] = [];
  for (const [step, fns] of Object.entries(STEPS)) {
    let us = 0;
    for (const [id, t] of selfUs) {
      // Count a sample once if any ancestor (or itself) is one of the step's functions.
      let cur: number | undefined = id;
      while (cur !== undefined) {
        const n = byId.get(cur);
        if (n && fns.includes(n.callFrame.functionName)) {
          us += t;
          break;
        }
        cur = parent.get(cur);
      }
    }
    steps.push([step, us / 1000]);
  }
  const selfTop = [...selfByName.entries()].sort((a, b) => b[1] - a[1]).slice(0, 30).map(([k, v]): [string, number] => [k, v / 1000]);
  return { totalMs: totalUs / 1000, selfTop, steps };
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

    mkdirSync(join(ROOT, "bench/results"), { recursive: true });
    writeFileSync(join(ROOT, "bench/results/gateway.cpuprofile"), JSON.stringify(profile));
    const a = analyse(profile);
    const per = (ms: number) => ((ms * 1000) / load.ok).toFixed(0);
    console.log(`requests ok ${load.ok}, failed ${load.failed}; sampled JS+native CPU ${a.totalMs.toFixed(0)} ms = ${per(a.totalMs)} µs/request`);
    console.log("\nrequest-path steps (inclusive, µs per request):");
    for (const [k, v] of a.steps) console.log(`  ${per(v).padStart(6)}  ${k}`);
    console.log("\ntop self time (µs per request):");
    for (const [k, v] of a.selfTop) console.log(`  ${per(v).padStart(6)}  ${k}`);
  } finally {
    await gateway.stack.stop();
    await up.process.stop();
  }
}

await main();
