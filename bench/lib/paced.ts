/**
 * An open-loop, paced load over many keys: request i is due at `i / rate` seconds after the start
 * and carries key `i % keys` (round-robin), so every key comes back exactly every `keys / rate`
 * seconds whatever the answers' latency, the way 1,000 agents' loops or chat users each send a
 * request every few seconds. autocannon cannot do this: its `overallRate` is a budget per
 * connection per second, spent as fast as it can at the start of each second (bursts, not a pace).
 *
 * The run is a warm-up then a measured window at the same pace on the same keys, with no gap
 * between them (a gap would let every key go idle). `mark("start")` is awaited at the boundary and
 * `mark("end")` when the window's last request is due, so the caller reads counters and CPU there;
 * only requests due inside the window count (ok, failed, latencies), and the pacing report says
 * how closely the sends kept the schedule: the achieved rate and each key's measured interval.
 */
import { Agent, request } from "node:http";
import { percentile } from "./stats";

/** How far a key's p99 interval may stray from keys / rate with the scenario unchanged (see `kept`). */
export const INTERVAL_TOLERANCE = 0.25;

export interface PacedSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** The keys: `header` takes `values[i % values.length]` on request i. */
  rotate: { header: string; values: readonly string[] };
  /** Requests per second over all keys. */
  rate: number;
  warmupSec: number;
  measureSec: number;
  /** Sockets at most; requests due while all are busy wait for one (reported as lateness). */
  maxSockets: number;
  timeoutMs?: number;
  /** Awaited at the window's start and end (the sends go on meanwhile). */
  mark?: (at: "start" | "end") => Promise<void>;
}

export interface PacingReport {
  keys: number;
  targetRate: number;
  /** keys / rate: how often each key was meant to come back, s. */
  targetIntervalSec: number;
  /** Requests due in the window and sent; the window's length as the counters saw it, s; the sends' rate (over the span from the window's first send to its last, plus one slot). */
  sent: number;
  windowSec: number;
  achievedRate: number;
  /** Each key's time between consecutive sends, over sends in the window (s). */
  interval: { n: number; min: number; p1: number; p50: number; p99: number; max: number; mean: number };
  /** How late sends left against their schedule (ms): timer slack plus waiting for a socket. */
  lateMs: { p50: number; p99: number; max: number };
  /**
   * The pace was kept: achieved rate within 2% of the target and p99 interval within 25% of the
   * target. What the scenario needs is that keys neither idle long enough for their limits object
   * to be evicted (~10 s) nor come back before their book's idle give-back (1 s): a few hundred ms
   * of send lateness on a loaded 2-core machine changes neither, and the report shows the spread.
   */
  kept: boolean;
  /** Why the pace counts as not kept; empty when kept. */
  why: string;
}

export interface PacedResult {
  /** Of the requests due in the window: latency (from the send to the whole answer) of the 2xx ones, ms. */
  latenciesMs: number[];
  ok: number;
  failed: number;
  failures: Record<string, number>;
  /** The window's length as it ran, s. */
  elapsedSec: number;
  pacing: PacingReport;
}

/** Request i of a paced run: which key it carries and when it is due (ms after the start). */
export function pacedSlot(i: number, keys: number, rate: number): { key: number; dueMs: number } {
  return { key: i % keys, dueMs: (i * 1000) / rate };
}

/** The requests a paced run sends in its warm-up and in its measured window (due times in [0, warm-up) and [warm-up, warm-up + window)). */
export function pacedCounts(rate: number, warmupSec: number, measureSec: number): { warmup: number; measured: number } {
  // Rounded first: 1.2 s at 50 req/s is 60.00000000000001 in floating point, and 60 requests.
  const count = (sec: number) => Math.ceil(Math.round(sec * rate * 1e6) / 1e6);
  const warmup = count(warmupSec);
  return { warmup, measured: count(warmupSec + measureSec) - warmup };
}

/**
 * The pacing report from each send's key and time: per key, the gaps between its consecutive sends
 * where the later send is in the window (`inWindow`), and the achieved rate over `windowSec`.
 */
