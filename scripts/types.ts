/**
 * `npm run types`: regenerates the binding types with `wrangler types`:
 * - the gateway's (src/worker-configuration.d.ts) from wrangler.toml, with wrangler.chain.toml and
 *   wrangler.web.toml as secondary configs so the CHAIN and WEB service bindings are typed by the
 *   Workers they point at;
 * - the web Worker's (src/web-worker-configuration.d.ts) from wrangler.web.toml, with wrangler.toml
 *   as the secondary config so its Durable Object bindings (script_name = the gateway) are typed by
 *   the gateway's classes.
 * `npm run types:check` (part of `npm test`): regenerates into temporary files and fails when a
 * checked-in file differs, so a wrangler config change without regenerated types cannot land.
 *
 * `wrangler types` always declares the global `Cloudflare.Env` (and `GlobalProps.mainModule`), so
 * two generated files cannot share one TypeScript program as they are. The gateway's file stays as
 * generated; the web Worker's is reduced to its `Env` members under its own name (`WebBindings`),
 * nothing else changed. The chain Worker gets no file: its only binding is DB, the same D1 as the
 * gateway's (src/env.ts). Offline: wrangler reads only the local config files here.
 */
import { spawnSync } from "node:child_process";
import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join, relative, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");

const WRANGLER = join(ROOT, "node_modules/wrangler/bin/wrangler.js");

interface Target {
  file: string;
  envInterface: string;
  configs: string[];
  /** What to keep of wrangler's output (the whole file by default). */
  shape?: (generated: string) => string;
}

/**
 * Only the members of `Cloudflare.Env`, as `interface <name> { ... }`: no global namespace, no
 * `GlobalProps.mainModule`, so the file can sit beside the gateway's in one program.
 */
function envMembersOnly(name: string) {
  return (generated: string): string => {
    const header = generated.split("\n").slice(0, 2).join("\n");
    const body = /\n\tinterface Env \{\n([\s\S]*?)\n\t\}\n/.exec(generated)?.[1];
    if (body === undefined) throw new Error("wrangler types: no `interface Env` in its output");
    const members = body.split("\n").map((line) => line.replace(/^\t\t/, "\t")).join("\n");
    return `${header}\n// Reduced by scripts/types.ts to the members of Cloudflare.Env, named ${name}.\ninterface ${name} {\n${members}\n}\n`;
  };
}

const TARGETS: Target[] = [
  { file: "src/worker-configuration.d.ts", envInterface: "GatewayBindings", configs: ["wrangler.toml", "wrangler.chain.toml", "wrangler.web.toml"] },
  { file: "src/web-worker-configuration.d.ts", envInterface: "WebBindings", configs: ["wrangler.web.toml", "wrangler.toml"], shape: envMembersOnly("WebBindings") },
];

function generate(target: Target, outPath: string): string {
  const out = relative(ROOT, outPath);
  const args = [WRANGLER, "types", out, "--include-runtime=false", "--strict-vars=false", "--env-interface", target.envInterface, ...target.configs.flatMap((c) => ["-c", c])];
  const run = spawnSync(process.execPath, args, {
    cwd: ROOT,
    encoding: "utf8",
    env: { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", CI: "true" },
  });
  if (run.status !== 0) throw new Error(`wrangler types failed:\n${run.stdout}\n${run.stderr}`);
  // The header names the output path; the checked-in file is compared as if written to the target.
  const text = readFileSync(outPath, "utf8").replaceAll(out, target.file);
  return target.shape ? target.shape(text) : text;
}

const check = process.argv.includes("--check");
let stale = false;
for (const target of TARGETS) {
  const path = join(ROOT, target.file);
  // Next to the target so the relative imports in the generated file are the same.
  const temp = join(dirname(path), `.${basename(target.file, ".d.ts")}.${check ? "check" : "new"}-${process.pid}.d.ts`);
  let fresh: string;
  try {
    fresh = generate(target, temp);
  } finally {
    rmSync(temp, { force: true });
  }
  if (check) {
    if (fresh !== readFileSync(path, "utf8")) {
      console.error(`${target.file} is out of date with ${target.configs.join(" / ")}: run \`npm run types\` and commit it.`);
      stale = true;
    } else console.log(`${target.file} is up to date.`);
  } else {
    // Written in one step so a concurrent typecheck never sees a half-written file.
    const staged = `${path}.${process.pid}`;
    writeFileSync(staged, fresh);
    renameSync(staged, path);
    console.log(`wrote ${target.file}`);
  }
}
if (stale) process.exit(1);
