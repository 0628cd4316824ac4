/**
 * A miner's time to first token as a function of how many requests it carries: learned from
 * its own answers, so a miner that batches dozens keeps its traffic and one that queues at four
 * sheds it. See docs/routing.md for the reasons behind each choice.
 *
 * Levels (requests in flight at the miner, this one included) fall into doubling buckets:
 *   1 | 2 | 3-4 | 5-8 | 9-16 | 17-32 | 33+
 * Each bucket keeps an EWMA of the TTFTs measured at that level. Then:
 *   at(b)     the best TTFT measured at bucket b or any busier one: a miner that answered that
 *             fast under more load can do at least as well under less. (TTFTs at low levels are
 *             often inflated by the gateway's own contention: when the gateway is busy, fewer of
 *             its requests have reached the miner, so a raw per-level curve can even fall with load.)
 *   base      at(0): the miner unloaded, or as close as it was seen.
 *   capacity  the top level of the last bucket with at(b) <= SATURATION x base, once a measured
 *             bucket beyond it exceeds that (unknown until the miner is seen slowing down).
 *   predicted TTFT at level L: at(bucket(L)) when a bucket at or above it is measured; beyond
 *             the busiest measured bucket, that bucket's value, and once the capacity is known at least
 *                 base x (1 + max(0, L - capacity) / capacity)
 *             (a saturated server queues: each `capacity` more requests wait one more turn).
 *             With no evidence of slowing down the prediction stays at what was measured, so a
 *             fast miner keeps its traffic until it actually slows down.
 */

export const LOAD_BUCKETS = 7;
/** A bucket's EWMA counts once it has this many samples. */
export const MIN_BUCKET_SAMPLES = 3;
/**
 * TTFT beyond this multiple of the unloaded TTFT means the miner is saturated. Twice, not less:
 * what the gateway measures under its own load wobbles by half again even after the shared delay
 * is taken out (contention.ts), while a miner that really queues doubles its TTFT as soon as the
 * queue is one turn long.
 */
export const SATURATION = 2;
const BUCKET_ALPHA = 0.2;

export interface LoadBucket {
  /** EWMA of TTFT (ms) at this level. */
  ttftMs: number;
  samples: number;
}

/** Bucket i covers levels (2^(i-1), 2^i]; the last one everything above 32. */
export function loadBucket(level: number): number {
  if (!(level > 1)) return 0;
  return Math.min(LOAD_BUCKETS - 1, Math.ceil(Math.log2(level)));
}

/** The highest level a bucket covers (its representative load). */
export function bucketTop(bucket: number): number {
  return 2 ** bucket;
}

/** Folds one TTFT measured at `level` into a copy of the curve. */
export function foldLoad(curve: readonly (LoadBucket | null)[] | undefined, level: number, ttftMs: number): (LoadBucket | null)[] {
  const out = Array.from({ length: LOAD_BUCKETS }, (_, i) => curve?.[i] ?? null);
  const b = loadBucket(level);
  const prev = out[b];
  out[b] = prev ? { ttftMs: prev.ttftMs + BUCKET_ALPHA * (ttftMs - prev.ttftMs), samples: prev.samples + 1 } : { ttftMs, samples: 1 };
  return out;
}

const measured = (b: LoadBucket | null | undefined): b is LoadBucket => b != null && b.samples >= MIN_BUCKET_SAMPLES;

/** at(b) for every bucket: the best measured TTFT at that load or above (null: none measured there or above). */
function bestFromAbove(curve: readonly (LoadBucket | null)[] | undefined): (number | null)[] {
  const out: (number | null)[] = new Array<number | null>(LOAD_BUCKETS).fill(null);
  let best: number | null = null;
  for (let i = LOAD_BUCKETS - 1; i >= 0; i--) {
    const b = curve?.[i];
    if (measured(b) && (best === null || b.ttftMs < best)) best = b.ttftMs;
    out[i] = best;
  }
  return out;
}

export interface LoadModel {
  /** Unloaded TTFT (ms), or null when no bucket is measured yet. */
  baseMs: number | null;
  /** Requests the miner takes before it slows down; null until it has been seen slowing down. */
  capacity: number | null;
}

export function loadModel(curve: readonly (LoadBucket | null)[] | undefined): LoadModel {
  const at = bestFromAbove(curve);
  const baseMs = at[0] ?? null;
  if (baseMs === null) return { baseMs, capacity: null };
  for (let i = 1; i < LOAD_BUCKETS; i++) {
    const v = at[i];
    if (v != null && v > SATURATION * baseMs) return { baseMs, capacity: bucketTop(i - 1) };
  }
  return { baseMs, capacity: null };
}

/** Predicted TTFT (ms) at `level` requests in flight, or null without measurements at any level. */
export function predictTtft(curve: readonly (LoadBucket | null)[] | undefined, level: number): number | null {
  const at = bestFromAbove(curve);
  const { baseMs, capacity } = loadModel(curve);
  if (baseMs === null) return null;
  const target = loadBucket(level);
  const here = at[target];
  if (here != null) return here;
  // Busier than anything measured: the busiest measured bucket, and the queueing model once known.
  let busiest = baseMs;
  for (let i = target - 1; i >= 0; i--) {
    const b = curve?.[i];
    if (measured(b)) {
      busiest = b.ttftMs;
      break;
    }
  }
  return capacity === null ? busiest : Math.max(busiest, baseMs * (1 + Math.max(0, level - capacity) / capacity));
}
