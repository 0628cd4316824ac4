/**
 * The isolate's view of miner health: what selection reads on the request path, with no I/O.
 * Observations are applied here at once (this isolate reacts immediately) and queued for the
 * model's MinerHealth Durable Object, which merges every isolate's observations; the DO's answer
 * replaces the local copy, so all isolates converge within a flush interval.
 */
import { contentionMs, excessOf, type Excess } from "./contention";
import { freshStats, observe, type MinerStats, type Observation } from "./stats";

const FLUSH_INTERVAL_MS = 1_000;
const FLUSH_BATCH = 64;
const MAX_AFFINITY_KEYS = 10_000;

interface ModelBook {
  stats: Map<string, MinerStats>;
  /** Each miner's recent TTFT above its unloaded base, as this isolate measured it. */
  excess: Map<string, Excess>;
  pending: Observation[];
  lastFlushAt: number;
  flushing: boolean;
}

const books = new Map<string, ModelBook>();
const inflight = new Map<string, number>();
const affinity = new Map<string, string>();

function book(model: string): ModelBook {
  let b = books.get(model);
  if (!b) {
    b = { stats: new Map(), excess: new Map(), pending: [], lastFlushAt: 0, flushing: false };
    books.set(model, b);
  }
  return b;
}

export function statsOf(model: string, hotkey: string, now: number): MinerStats {
  return book(model).stats.get(hotkey) ?? freshStats(now);
}

export function record(model: string, o: Observation): void {
  const b = book(model);
  const prev = b.stats.get(o.hotkey) ?? freshStats(o.at);
  const observed = o.kind === "success" && o.ttftMs !== null ? netOfContention(b, prev, o, o.ttftMs) : o;
  b.stats.set(o.hotkey, observe(prev, observed));
  b.pending.push(observed);
}

/** A success stamped with the isolate's own delay, measured here (the shared view folds the same). */
function netOfContention(b: ModelBook, prev: MinerStats, o: Observation & { kind: "success" }, ttftMs: number): Observation {
  const excess = excessOf(prev, ttftMs, o.at);
  if (excess) b.excess.set(o.hotkey, excess);
  const contention = contentionMs(b.excess, o.at);
  return contention > 0 ? { ...o, contentionMs: contention } : o;
}

/** Observations to send now, if it is time (or the batch is full); null otherwise. */
export function takeFlush(model: string, now: number, force = false): Observation[] | null {
  const b = book(model);
  if (b.flushing || b.pending.length === 0) return null;
  if (!force && now - b.lastFlushAt < FLUSH_INTERVAL_MS && b.pending.length < FLUSH_BATCH) return null;
  b.flushing = true;
  b.lastFlushAt = now;
  return b.pending.splice(0);
}

/** The shared view came back: it already contains what was sent; later observations stay queued. */
export function adoptSnapshot(model: string, snapshot: Record<string, MinerStats> | null): void {
  const b = book(model);
  b.flushing = false;
  if (!snapshot) return;
  b.stats = new Map(Object.entries(snapshot));
  for (const o of b.pending) b.stats.set(o.hotkey, observe(b.stats.get(o.hotkey) ?? freshStats(o.at), o));
}

/** A failed flush: put the observations back so the next one carries them. */
export function restorePending(model: string, observations: Observation[]): void {
  const b = book(model);
  b.flushing = false;
  b.pending.unshift(...observations);
}

export function inflightOf(hotkey: string): number {
  return inflight.get(hotkey) ?? 0;
}

export function trackInflight(hotkey: string, delta: 1 | -1): void {
  const n = (inflight.get(hotkey) ?? 0) + delta;
  if (n <= 0) inflight.delete(hotkey);
  else inflight.set(hotkey, n);
}

export function affinityOf(key: string): string | undefined {
  return affinity.get(key);
}

export function rememberAffinity(key: string, hotkey: string): void {
  if (affinity.size >= MAX_AFFINITY_KEYS) {
    const oldest = affinity.keys().next().value;
    if (oldest !== undefined) affinity.delete(oldest);
  }
  affinity.delete(key);
  affinity.set(key, hotkey);
}
