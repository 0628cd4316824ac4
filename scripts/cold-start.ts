/**
 * Bundle size and cold start of the Workers: the gateway (request path), the same gateway built
 * without the web app (src/http/web/register.ts replaced by a no-op, as if the web app did not
 * exist: what issue #14 compares against), and the chain Worker (@polkadot/api). Bundles each with
 * esbuild (minified, as wrangler deploys), then starts each in workerd (Miniflare) several times,
 * interleaved, and times start-up (until workerd is ready: the script parsed and its top level
 * evaluated) and the first answered request after that. An empty Worker runs alongside: its
 * start-up is what Miniflare and workerd cost by themselves, the rest is the script's.
 *
 * Run: `npx tsx scripts/cold-start.ts` (RUNS=11 for more runs). Prints sizes and medians; the
 * figures go into docs/chain-and-settlement.md and docs/web-app.md.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";
import { Miniflare } from "miniflare";

const ROOT = resolve(import.meta.dirname, "..");
const out = mkdtempSync(join(tmpdir(), "cold-start-"));

/** The web app's only entry into the gateway, replaced by one that mounts nothing. */
const withoutWebApp: Plugin = {
  name: "without-web-app",
  setup(b) {
    b.onLoad({ filter: /src[\\/]http[\\/]web[\\/]register\.ts$/ }, () => ({
      contents: "export const WEB_PATHS = []; export function registerWebRoutes() {}",
      loader: "ts",
    }));
  },
};

async function bundle(name: string, entry: string, plugins: Plugin[] = []): Promise<string> {
  const dir = join(out, name);
  const outfile = join(dir, "worker.js");
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
    plugins,
  });
  return outfile;
}

interface Probe {
  method: string;
  path: string;
}

interface Timing {
  startMs: number;
  firstMs: number;
}

async function coldStart(scriptPath: string, probe: Probe): Promise<Timing> {
  const started = performance.now();
  const mf = new Miniflare({
    modules: true,
    modulesRoot: join(scriptPath, ".."),
    scriptPath,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
    d1Databases: ["DB"],
    queueProducers: { USAGE_QUEUE: "gateway-usage" },
  });
  await mf.ready;
  const ready = performance.now();
  const res = await mf.dispatchFetch(`http://localhost${probe.path}`, { method: probe.method, headers: { "content-type": "application/json" }, body: probe.method === "POST" ? "{}" : undefined });
  await res.arrayBuffer();
  const done = performance.now();
  await mf.dispose();
  return { startMs: ready - started, firstMs: done - ready };
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const runs = Number(process.env.RUNS ?? 7);
/** The inference route without credentials: Hono, the middlewares and the route run, then a 401. */
const API: Probe = { method: "POST", path: "/v1/chat/completions" };
/** The baseline: a Worker with nothing in it. */
function emptyWorker(): string {
  const dir = join(out, "empty");
  mkdirSync(dir, { recursive: true });
  const file = join(dir, "worker.js");
  writeFileSync(file, 'export default { fetch() { return new Response("ok"); } };\n');
  return file;
}

const workers = [
  { name: "empty Worker (baseline)", file: emptyWorker(), probe: { method: "GET", path: "/" }, times: [] as Timing[] },
  { name: "gateway (src/index.ts)", file: await bundle("gateway", "src/index.ts"), probe: API, times: [] as Timing[] },
  { name: "gateway without the web app", file: await bundle("gateway-api-only", "src/index.ts", [withoutWebApp]), probe: API, times: [] as Timing[] },
  { name: "chain worker (src/chain-worker.ts)", file: await bundle("chain", "src/chain-worker.ts"), probe: { method: "GET", path: "/health-or-404" }, times: [] as Timing[] },
];
// Interleaved, so machine load affects all alike.
for (let i = 0; i < runs; i++) for (const w of workers) w.times.push(await coldStart(w.file, w.probe));
for (const w of workers) {
  const dir = join(w.file, "..");
  const files = readdirSync(dir).map((f) => join(dir, f));
  const js = statSync(w.file).size;
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(f)).length, 0);
  const start = w.times.map((t) => t.startMs);
  const first = w.times.map((t) => t.firstMs);
  const total = w.times.map((t) => t.startMs + t.firstMs);
  console.log(
    `${w.name}: script ${(js / 1024).toFixed(0)} KiB, with modules ${(bytes / 1024).toFixed(0)} KiB (${(gz / 1024).toFixed(0)} KiB gzip); ` +
      `over ${runs} runs: start-up median ${median(start).toFixed(0)} ms (min ${Math.min(...start).toFixed(0)}), ` +
      `first ${w.probe.method} ${w.probe.path} median ${median(first).toFixed(1)} ms (min ${Math.min(...first).toFixed(1)}), ` +
      `together median ${median(total).toFixed(0)} ms (min ${Math.min(...total).toFixed(0)})`,
  );
}
