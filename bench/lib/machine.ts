/** Facts about the machine and the versions under test, for the report's header. */
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { cpus, loadavg, release } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/dev-stack";

export interface MachineFacts {
  nproc: string;
  cpuModel: string;
  memory: string;
  kernel: string;
  node: string;
  versions: Record<string, string>;
  commit: string;
  dirtyFiles: number;
  /** 1/5/15-minute load averages when the run ended: other work on the machine shows here. */
  loadAverage: string;
  /** The same when the run started. */
  loadAverageAtStart: string;
}

/** "1.23 / 0.98 / 0.50" */
export function loadAverageNow(): string {
  return loadavg().map((l) => l.toFixed(2)).join(" / ");
}

function run(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { cwd: ROOT, stdio: ["ignore", "pipe", "ignore"] }).toString().trim();
  } catch {
    return "unknown";
  }
}

function pkgVersion(name: string): string {
  try {
    return (JSON.parse(readFileSync(join(ROOT, "node_modules", name, "package.json"), "utf8")) as { version: string }).version;
  } catch {
    return "unknown";
  }
}

export function machineFacts(loadAverageAtStart: string): MachineFacts {
  const versions: Record<string, string> = {};
  for (const name of ["wrangler", "@portkey-ai/gateway", "autocannon", "hono", "@scure/sr25519", "@noble/curves"]) versions[name] = pkgVersion(name);
  versions.workerd = run(join(ROOT, "node_modules/@cloudflare/workerd-linux-64/bin/workerd"), ["--version"]);
  const status = run("git", ["status", "--porcelain"]);
  return {
    nproc: run("nproc", []),
    cpuModel: cpus()[0]?.model ?? "unknown",
    memory: run("free", ["-h"]),
    kernel: release(),
    node: process.version,
    versions,
    // In a snapshot of HEAD (bench/main.ts) there is no .git: the parent passes the commit.
    commit: process.env.BENCH_COMMIT ?? run("git", ["rev-parse", "--short", "HEAD"]),
    dirtyFiles: process.env.BENCH_COMMIT !== undefined || status === "" || status === "unknown" ? 0 : status.split("\n").length,
    loadAverage: loadAverageNow(),
    loadAverageAtStart,
  };
}