export function pacingReport(sends: readonly { key: number; atMs: number; lateMs: number; inWindow: boolean }[], keys: number, rate: number, windowSec: number): PacingReport {
  const last = new Map<number, number>();
  const intervals: number[] = [];
  const late: number[] = [];
  let sent = 0;
  for (const s of sends) {
    const prev = last.get(s.key);
    if (s.inWindow) {
      sent++;
      late.push(s.lateMs);
      if (prev !== undefined) intervals.push((s.atMs - prev) / 1000);
    }
    last.set(s.key, s.atMs);
  }
  intervals.sort((a, b) => a - b);
  late.sort((a, b) => a - b);
  const targetIntervalSec = keys / rate;
  const inWindow = sends.filter((s) => s.inWindow).map((s) => s.atMs);
  const spanSec = inWindow.length > 0 ? (Math.max(...inWindow) - Math.min(...inWindow)) / 1000 + 1 / rate : 0;
  const achievedRate = spanSec > 0 ? sent / spanSec : 0;
  const interval = {
    n: intervals.length,
    min: intervals[0] ?? Number.NaN,
    p1: percentile(intervals, 1),
    p50: percentile(intervals, 50),
    p99: percentile(intervals, 99),
    max: intervals[intervals.length - 1] ?? Number.NaN,
    mean: intervals.length ? intervals.reduce((a, b) => a + b, 0) / intervals.length : Number.NaN,
  };
  const why: string[] = [];
  if (!(Math.abs(achievedRate - rate) <= 0.02 * rate)) why.push(`achieved ${achievedRate.toFixed(1)} req/s against ${rate}`);
  if (intervals.length === 0) why.push("no key was sent twice");
  else if (!(Math.abs(interval.p99 - targetIntervalSec) <= INTERVAL_TOLERANCE * targetIntervalSec)) why.push(`p99 per-key interval ${interval.p99.toFixed(2)} s against ${targetIntervalSec.toFixed(2)} s`);
  return {
    keys,
    targetRate: rate,
    targetIntervalSec,
    sent,
    windowSec,
    achievedRate,
    interval,
    lateMs: { p50: percentile(late, 50), p99: percentile(late, 99), max: late[late.length - 1] ?? Number.NaN },
    kept: why.length === 0,
    why: why.join("; "),
  };
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function runPaced(spec: PacedSpec): Promise<PacedResult> {
  const keys = spec.rotate.values.length;
  const { warmup, measured } = pacedCounts(spec.rate, spec.warmupSec, spec.measureSec);
  const total = warmup + measured;
  const agent = new Agent({ keepAlive: true, maxSockets: spec.maxSockets });
  const timeoutMs = spec.timeoutMs ?? 30_000;
  const url = new URL(spec.url);
  const out: PacedResult = { latenciesMs: [], ok: 0, failed: 0, failures: {}, elapsedSec: 0, pacing: undefined as unknown as PacingReport };
  const sends: { key: number; atMs: number; lateMs: number; inWindow: boolean }[] = [];
  const pending = new Set<Promise<void>>();
  const fail = (what: string) => {
    out.failed++;
    out.failures[what] = (out.failures[what] ?? 0) + 1;
  };

  const send = (i: number, t0: number) => {
    const { key, dueMs } = pacedSlot(i, keys, spec.rate);
    // Only the requests due inside the window count; those sent while the end reading runs do not.
    const inWindow = i >= warmup && i < total;
    const p = new Promise<void>((resolve) => {
      const created = nowMs();
      let done = false;
      const finish = (ok: boolean, what: string) => {
        if (done) return;
        done = true;
        if (inWindow) {
          if (ok) {
            out.ok++;
            out.latenciesMs.push(nowMs() - created);
          } else fail(what);
        }
        resolve();
      };
      const req = request(
        { host: url.hostname, port: url.port, path: url.pathname + url.search, method: "POST", agent, headers: { ...spec.headers, [spec.rotate.header]: spec.rotate.values[key] as string, "content-length": Buffer.byteLength(spec.body) } },
        (res) => {
          res.on("data", () => {});
          res.on("end", () => finish((res.statusCode ?? 0) >= 200 && (res.statusCode ?? 0) < 300, `status ${res.statusCode}`));
          res.on("error", (err) => finish(false, err.message));
        },
      );
      // The send time is when the request gets a socket (at once, or when one frees up).
      req.once("socket", () => sends.push({ key, atMs: nowMs() - t0, lateMs: nowMs() - t0 - dueMs, inWindow }));
      req.setTimeout(timeoutMs, () => {
        req.destroy(new Error("timeout"));
      });
      req.on("error", (err) => finish(false, err.message === "timeout" ? "timeout" : err.message));
      req.end(spec.body);
    });
    pending.add(p);
    void p.then(() => pending.delete(p));
  };

  const t0 = nowMs();
  let next = 0;
  let windowStart = Number.NaN;
  let windowEnd = Number.NaN;
  let marking: Promise<void> | null = null;
  let ending: Promise<void> | null = null;
  let ended = false;
  let failure: unknown = null;
  const mark = (at: "start" | "end") => (spec.mark ? spec.mark(at) : Promise.resolve()).catch((err: unknown) => void (failure ??= err));
  // The sends go on at the same pace while the caller reads at either boundary (the requests due
  // after the window are not counted), so both readings see the same steady traffic around them.
  while (!ended) {
    const elapsed = nowMs() - t0;
    while (!ended && pacedSlot(next, keys, spec.rate).dueMs <= elapsed) {
      if (next === warmup && marking === null) {
        windowStart = nowMs();
        marking = mark("start");
      }
      if (next === total && ending === null) {
        windowEnd = nowMs();
        // Past the window the sends keep the pace (not counted) until the end reading is done.
        ending = (marking ?? Promise.resolve()).then(() => mark("end")).finally(() => (ended = true));
        break;
      }
      send(next++, t0);
    }
    if (!ended) await sleep(Math.max(0, Math.min(2, pacedSlot(next, keys, spec.rate).dueMs - (nowMs() - t0))));
  }
  await Promise.all([...pending]);
  agent.destroy();
  if (failure) throw failure;
  out.elapsedSec = (windowEnd - windowStart) / 1000;
  sends.sort((a, b) => a.atMs - b.atMs);
  out.pacing = pacingReport(sends, keys, spec.rate, out.elapsedSec);
  return out;
}
