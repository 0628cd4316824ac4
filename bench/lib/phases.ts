/**
 * Runs the workloads over every path in interleaved rounds (each round visits every path, in a
 * rotated order, so machine drift spreads over all of them) and accumulates raw samples, CPU time
 * per process role, requests and, for the gateway, the billed operations the phase caused (from
 * the gateway's own counters), so the report can merge rounds exactly.
 *
 * Operations are attributed by interval: a gateway phase owns everything counted from its start
 * until the next gateway phase starts (or the run's end after `tailMs`). Work a phase leaves
 * behind (the queue consumer's batch, the grant book's idle give-back and the write its charge
 * makes) lands while other paths run, and still counts for its phase. With `workloadSettleMs`, each
 * round waits that long after a workload's last phase, so its late work (the queue consumer
 * delivers only once per window) lands before the next workload's counters are read.
 *
 * A paced workload is measured in steady state instead: its interval is its measured window only
 * (counters and CPU read where its warm-up ends and where its window ends, sends going on), so
 * what lands in the window is the steady rate of its work; what lands during its warm-up and after
 * its window is kept apart (`opsWarmup`, `opsAfter`) and not priced.
 */
import { runBurst } from "./burst";
import { runLoad } from "./load";
import { runPaced, type PacingReport } from "./paced";
import { cpuMicros } from "./procfs";
import { runStreams } from "./stream-client";

/** Which API a non-streamed workload calls on the gateway (direct and Portkey always get chat). */
export type Endpoint = "chat" | "messages" | "responses";

export type Workload =
  /** autocannon at fixed connections; `keys: "many"` spreads requests over the seeded subscribers. */
  | { kind: "load"; id: string; connections: number; endpoint: Endpoint; keys: "one" | "many"; paths?: readonly string[] }
  /** Streamed chat; `continuation: false` sends the opt-out header (issue #13's comparison). */
  | { kind: "stream"; id: string; concurrency: number; count: number; continuation: boolean; paths?: readonly string[] }
  /**
   * `size` requests sent at once on one key, `bursts` times per round. `cold`: each after `idleMs`
   * of quiet (the grant book has given everything back); otherwise right after one request that
   * primes the book.
   */
  | { kind: "burst"; id: string; size: number; bursts: number; cold: boolean; idleMs: number; paths?: readonly string[] }
  /**
   * Open-loop paced chat over `keys` of the seeded subscribers (bench/lib/paced.ts): `rate` req/s
   * in all, keys round-robin, so each key every `keys / rate` s; `warmupSec` at the same pace,
   * then `measureSec` measured. `rounds`: runs in the first that many rounds only (default all).
   */
  | { kind: "paced"; id: string; endpoint: "chat"; keys: number; rate: number; warmupSec: number; measureSec: number; maxSockets: number; rounds?: number; paths?: readonly string[] };

export interface RequestSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** A header whose value changes per request, cycling through `values` (many keys). */
  rotate?: { header: string; values: readonly string[] };
}

export interface PathDef {
  id: string;
  label: string;
  /** How this path sends a workload's request; null: the path sits this workload out. */
  request(w: Workload): RequestSpec | null;
  /** Processes whose CPU this path costs, by role (e.g. worker, proxy, portkey). */
  roles: Record<string, number>;
  /** Asynchronous work (usage batches, grant give-backs) to let finish before reading CPU. */
  settleMs: number;
  /** The gateway's operation counters (flat), read as each gateway phase starts; one shared counter source. Null: unreadable. */
  probe?: () => Promise<Record<string, number> | null>;
}

export interface Acc {
  latenciesMs: number[];
  ttftMs: number[];
  gapsMs: number[];
  /** Burst workloads: the gateway's `server-timing: admission;dur=` of each answer. */
  admissionMs: number[];
  ok: number;
  failed: number;
  /** Failure kinds and counts (statuses, timeouts, connection errors). */
  failures: Record<string, number>;
  seconds: number;
  cpuUs: Record<string, number>;
  /** Counter deltas over this path's phases (gateway paths). */
  ops: Record<string, number>;
  /** Phases whose counters came from another isolate than before the phase (a restart): not counted. */
  opsLost: number;
  /** Paced workloads: counted during the warm-up and after the window (until the next reading), not priced. */
  opsWarmup?: Record<string, number>;
  opsAfter?: Record<string, number>;
  /** Paced workloads: how the pace was kept, one report per phase. */
  pacing?: PacingReport[];
}

export interface PhasePlan {
  rounds: number;
  phaseSec: number;
  workloads: readonly Workload[];
  log: (line: string) => void;
  /** Wait before the last counter reading, so the last phase's late work is counted (default 0). */
  tailMs?: number;
  /** Wait after each workload's last phase in a round, so its late work lands before the next workload's (default 0). */
  workloadSettleMs?: number;
}

