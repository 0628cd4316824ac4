/**
 * Is a difference between two sets of samples more than noise? A percentile bootstrap of the
 * difference of medians: resample both sets with replacement many times, take the middle 95% of
 * the resampled differences. Seeded, so the same samples always give the same interval. The
 * median is the nearest-rank p50 the report's tables show (bench/lib/stats.ts).
 */
import { percentile } from "./stats";

export interface MedianDiff {
  /** median(a) - median(b) */
  diff: number;
  lo: number;
  hi: number;
  /** The interval contains 0: the two medians cannot be told apart at this sample size. */
  withinNoise: boolean;
}

/** mulberry32: a small deterministic PRNG. */
function rng(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

function median(sorted: Float64Array): number {
  return percentile(sorted, 50);
}

function resampledMedian(xs: readonly number[], buf: Float64Array, random: () => number): number {
  for (let i = 0; i < buf.length; i++) buf[i] = xs[Math.floor(random() * xs.length)] as number;
  buf.sort();
  return median(buf);
}

export function medianDiff(a: readonly number[], b: readonly number[], iterations = 1000, seed = 12): MedianDiff | null {
  if (a.length === 0 || b.length === 0) return null;
  const random = rng(seed);
  const bufA = new Float64Array(a.length);
  const bufB = new Float64Array(b.length);
  const diffs = new Float64Array(iterations);
  for (let i = 0; i < iterations; i++) diffs[i] = resampledMedian(a, bufA, random) - resampledMedian(b, bufB, random);
  diffs.sort();
  const lo = diffs[Math.floor(iterations * 0.025)] as number;
  const hi = diffs[Math.min(iterations - 1, Math.ceil(iterations * 0.975) - 1)] as number;
  const diff = median(Float64Array.from(a).sort()) - median(Float64Array.from(b).sort());
  return { diff, lo, hi, withinNoise: lo <= 0 && hi >= 0 };
}
