/**
 * `npm run bench:heap`: does the gateway's isolate keep memory it should not? Drives steady
 * non-streamed load through the Worker's own workerd socket in rounds and, after each, asks the
 * isolate itself (Chrome DevTools protocol: a full GC, then `Runtime.getHeapUsage`) how much of
 * its V8 heap is in use, beside the whole workerd process's resident set (/proc). The process
 * also holds miniflare's D1, R2, Queue and Durable Object storage, so its RSS can grow while the
 * isolate's heap, the part production's 128 MB isolate limit applies to, does not; this tells the
 * two apart. Prints a table and writes bench/results/heap.json. Runs on the working tree.
 *
 * Needs Node's WebSocket: the npm script runs `node --experimental-websocket` (Node 20).
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/dev-stack";
import { runLoad } from "./lib/load";
import { Cdp, findInspectorTarget } from "./lib/profiler";
import { privateDevRegistry, requestTarget, startGateway, startUpstream } from "./lib/targets";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const { values } = parseArgs({
  options: { rounds: { type: "string", default: "6" }, seconds: { type: "string", default: "10" }, connections: { type: "string", default: "16" } },
});

interface Checkpoint {
  after: string;
  requests: number;
  heapUsedMiB: number;
  heapTotalMiB: number;
  rssMiB: number;
}

function rssMiB(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? "0");
  return kb / 1024;
}

const mib = (bytes: number) => bytes / (1024 * 1024);

async function main(): Promise<void> {
  const dropRegistry = privateDevRegistry();
  process.once("exit", dropRegistry);
  const up = await startUpstream("upstream-fast", { hotkeyUri: "//Bob", model: "bench/fast", ttftMs: 5, tokensPerSec: 2000 });
  const gateway = await startGateway([up]).catch(async (err: unknown) => {
    await up.process.stop();
    throw err;
  });
  const target = await findInspectorTarget(gateway.pids.worker);
  const cdp = await Cdp.open(target.webSocketDebuggerUrl);
  const checkpoints: Checkpoint[] = [];
  let requests = 0;
  const checkpoint = async (after: string) => {
    await new Promise((r) => setTimeout(r, 2_000)); // the last usage batch, the books' idle give-back
    await cdp.send("HeapProfiler.enable");
    await cdp.send("HeapProfiler.collectGarbage");
    const heap = await cdp.send<{ usedSize: number; totalSize: number }>("Runtime.getHeapUsage");
    const c = { after, requests, heapUsedMiB: mib(heap.usedSize), heapTotalMiB: mib(heap.totalSize), rssMiB: rssMiB(gateway.pids.worker) };
    checkpoints.push(c);
    console.log(`${after.padEnd(12)} requests ${String(requests).padStart(7)}  isolate heap used ${c.heapUsedMiB.toFixed(1)} MiB (of ${c.heapTotalMiB.toFixed(1)})  workerd RSS ${c.rssMiB.toFixed(0)} MiB`);
  };
  try {
    const t = requestTarget("gateway", up, gateway.innerUrl ?? gateway.url, gateway.devKey, "");
    const body = JSON.stringify({ model: up.model, messages: [{ role: "user", content: "Say something short about rivers." }], max_tokens: 16 });
    const warm = await runLoad({ url: t.url, headers: t.headers, body, connections: 16, durationSec: 3 });
    requests += warm.ok + warm.failed;
    await checkpoint("warm-up");
    for (let round = 1; round <= Number(values.rounds); round++) {
      const r = await runLoad({ url: t.url, headers: t.headers, body, connections: Number(values.connections), durationSec: Number(values.seconds) });
      requests += r.ok + r.failed;
      if (r.failed > 0) console.log(`round ${round}: ${r.failed} failed`);
      await checkpoint(`round ${round}`);
    }
    const first = checkpoints[0] as Checkpoint;
    const last = checkpoints.at(-1) as Checkpoint;
    const perThousand = (d: number) => ((d * 1000) / Math.max(1, last.requests - first.requests)).toFixed(3);
    console.log(
      `after warm-up: isolate heap ${(last.heapUsedMiB - first.heapUsedMiB).toFixed(1)} MiB (${perThousand(last.heapUsedMiB - first.heapUsedMiB)} MiB per 1,000 requests), ` +
        `workerd RSS ${(last.rssMiB - first.rssMiB).toFixed(0)} MiB (${perThousand(last.rssMiB - first.rssMiB)} MiB per 1,000 requests)`,
    );
    mkdirSync(join(ROOT, "bench/results"), { recursive: true });
    writeFileSync(join(ROOT, "bench/results/heap.json"), `${JSON.stringify({ at: new Date().toISOString(), connections: Number(values.connections), checkpoints }, null, 2)}\n`);
  } finally {
    cdp.close();
    await gateway.stack.stop();
    await up.process.stop();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exit(1);
});