const emptyAcc = (): Acc => ({ latenciesMs: [], ttftMs: [], gapsMs: [], admissionMs: [], ok: 0, failed: 0, failures: {}, seconds: 0, cpuUs: {}, ops: {}, opsLost: 0 });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Results = Record<string, Record<string, Acc>>;

const HOUR_MS = 3_600_000;
/** Slack past the paced phase's own length before an hour boundary, for its start-up and end readings. */
const PACED_MARGIN_MS = 15_000;

/**
 * Waits, when need be, until a phase of `lengthMs` starting now would end before the next UTC hour.
 * The usage rollups are hourly: a subscriber's first batch of an hour also moves its recent-requests
 * list and starts a new row (docs/metering.md), once an hour. A 30 s steady-state window that
 * straddles the hour would count 1,000 subscribers' hourly rollover as if it happened every 30 s
 * (about a hundred times its share: at one request per 5 s it is ~0.01 D1 rows per request over
 * the hour). Waiting (at most the phase's length) keeps the window a sample of the steady state.
 */
async function clearOfHourBoundary(lengthMs: number): Promise<void> {
  const now = Date.now();
  const toNextHour = HOUR_MS - (now % HOUR_MS);
  if (toNextHour < lengthMs) await sleep(toNextHour + 2_000);
}

/** Counters named `*.since` tell instances apart (an isolate, an object): a change means a restart (bench/lib/ops.ts). */
const isIdentity = (name: string) => name.endsWith(".since");

