/**
 * Runs the workloads over every path in interleaved rounds (each round visits every path, in a
 * rotated order, so machine drift spreads over all of them) and accumulates raw samples, CPU time
 * per process role and requests, so the report can merge rounds exactly.
 */
import { runLoad } from "./load";
import { cpuMicros } from "./procfs";
import { runStreams } from "./stream-client";

export interface PathDef {
  id: string;
  label: string;
  /** Non-streamed chat endpoint and headers. */
  url: string;
  headers: Record<string, string>;
  /** Streamed chat endpoint (may differ: the streamed upstream is paced). */
  streamUrl: string;
  streamHeaders: Record<string, string>;
  /** Processes whose CPU this path costs, by role (e.g. worker, proxy, portkey). */
  roles: Record<string, number>;
  /** Asynchronous work (the usage queue) to let finish before reading CPU after a phase. */
  settleMs: number;
}

export interface Acc {
  latenciesMs: number[];
  ttftMs: number[];
  gapsMs: number[];
  ok: number;
  failed: number;
  /** Failure kinds and counts (statuses, timeouts, connection errors). */
  failures: Record<string, number>;
  seconds: number;
  cpuUs: Record<string, number>;
}

export type Workload = { kind: "load"; id: string; connections: number } | { kind: "stream"; id: string; concurrency: number; count: number };

export interface PhasePlan {
  rounds: number;
  phaseSec: number;
  workloads: Workload[];
  body: string;
  streamBody: string;
  log: (line: string) => void;
}

const emptyAcc = (): Acc => ({ latenciesMs: [], ttftMs: [], gapsMs: [], ok: 0, failed: 0, failures: {}, seconds: 0, cpuUs: {} });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Results = Record<string, Record<string, Acc>>;

export async function runPhases(paths: readonly PathDef[], plan: PhasePlan): Promise<Results> {
  const results: Results = {};
  for (const w of plan.workloads) results[w.id] = Object.fromEntries(paths.map((p) => [p.id, emptyAcc()]));

  for (let round = 0; round < plan.rounds; round++) {
    for (const [wi, w] of plan.workloads.entries()) {
      const shift = (round + wi) % paths.length;
      const order = [...paths.slice(shift), ...paths.slice(0, shift)];
      for (const p of order) {
        const acc = (results[w.id] as Record<string, Acc>)[p.id] as Acc;
        const before = Object.fromEntries(Object.entries(p.roles).map(([role, pid]) => [role, cpuMicros(pid)]));
        const t0 = process.hrtime.bigint();
        if (w.kind === "load") {
          const r = await runLoad({ url: p.url, headers: p.headers, body: plan.body, connections: w.connections, durationSec: plan.phaseSec });
          for (const l of r.latenciesMs) acc.latenciesMs.push(l);
          acc.ok += r.ok;
          acc.failed += r.failed;
          for (const [k, n] of Object.entries(r.failures)) acc.failures[k] = (acc.failures[k] ?? 0) + n;
          acc.seconds += r.elapsedSec;
        } else {
          const r = await runStreams({ url: p.streamUrl, headers: p.streamHeaders, body: plan.streamBody, concurrency: w.concurrency, count: w.count });
          for (const v of r.ttftMs) acc.ttftMs.push(v);
          for (const v of r.gapsMs) acc.gapsMs.push(v);
          for (const v of r.totalMs) acc.latenciesMs.push(v);
          acc.ok += r.ok;
          acc.failed += r.failed;
          acc.seconds += Number(process.hrtime.bigint() - t0) / 1e9;
        }
        await sleep(p.settleMs);
        for (const [role, pid] of Object.entries(p.roles)) {
          acc.cpuUs[role] = (acc.cpuUs[role] ?? 0) + cpuMicros(pid) - (before[role] ?? 0);
        }
        const kinds = Object.entries(acc.failures).map(([k, n]) => `${k} ×${n}`).join(", ");
        plan.log(`round ${round + 1}/${plan.rounds} ${w.id.padEnd(6)} ${p.id.padEnd(16)} ok=${acc.ok} failed=${acc.failed}${kinds ? ` (${kinds})` : ""}`);
      }
    }
  }
  return results;
}
