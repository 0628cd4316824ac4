/**
 * Bundle size and cold start of the three Workers: the gateway (request path), the chain Worker
 * (@polkadot/api) and the web Worker (pages, OIDC, the OpenAPI document). Bundles each with
 * esbuild (minified, as wrangler deploys), then starts each in workerd (Miniflare) several times,
 * interleaved so machine load affects all alike, and times:
 *   - start-up: from creating the runtime to the first answered request (workerd's start, the
 *     script's parse and evaluation, the request);
 *   - first request: the first request once the runtime is ready, alone (an API request for the
 *     gateway: GET /v1/models without a key, which runs the middlewares and authentication).
 *
 * Run: `npx tsx scripts/cold-start.ts` (RUNS=11 for more runs). `--before <dir>` also measures the
 * gateway of another checkout of this repository (e.g. `git archive <commit> | tar -x -C <dir>`,
 * with node_modules linked), interleaved with this one's, for a before/after comparison.
 * Prints sizes and medians; the figures go into docs/web-app.md and the README.
 */
import { mkdtempSync, readdirSync, readFileSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { Miniflare } from "miniflare";
import { bundleWorker } from "./lib/bundle-worker";
import { ROOT } from "./lib/dev-stack";

interface Measured {
  name: string;
  file: string;
  /** The request timed as the first one (an API route for the gateway). */
  path: string;
  startup: number[];
  firstRequest: number[];
}

async function bundle(root: string, name: string, entry: string, path: string): Promise<Measured> {
  const dir = mkdtempSync(join(tmpdir(), `cold-start-${name}-`));
  return { name, file: await bundleWorker(root, entry, join(dir, `${name}.js`), { minify: true }), path, startup: [], firstRequest: [] };
}

async function coldStart(w: Measured): Promise<void> {
  const started = performance.now();
  const mf = new Miniflare({
    modules: true,
    modulesRoot: dirname(w.file),
    scriptPath: w.file,
    modulesRules: [{ type: "CompiledWasm", include: ["**/*.wasm"] }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat", "enable_request_signal"],
    d1Databases: ["DB"],
    queueProducers: { USAGE_QUEUE: "gateway-usage" },
  });
  await mf.ready;
  const ready = performance.now();
  const res = await mf.dispatchFetch(`http://localhost${w.path}`);
  await res.arrayBuffer();
  const done = performance.now();
  w.startup.push(done - started);
  w.firstRequest.push(done - ready);
  await mf.dispose();
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const min = (xs: number[]) => Math.min(...xs);

/** The bundle plus the WebAssembly modules esbuild copied beside it (only the gateway imports one). */
function bundleFiles(file: string): string[] {
  const dir = dirname(file);
  return [file, ...readdirSync(dir).filter((f) => f.endsWith(".wasm")).map((f) => join(dir, f))];
}

const runs = Number(process.env.RUNS ?? 7);
const beforeAt = process.argv.indexOf("--before");
const before = beforeAt >= 0 ? resolve(process.argv[beforeAt + 1] ?? "") : null;

const workers: Measured[] = [
  await bundle(ROOT, "gateway", "src/index.ts", "/v1/models"),
  await bundle(ROOT, "chain", "src/chain-worker.ts", "/"),
  await bundle(ROOT, "web", "src/web-worker.ts", "/openapi.json"),
];
if (before) workers.unshift({ ...(await bundle(before, "gateway-before", "src/index.ts", "/v1/models")), name: `gateway-before (${before})` });

for (let i = 0; i < runs; i++) for (const w of workers) await coldStart(w);

for (const w of workers) {
  const files = bundleFiles(w.file);
  const js = statSync(w.file).size;
  const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
  const gz = files.reduce((n, f) => n + gzipSync(readFileSync(f)).length, 0);
  console.log(
    `${w.name}: script ${js} B minified; with wasm ${(bytes / 1024).toFixed(0)} KiB (${(gz / 1024).toFixed(0)} KiB gzip); ` +
      `start-up to first response median ${median(w.startup).toFixed(0)} ms (min ${min(w.startup).toFixed(0)}); ` +
      `first request ${w.path} once ready median ${median(w.firstRequest).toFixed(1)} ms (min ${min(w.firstRequest).toFixed(1)}) over ${runs}`,
  );
}