export async function runPhases(paths: readonly PathDef[], plan: PhasePlan): Promise<Results> {
  const results: Results = {};
  const takesPart = (w: Workload, p: PathDef) => (!w.paths || w.paths.includes(p.id)) && p.request(w) !== null;
  for (const w of plan.workloads) results[w.id] = Object.fromEntries(paths.filter((p) => takesPart(w, p)).map((p) => [p.id, emptyAcc()]));
  /** The gateway phase whose interval is open, with the reading it started from and where its counts go. */
  let open: Interval | null = null;
  let probe: (() => Promise<Record<string, number> | null>) | null = null;

  for (let round = 0; round < plan.rounds; round++) {
    for (const [wi, w] of plan.workloads.entries()) {
      const mine = paths.filter((p) => takesPart(w, p));
      if (mine.length === 0) continue;
      if (w.kind === "paced" && w.rounds !== undefined && round >= w.rounds) continue;
      const shift = (round + wi) % mine.length;
      const order = [...mine.slice(shift), ...mine.slice(0, shift)];
      for (const p of order) {
        const acc = results[w.id]?.[p.id] as Acc;
        const spec = p.request(w) as RequestSpec;
        if (w.kind === "paced") await clearOfHourBoundary((w.warmupSec + w.measureSec) * 1000 + PACED_MARGIN_MS);
        // Counters first, then CPU: the probe's own admin request stays outside the phase's CPU.
        if (p.probe) {
          probe = p.probe;
          const reading = await p.probe();
          if (open) closeInterval(open, reading);
          open = reading ? { acc, into: w.kind === "paced" ? (acc.opsWarmup ??= {}) : acc.ops, priced: w.kind !== "paced", from: reading } : null;
        }
        let before = Object.fromEntries(Object.entries(p.roles).map(([role, pid]) => [role, cpuMicros(pid)]));
        let cpuRead = false;
        const t0 = process.hrtime.bigint();
        if (w.kind === "paced") {
          const rotate = spec.rotate;
          if (!rotate) throw new Error(`${w.id}/${p.id}: a paced workload needs keys to rotate`);
          const window = { start: 0, end: 0 };
          const r = await runPaced({
            url: spec.url,
            headers: spec.headers,
            body: spec.body,
            rotate: { header: rotate.header, values: rotate.values.slice(0, w.keys) },
            rate: w.rate,
            warmupSec: w.warmupSec,
            measureSec: w.measureSec,
            maxSockets: w.maxSockets,
            // Counters first, then CPU, as at any phase's start; at the end CPU first (the window's CPU is the sends').
            mark: async (at) => {
              window[at] = Date.now();
              if (at === "start") {
                const reading = p.probe ? await p.probe() : null;
                if (p.probe && open) closeInterval(open, reading);
                open = p.probe && reading ? { acc, into: acc.ops, priced: true, from: reading } : null;
                before = Object.fromEntries(Object.entries(p.roles).map(([role, pid]) => [role, cpuMicros(pid)]));
              } else {
                for (const [role, pid] of Object.entries(p.roles)) acc.cpuUs[role] = (acc.cpuUs[role] ?? 0) + cpuMicros(pid) - (before[role] ?? 0);
                cpuRead = true;
                const reading = p.probe ? await p.probe() : null;
                if (p.probe && open) closeInterval(open, reading);
                open = p.probe && reading ? { acc, into: (acc.opsAfter ??= {}), priced: false, from: reading } : null;
              }
            },
          });
          for (const l of r.latenciesMs) acc.latenciesMs.push(l);
          acc.ok += r.ok;
          acc.failed += r.failed;
          for (const [k, n] of Object.entries(r.failures)) acc.failures[k] = (acc.failures[k] ?? 0) + n;
          acc.seconds += r.elapsedSec;
          // The hour's first batch of each subscriber moves its recent-requests list (docs/metering.md):
          // a window that held that once-an-hour work is not the steady state (clearOfHourBoundary
          // keeps it out; this says so if it happened anyway).
          if (Math.floor(window.start / HOUR_MS) !== Math.floor(window.end / HOUR_MS)) {
            r.pacing.kept = false;
            r.pacing.why = [r.pacing.why, "the measured window crossed an hour boundary (every subscriber's hourly rollover fell inside it)"].filter(Boolean).join("; ");
          }
          (acc.pacing ??= []).push(r.pacing);
        } else if (w.kind === "load") {
          const r = await runLoad({ ...spec, connections: w.connections, durationSec: plan.phaseSec });
          for (const l of r.latenciesMs) acc.latenciesMs.push(l);
          acc.ok += r.ok;
          acc.failed += r.failed;
          for (const [k, n] of Object.entries(r.failures)) acc.failures[k] = (acc.failures[k] ?? 0) + n;
          acc.seconds += r.elapsedSec;
        } else if (w.kind === "stream") {
          const r = await runStreams({ ...spec, concurrency: w.concurrency, count: w.count });
          for (const v of r.ttftMs) acc.ttftMs.push(v);
          for (const v of r.gapsMs) acc.gapsMs.push(v);
          for (const v of r.totalMs) acc.latenciesMs.push(v);
          acc.ok += r.ok;
          acc.failed += r.failed;
          acc.seconds += Number(process.hrtime.bigint() - t0) / 1e9;
        } else {
          for (let b = 0; b < w.bursts; b++) {
            // Cold: after quiet the isolate's grant book has given everything back, so the burst's
            // first request must ask the limits object and the others wait for that call. Warm:
            // one request first, so the book holds a slice when the burst arrives.
            if (w.cold) await sleep(w.idleMs);
            else await runBurst({ ...spec, size: 1 });
            const r = await runBurst({ ...spec, size: w.size });
            for (const v of r.latenciesMs) acc.latenciesMs.push(v);
            for (const v of r.admissionMs) acc.admissionMs.push(v);
            acc.ok += r.ok;
            acc.failed += r.failed;
            for (const [k, n] of Object.entries(r.failures)) acc.failures[k] = (acc.failures[k] ?? 0) + n;
          }
          acc.seconds += Number(process.hrtime.bigint() - t0) / 1e9;
        }
        await sleep(p.settleMs);
        if (!cpuRead) {
          for (const [role, pid] of Object.entries(p.roles)) {
            acc.cpuUs[role] = (acc.cpuUs[role] ?? 0) + cpuMicros(pid) - (before[role] ?? 0);
          }
        }
        const kinds = Object.entries(acc.failures).map(([k, n]) => `${k} ×${n}`).join(", ");
        const pace = acc.pacing?.at(-1);
        const paceText = pace ? ` pace ${pace.achievedRate.toFixed(1)}/${pace.targetRate} req/s, key interval p50 ${pace.interval.p50.toFixed(2)} s p99 ${pace.interval.p99.toFixed(2)} s${pace.kept ? "" : ` NOT KEPT (${pace.why})`}` : "";
        plan.log(`round ${round + 1}/${plan.rounds} ${w.id.padEnd(13)} ${p.id.padEnd(16)} ok=${acc.ok} failed=${acc.failed}${kinds ? ` (${kinds})` : ""}${paceText}`);
      }
      // Not after the run's last workload: the tail (tailMs) waits for that one.
      if (plan.workloadSettleMs && !(round === plan.rounds - 1 && wi === plan.workloads.length - 1)) await sleep(plan.workloadSettleMs);
    }
  }
  if (open && probe) {
    await sleep(plan.tailMs ?? 0);
    closeInterval(open, await probe());
  }
  return results;
}

/** An open counter interval: the phase it belongs to, where its counts go, and whether they are priced (a loss then counts). */
interface Interval {
  acc: Acc;
  into: Record<string, number>;
  priced: boolean;
  from: Record<string, number>;
}

/** The interval's counts go to its phase; an unreadable end reading loses them (counted as lost when priced). */
function closeInterval(open: Interval, reading: Record<string, number> | null): void {
  if (reading) addDeltas(open, reading);
  else if (open.priced) open.acc.opsLost++;
}

function addDeltas(open: Interval, after: Record<string, number>): void {
  const before = open.from;
  if (Object.keys(after).some((k) => isIdentity(k) && before[k] !== after[k])) {
    if (open.priced) open.acc.opsLost++;
    return;
  }
  for (const [k, v] of Object.entries(after)) {
    if (isIdentity(k)) continue;
    const d = v - (before[k] ?? 0);
    if (d !== 0) open.into[k] = (open.into[k] ?? 0) + d;
  }
}
