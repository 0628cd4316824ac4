/**
 * `npm run soak` (and `npm run soak:smoke`): the gateway under >= 10,000 requests while miners
 * die, stall, redirect and answer junk, clients abort, and D1 writes, queue deliveries and
 * Durable Objects fail (docs/soak.md). Writes SOAK.md and soak/results.json (the smoke run writes
 * to a temp directory unless --out says otherwise) and exits 1 when an invariant failed.
 *
 *   npm run soak                       # the full soak (~12 minutes on 2 cores), on a snapshot of HEAD
 *   npm run soak:smoke                 # a few hundred requests, every kind of fault, ~1.5 minutes
 *   npm run soak -- --tree working     # the working tree as it is, instead of a snapshot of HEAD
 *   npm run soak -- --out DIR --echo   # write elsewhere; print the stack's output
 *   npm run soak -- --via proxy        # clients go through wrangler dev's local proxy (default: the Worker's workerd socket)
 *   npm run soak -- --render soak/results.json   # rewrite SOAK.md from recorded figures, no run
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/dev-stack";
import { FULL, SMOKE } from "./lib/profile";
import { renderMarkdown, type SoakResult } from "./lib/report";
import { runSoak } from "./run";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const { values } = parseArgs({
  options: {
    smoke: { type: "boolean", default: false },
    out: { type: "string" },
    /** "head" (default): a snapshot of the committed HEAD; "working": the working tree as it is. */
    tree: { type: "string", default: "head" },
    echo: { type: "boolean", default: false },
    /** "workerd" (default): clients reach the Worker's own workerd socket; "proxy": through wrangler dev's local proxy. */
    via: { type: "string", default: "workerd" },
    "in-snapshot": { type: "boolean", default: false },
    /** Rewrite SOAK.md from a results file (the same figures, the current rendering) without running. */
    render: { type: "string" },
  },
});

const log = (line: string) => process.stdout.write(`[soak] ${line}\n`);


async function main(): Promise<number> {
  // Ctrl-C: exit through "exit", where scripts/lib/processes.ts stops every process the soak started.
  process.once("SIGINT", () => process.exit(130));
  process.once("SIGTERM", () => process.exit(143));
  const profile = values.smoke ? SMOKE : FULL;
  const outDir = values.out ?? (values.smoke ? mkdtempSync(join(tmpdir(), "soak-smoke-")) : ROOT);
  log(`${profile.name} soak: ${profile.requests} requests at ${profile.ratePerSec}/s`);
  if (values.via !== "workerd" && values.via !== "proxy") throw new Error(`--via must be "workerd" or "proxy", got ${values.via}`);
  const result = await runSoak({ profile, log, echo: values.echo, via: values.via });
  mkdirSync(join(outDir, "soak"), { recursive: true });
  writeFileSync(join(outDir, "soak", "results.json"), `${JSON.stringify(result, null, 2)}\n`);
  writeFileSync(join(outDir, "SOAK.md"), renderMarkdown(result));
  const a = result.accounting;
  log(`${result.traffic.requests} requests; lost ${a.lost.total}, doubled ${a.doubled.total}; unexpected failures ${Object.values(result.failures.unexpected).reduce((s, x) => s + x, 0)}`);
  log(`verdict: ${result.verdict.pass ? "pass" : `FAIL: ${result.verdict.failed.join("; ")}`}`);
  log(`wrote ${join(outDir, "SOAK.md")} and ${join(outDir, "soak", "results.json")}`);
  return result.verdict.pass ? 0 : 1;
}

/**
 * `wrangler dev` restarts the Worker when a source file changes: a soak on a working tree that
 * someone edits would switch code mid-run. By default the run happens in a snapshot of HEAD
 * (`git archive`, node_modules linked), and the figures are written back here.
 */
async function inSnapshot(): Promise<number> {
  const dir = mkdtempSync(join(tmpdir(), "soak-tree-"));
  try {
    execFileSync("sh", ["-c", `git archive --format=tar HEAD | tar -x -C '${dir}'`], { cwd: ROOT });
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
    const outDir = values.out ?? (values.smoke ? mkdtempSync(join(tmpdir(), "soak-smoke-")) : ROOT);
    log(`soaking a snapshot of HEAD (${commit}) in ${dir}`);
    const args = ["--import", "tsx", join(dir, "soak/main.ts"), "--in-snapshot", "--out", outDir, "--via", values.via ?? "workerd", ...(values.smoke ? ["--smoke"] : []), ...(values.echo ? ["--echo"] : [])];
    // machineFacts (bench/lib/machine.ts) takes the commit from BENCH_COMMIT where there is no .git.
    const child = spawn(process.execPath, args, { cwd: dir, stdio: "inherit", env: { ...process.env, BENCH_COMMIT: commit } });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on("SIGINT", forward);
    process.on("SIGTERM", forward);
    const code = await new Promise<number>((resolve) => child.once("exit", (c, sig) => resolve(c ?? (sig ? 130 : 1))));
    process.off("SIGINT", forward);
    process.off("SIGTERM", forward);
    return code;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values.render) {
  const result = JSON.parse(readFileSync(values.render, "utf8")) as SoakResult;
  writeFileSync(join(values.out ?? ROOT, "SOAK.md"), renderMarkdown(result));
  log(`rewrote SOAK.md from ${values.render}`);
} else if (values.tree === "head" && !values["in-snapshot"]) process.exitCode = await inSnapshot();
else if (values.tree === "head" || values.tree === "working") process.exitCode = await main();
else throw new Error(`--tree must be "head" or "working", got ${values.tree}`);
