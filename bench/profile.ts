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
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/dev-stack";
import { runLoad } from "./lib/load";
import { profileWhile } from "./lib/profiler";
import { privateDevRegistry, requestTarget, startGateway, startUpstream } from "./lib/targets";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const { values } = parseArgs({ options: { seconds: { type: "string", default: "10" }, connections: { type: "string", default: "16" } } });

async function main(): Promise<void> {
  const dropRegistry = privateDevRegistry();
  process.once("exit", dropRegistry);
  const up = await startUpstream("upstream-fast", { hotkeyUri: "//Bob", model: "bench/fast", ttftMs: 5, tokensPerSec: 2000 });
  const gateway = await startGateway([up]).catch(async (err: unknown) => {
    await up.process.stop();
    throw err;
  });
  try {
    const t = requestTarget("gateway", up, gateway.innerUrl ?? gateway.url, gateway.devKey, "");
    const body = JSON.stringify({ model: up.model, messages: [{ role: "user", content: "Say something short about rivers." }], max_tokens: 16 });
    await runLoad({ url: t.url, headers: t.headers, body, connections: 16, durationSec: 3 }); // warm-up

    const { result: load, profile, analysis: a, bundleFound } = await profileWhile(gateway.pids.worker, 200, async () => {
      const r = await runLoad({ url: t.url, headers: t.headers, body, connections: Number(values.connections), durationSec: Number(values.seconds) });
      await new Promise((res) => setTimeout(res, 1500)); // the usage queue's last batch
      return r;
    }, gateway.stack.configDir);
    mkdirSync(join(ROOT, "bench/results"), { recursive: true });
    writeFileSync(join(ROOT, "bench/results/gateway.cpuprofile"), JSON.stringify(profile));
    const per = (ms: number) => ((ms * 1000) / load.ok).toFixed(0);
    const lines = [
      `requests ok ${load.ok}, failed ${load.failed} at ${values.connections} connections for ${values.seconds} s; sampled ${a.totalMs.toFixed(0)} ms = ${per(a.totalMs)} µs/request (not idle)${bundleFound ? "" : " (bundle not found: no module names)"}`,
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
