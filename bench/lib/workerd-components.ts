/**
 * Runs bench/workerd/components.ts under `wrangler dev` and measures each component's CPU per
 * call inside workerd: the Worker's workerd CPU time (from /proc) around one request that runs
 * the component n times, minus the same request running nothing. Also asks D1 how many rows
 * recording one usage batch reads and writes.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ROOT } from "../../scripts/lib/dev-stack";
import { freePort, startProcess, waitForHttp } from "../../scripts/lib/processes";
import { commandLine, cpuMicros, descendants } from "./procfs";

export interface WorkerdComponent {
  /** The component's id in bench/workerd/components.ts (`?c=`). */
  id: string;
  name: string;
  iterations: number;
  cpuUsPerOp: number;
}

export interface ComponentRatio {
  what: string;
  /** slower / faster, both CPU µs per call in the same workerd. */
  ratio: number;
}

export interface WorkerdComponents {
  components: WorkerdComponent[];
  /** The WebAssembly signer against the pure-TS one (issue #12: signatures in microseconds). */
  ratios: ComponentRatio[];
  /** D1's own count for recording one usage batch (mean of a batch that creates its rollup rows and one that adds to them). */
  d1: { rowsReadPerBatch: number; rowsWrittenPerBatch: number; eventsPerBatch: number };
}

/** [what, slower component, faster component]: reported as ratios when both ran. */
const RATIOS: readonly [string, string, string][] = [
  ["sr25519 signature, pure TS / WebAssembly", "sr25519-js", "sr25519-wasm"],
  ["signRequest, pure-TS signer / WebAssembly signer", "sign-js", "sign"],
];

const LABELS: Record<string, string> = {
  sign: "Epistula signRequest (current: sr25519 in WebAssembly)",
  "sign-js": "Epistula signRequest with the pure-TS sr25519 signer",
  "sr25519-wasm": "sr25519 signature alone, WebAssembly (schnorrkel)",
  "sr25519-js": "sr25519 signature alone, pure TS (prepared signer)",
  "sign-scure": "Epistula signing as before (@scure/sr25519 sign)",
  sha256: "sha256 of the body (crypto.subtle)",
  json: "JSON.parse + JSON.stringify of the miner's answer",
  tokens: "token counting (prompt + answer)",
};
/**
 * Relative iteration counts: cheap components run more often so each call burns >= ~0.2 s of CPU.
 * The WebAssembly signer is near the 80 µs target: at 600 calls a 10 ms /proc tick is a 17 µs
 * step, too coarse to tell 66.7 from 83.3; at 2400 calls the step is 4 µs.
 */
const SCALE: Record<string, number> = { sign: 8, "sign-js": 2, "sr25519-wasm": 8, "sr25519-js": 2, "sign-scure": 0.5, sha256: 100, json: 100, tokens: 100 };

function median(xs: readonly number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : (sorted[Math.floor(sorted.length / 2)] as number);
}

/**
 * `only`: a subset of the component ids (LABELS' keys) to measure, all of them otherwise;
 * `rounds`: how many times each is measured (figures are medians, ratios medians of per-round ratios).
 */
export async function measureWorkerdComponents(n: number, log: (line: string) => void, only?: readonly string[], rounds = 1): Promise<WorkerdComponents> {
  const unknown = (only ?? []).filter((c) => !(c in LABELS));
  if (unknown.length > 0) throw new Error(`unknown components ${unknown.join(", ")} (known: ${Object.keys(LABELS).join(", ")})`);
  const wrangler = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  const config = join(ROOT, "bench/workerd/wrangler.toml");
  const persist = mkdtempSync(join(tmpdir(), "bench-components-"));
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", CI: "true" };
  const migrate = startProcess("components-d1", process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local", "-c", config, "--persist-to", persist], { cwd: ROOT, env });
  const code = await new Promise<number | null>((r) => migrate.child.once("exit", (c) => r(c)));
  if (code !== 0) throw new Error(`component D1 migrations failed:\n${migrate.output()}`);

  const port = await freePort();
  const proc = startProcess(
    "components",
    process.execPath,
    [wrangler, "dev", "-c", config, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()), "--persist-to", persist, "--log-level", "warn", "--show-interactive-dev-session=false"],
    { cwd: ROOT, env },
  );
  try {
    const base = `http://127.0.0.1:${port}`;
    await waitForHttp(`${base}/?c=noop&n=1`, 90_000, proc);
    const workerd = descendants(proc.child.pid as number).filter((pid) => (commandLine(pid)[0] ?? "").endsWith("/workerd"));
    const worker = workerd.find((pid) => !commandLine(pid).some((a) => a === `--socket-addr=entry=127.0.0.1:${port}`));
    if (worker === undefined) throw new Error("no workerd for the component worker");

    const cpuOf = async (c: string, iterations: number): Promise<number> => {
      const before = cpuMicros(worker);
      const res = await fetch(`${base}/?c=${c}&n=${iterations}`);
      if (!res.ok) throw new Error(`component ${c}: ${res.status} ${await res.text()}`);
      await res.arrayBuffer();
      return cpuMicros(worker) - before;
    };
    const names = only ?? Object.keys(LABELS);
    const iterationsOf = (name: string) => Math.max(1, Math.round(n * (SCALE[name] ?? 1)));
    for (const name of names) await cpuOf(name, Math.max(1, Math.floor(iterationsOf(name) / 10))); // warm-up (JIT)
    // Rounds measure every component in turn, so the pairs a ratio compares ran seconds apart
    // under the same machine load; each figure is the median over rounds.
    const samples = new Map<string, number[]>(names.map((name) => [name, []]));
    for (let round = 0; round < rounds; round++) {
      for (const name of names) {
        const iterations = iterationsOf(name);
        const used = await cpuOf(name, iterations);
        const idle = await cpuOf("noop", iterations);
        samples.get(name)?.push(Math.max(0, used - idle) / iterations);
      }
    }
    const components: WorkerdComponent[] = names.map((name) => {
      const cpuUsPerOp = median(samples.get(name) ?? []);
      log(`workerd ${name}: ${cpuUsPerOp.toFixed(1)} us/op`);
      return { id: name, name: LABELS[name] as string, iterations: iterationsOf(name) * rounds, cpuUsPerOp };
    });
    const d1Res = await fetch(`${base}/?c=d1&n=50`);
    const measured = (await d1Res.json()) as { eventsPerBatch: number; batches: { rowsRead: number; rowsWritten: number }[] };
    const mean = (f: (b: { rowsRead: number; rowsWritten: number }) => number) => measured.batches.reduce((s, b) => s + f(b), 0) / measured.batches.length;
    const d1 = { rowsReadPerBatch: mean((b) => b.rowsRead), rowsWrittenPerBatch: mean((b) => b.rowsWritten), eventsPerBatch: measured.eventsPerBatch };
    log(`workerd d1: ${d1.rowsWrittenPerBatch} rows written, ${d1.rowsReadPerBatch} read per usage batch (${measured.batches.map((b) => b.rowsWritten).join(" then ")})`);
    const ratios: ComponentRatio[] = [];
    for (const [what, slower, faster] of RATIOS) {
      const a = samples.get(slower);
      const b = samples.get(faster);
      if (!a || !b || a.length === 0) continue;
      const perRound = a.map((x, i) => x / (b[i] ?? Number.NaN)).filter((r) => Number.isFinite(r));
      if (perRound.length > 0) ratios.push({ what, ratio: median(perRound) });
    }
    return { components, ratios, d1 };
  } finally {
    await proc.stop();
    rmSync(persist, { recursive: true, force: true });
  }
}
