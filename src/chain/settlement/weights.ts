// Work -> u16 weights (pure), shaped so Subtensor accepts them:
// 1. weight_i = round(work_i x 65535 / max work), at least 1 for any work (the largest is 65535);
// 2. MinAllowedWeights: with fewer non-zero weights than min(MinAllowedWeights, SubnetworkN), the
//    lowest idle uids get weight 1 (the smallest possible) until there are enough, and the
//    validator's own uid last (a tiny subnet may have too few other uids);
// 3. MaxWeightsLimit: no uid may hold more than MaxWeightsLimit / 65535 of the normalised vector.
//    Shares above it are capped and the excess is given to the others in proportion to their
//    weight (water-filling); when even that cannot fit, idle uids share the rest equally.
// Every registered uid except the validator's own is a candidate; idle ones get 0 (omitted).
import { U16_MAX } from "./types";

export type WeightCandidate = { uid: number; work: bigint };
export type WeightLimits = { minAllowedWeights: number; maxWeightsLimit: number; subnetN: number };
export type WeightEntry = { uid: number; weight: number };

export type WeightPlan =
  | { kind: "weights"; entries: WeightEntry[] }
  /** Nobody did verified work: nothing to set. */
  | { kind: "empty" }
  /** The subnet's limits cannot be met with the registered uids. */
  | { kind: "impossible"; reason: string };

const MAX = BigInt(U16_MAX);

function ceilDiv(a: bigint, b: bigint): bigint {
  return (a + b - 1n) / b;
}

/** Subtensor's `check_vec_max_limited`, exactly (without its fixed-point rounding, which only helps). */
export function withinMaxLimit(weights: readonly number[], maxWeightsLimit: number): boolean {
  if (maxWeightsLimit >= U16_MAX || weights.length === 0) return true;
  const sum = weights.reduce((a, w) => a + BigInt(w), 0n);
  if (sum === 0n) return true;
  const top = weights.reduce((a, w) => (BigInt(w) > a ? BigInt(w) : a), 0n);
  return top * MAX <= BigInt(maxWeightsLimit) * sum;
}

type Entry = { uid: number; value: bigint };

/**
 * Caps shares at `limit`/65535 (one below the chain's limit, a margin against its fixed-point
 * rounding) and spreads the excess; returns null when there are too few uids to spread it over.
 */
function waterfill(entries: Entry[], idle: WeightCandidate[], maxWeightsLimit: number): Entry[] | null {
  const cap = BigInt(Math.max(1, maxWeightsLimit - 1));
  const sorted = [...entries].sort((a, b) => (b.value > a.value ? 1 : b.value < a.value ? -1 : a.uid - b.uid));
  let capped = 0;
  let uncappedSum = sorted.reduce((a, e) => a + e.value, 0n);
  // Cap the largest while its share of what the uncapped get would still exceed the cap.
  for (const e of sorted) {
    const rest = MAX - BigInt(capped) * cap;
    if (rest <= 0n || rest * e.value <= cap * uncappedSum) break;
    capped++;
    uncappedSum -= e.value;
  }
  let rest = MAX - BigInt(capped) * cap;
  const out: Entry[] = sorted.slice(0, capped).map((e) => ({ uid: e.uid, value: MAX }));
  let uncapped = sorted.slice(capped);
  if (uncapped.length === 0 && rest > 0n) {
    // Everyone is at the cap and shares are still left: idle uids take them, equally.
    const needed = Number(ceilDiv(rest, cap));
    if (idle.length < needed) return null;
    uncapped = idle.slice(0, needed).map((c) => ({ uid: c.uid, value: 1n }));
    uncappedSum = BigInt(needed);
  }
  if (rest < 0n) rest = 0n;
  // Rounded up so the sum never falls below the ideal one: the top share then stays under the cap.
  for (const e of uncapped) {
    const v = uncappedSum === 0n ? 0n : ceilDiv(rest * MAX * e.value, cap * uncappedSum);
    out.push({ uid: e.uid, value: v > MAX ? MAX : v });
  }
  return out;
}

/** `selfUid`: the validator's uid, used only as the last MinAllowedWeights filler. */
export function computeWeights(candidates: readonly WeightCandidate[], limits: WeightLimits, selfUid?: number): WeightPlan {
  const byUid = [...candidates].sort((a, b) => a.uid - b.uid);
  const working = byUid.filter((c) => c.work > 0n);
  if (working.length === 0) return { kind: "empty" };
  const idle = byUid.filter((c) => c.work <= 0n);

  const top = working.reduce((a, c) => (c.work > a ? c.work : a), 0n);
  let entries: Entry[] = working.map((c) => {
    const scaled = (c.work * MAX + top / 2n) / top;
    return { uid: c.uid, value: scaled < 1n ? 1n : scaled };
  });

  const need = Math.min(limits.minAllowedWeights, limits.subnetN);
  while (entries.length < need && idle.length > 0) {
    const next = idle.shift();
    if (next) entries.push({ uid: next.uid, value: 1n });
  }
  if (entries.length < need && selfUid !== undefined && !entries.some((e) => e.uid === selfUid)) entries.push({ uid: selfUid, value: 1n });
  if (entries.length < need) {
    return { kind: "impossible", reason: `MinAllowedWeights needs ${need} weighted uids, only ${entries.length} can be weighted` };
  }

  if (!withinMaxLimit(entries.map((e) => Number(e.value)), limits.maxWeightsLimit)) {
    const filled = waterfill(entries, idle, limits.maxWeightsLimit);
    if (!filled) return { kind: "impossible", reason: `MaxWeightsLimit ${limits.maxWeightsLimit} cannot be met with ${byUid.length} candidate uids` };
    entries = filled.filter((e) => e.value > 0n);
    if (!withinMaxLimit(entries.map((e) => Number(e.value)), limits.maxWeightsLimit)) {
      return { kind: "impossible", reason: `MaxWeightsLimit ${limits.maxWeightsLimit} not met after capping` };
    }
  }
  return { kind: "weights", entries: entries.map((e) => ({ uid: e.uid, weight: Number(e.value) })).sort((a, b) => a.uid - b.uid) };
}
