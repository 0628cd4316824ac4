/**
 * Bundle size and cold start of the two Workers: the gateway (request path) and the chain Worker
 * (@polkadot/api). Bundles each with esbuild (minified, as wrangler deploys), then starts each in
 * workerd (Miniflare) several times and times start-up to the first answered request.
 * Run: `npx tsx scripts/cold-start.ts`. Prints sizes and medians; figures go into the README.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { Miniflare } from "miniflare";
import { ROOT } from "./lib/dev-stack";

const out = mkdtempSync(join(tmpdir(), "cold-start-"));

async function bundle(name: string, entry: string): Promise<string> {
  const outfile = join(out, `${name}.js`);
  await build({
    entryPoints: [join(ROOT, entry)],
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    external: ["node:*", "cloudflare:*"],
    outfile,
    // The gateway's sr25519 module stays a separate file, as wrangler uploads it (CompiledWasm below).
    loader: { ".wasm": "copy" },
    minify: true,
    logLevel: "error",
  });
  return outfile;
}

async function coldStart(scriptPath: string): Promise<number> {
  const started = performance.now();
  const mf = new Miniflare({
    modules: true,
    modulesRoot: out,
    scriptPath,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
    d1Databases: ["DB"],
    queueProducers: { USAGE_QUEUE: "gateway-usage" },
  });
  const res = await mf.dispatchFetch("http://localhost/health-or-404");
  await res.arrayBuffer();
  const ms = performance.now() - started;
  await mf.dispose();
  return ms;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const runs = Number(process.env.RUNS ?? 7);
const workers = [
  { name: "gateway (src/index.ts)", file: await bundle("gateway", "src/index.ts"), times: [] as number[] },
  { name: "chain worker (src/chain-worker.ts)", file: await bundle("chain", "src/chain-worker.ts"), times: [] as number[] },
];
// Interleaved, so machine load affects both alike.
for (let i = 0; i < runs; i++) for (const w of workers) w.times.push(await coldStart(w.file));
/** The bundle plus the WebAssembly modules esbuild copied beside it (only the gateway imports one). */
function bundleFiles(file: string): string[] {
  const wasm = file.endsWith("gateway.js") ? readdirSync(out).filter((f) => f.endsWith(".wasm")).map((f) => join(out, f)) : [];
  return [file, ...wasm];
}
for (const w of workers) {
  const files = bundleFiles(w.file);
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(f)).length, 0);
  console.log(`${w.name}: ${(bytes / 1024).toFixed(0)} KiB (${(gz / 1024).toFixed(0)} KiB gzip), start-up to first response median ${median(w.times).toFixed(0)} ms over ${runs}`);
}
