/**
 * `npm run build:check`: the three Workers still build for production. Runs
 * `wrangler deploy --dry-run --outdir <tmp>` for the gateway (wrangler.toml), the chain Worker
 * (wrangler.chain.toml) and the web Worker (wrangler.web.toml), offline (a dry run needs no account), checks the gateway's output holds
 * the sr25519 WebAssembly module (docs/signing.md), prints each bundle's size and exits non-zero
 * with the failing Worker and wrangler's own output when a build fails.
 *
 *   npm run build:check            # all three, in parallel
 *   npm run build:check -- --keep  # keep the output directories and print where they are
 */
import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";

const ROOT = resolve(import.meta.dirname, "..");

interface Build {
  name: string;
  config: string;
  /** Files whose names end so must be in the output (besides the script). */
  mustInclude: string[];
}

const BUILDS: Build[] = [
  { name: "gateway", config: "wrangler.toml", mustInclude: [".wasm"] },
  { name: "chain Worker", config: "wrangler.chain.toml", mustInclude: [] },
  { name: "web Worker", config: "wrangler.web.toml", mustInclude: [] },
];

const { values } = parseArgs({ options: { keep: { type: "boolean", default: false } } });

/** Offline and quiet: no metrics, no account lookups, no colour codes in the captured output. */
const ENV = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", FORCE_COLOR: "0", CI: "true" };

function dryRun(b: Build, outdir: string): Promise<{ ok: boolean; output: string }> {
  const wrangler = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  return new Promise((resolve) => {
    execFile(process.execPath, [wrangler, "deploy", "--dry-run", "--outdir", outdir, "-c", join(ROOT, b.config)], { cwd: ROOT, env: ENV, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) =>
      resolve({ ok: err === null, output: `${stdout}${stderr}` }),
    );
  });
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;

async function main(): Promise<number> {
  const root = mkdtempSync(join(tmpdir(), "deploy-dry-run-"));
  let failed = 0;
  try {
    const results = await Promise.all(
      BUILDS.map(async (b) => {
        const outdir = join(root, b.name.replace(/\W+/g, "-"));
        return { b, outdir, ...(await dryRun(b, outdir)) };
      }),
    );
    for (const { b, outdir, ok, output } of results) {
      if (!ok) {
        failed++;
        console.error(`build:check: the ${b.name} (${b.config}) does not build for production: \`wrangler deploy --dry-run\` failed.\n${output.trim()}\n`);
        continue;
      }
      const files = listFiles(outdir).filter((f) => !f.endsWith(".map") && !f.endsWith("README.md"));
      const missing = b.mustInclude.filter((ext) => !files.some((f) => f.endsWith(ext)));
      if (missing.length > 0) {
        failed++;
        console.error(`build:check: the ${b.name} (${b.config}) built, but its output has no ${missing.join(", ")} file (${files.map((f) => f.slice(outdir.length + 1)).join(", ") || "no files"}).`);
        continue;
      }
      const bytes = files.reduce((n, f) => n + statSync(f).size, 0);
      const gz = files.reduce((n, f) => n + gzipSync(readFileSync(f)).length, 0);
      console.log(`build:check: ${b.name} (${b.config}) ok: ${files.length} files, ${kib(bytes)} (${kib(gz)} gzip): ${files.map((f) => `${f.slice(outdir.length + 1)} ${kib(statSync(f).size)}`).join(", ")}`);
    }
  } finally {
    if (values.keep) console.log(`build:check: output kept in ${root}`);
    else rmSync(root, { recursive: true, force: true });
  }
  return failed === 0 ? 0 : 1;
}

process.exitCode = await main();
