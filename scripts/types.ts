/**
 * `npm run types`: regenerates the gateway's binding types (src/worker-configuration.d.ts) with
 * `wrangler types` from wrangler.toml, with wrangler.chain.toml as the secondary config so the
 * CHAIN service binding is typed by the chain Worker's ChainService entrypoint.
 * `npm run types:check` (part of `npm test`): regenerates into a temporary file and fails when the
 * checked-in file differs, so a wrangler.toml change without regenerated types cannot land.
 *
 * The chain Worker gets no generated file of its own: `wrangler types` always declares the global
 * `Cloudflare.Env` (and `Cloudflare.GlobalProps.mainModule`), so two generated files cannot share
 * one TypeScript program. Its only binding is DB, the same D1 as the gateway's (src/env.ts).
 * Offline: wrangler reads only the local config files here.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

const TARGET = "src/worker-configuration.d.ts";
const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

function generate(outPath: string): string {
  const out = relative(ROOT, outPath);
  const args = [WRANGLER, "types", out, "--include-runtime=false", "--strict-vars=false", "--env-interface", "GatewayBindings", "-c", "wrangler.toml", "-c", "wrangler.chain.toml"];
  const run = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", CI: "true" },
  });
  if (run.status !== 0) throw new Error(`wrangler types failed:\n${run.stdout}\n${run.stderr}`);
  // The header names the output path; the checked-in file is compared as if written to TARGET.
  return readFileSync(outPath, "utf8").replaceAll(out, TARGET);
}

const target = join(ROOT, TARGET);
if (process.argv.includes("--check")) {
  // Next to the target so the relative imports in the generated file are the same.
  const temp = join(ROOT, "src", `.worker-configuration.check-${process.pid}.d.ts`);
  try {
    const fresh = generate(temp);
    if (fresh !== readFileSync(target, "utf8")) {
      console.error(`${TARGET} is out of date with wrangler.toml / wrangler.chain.toml: run \`npm run types\` and commit it.`);
      process.exit(1);
    }
    console.log(`${TARGET} is up to date.`);
  } finally {
    rmSync(temp, { force: true });
  }
} else {
  const temp = join(ROOT, "src", `.worker-configuration.new-${process.pid}.d.ts`);
  const fresh = generate(temp);
  rmSync(temp, { force: true });
  // Written in one step so a concurrent typecheck never sees a half-written file.
  const staged = `${target}.${process.pid}`;
  writeFileSync(staged, fresh);
  renameSync(staged, target);
  console.log(`wrote ${TARGET}`);
}
