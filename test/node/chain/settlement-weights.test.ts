// Work -> u16 weights: proportions, MinAllowedWeights padding, MaxWeightsLimit capping, and the
// chain's own acceptance checks (max-upscale, check_length, check_vec_max_limited) on every result.
import { describe, expect, it } from "vitest";
import { computeWeights, withinMaxLimit, type WeightCandidate, type WeightLimits } from "../../../src/chain/settlement/weights";

const OPEN: WeightLimits = { minAllowedWeights: 1, maxWeightsLimit: 65535, subnetN: 10 };

function cands(works: readonly number[], firstUid = 1): WeightCandidate[] {
  return works.map((w, i) => ({ uid: firstUid + i, work: BigInt(w) }));
}

function weightsOf(c: readonly WeightCandidate[], limits: WeightLimits = OPEN, selfUid?: number) {
  const plan = computeWeights(c, limits, selfUid);
  if (plan.kind !== "weights") throw new Error(`expected weights, got ${JSON.stringify(plan)}`);
  return plan.entries;
}

/** What Subtensor checks in do_set_weights for a non-self vector. */
function chainAccepts(entries: { uid: number; weight: number }[], limits: WeightLimits): boolean {
  const uids = entries.map((e) => e.uid);
  if (new Set(uids).size !== uids.length) return false;
  if (entries.length < Math.min(limits.minAllowedWeights, limits.subnetN)) return false;
  const max = Math.max(...entries.map((e) => e.weight));
  const upscaled = entries.map((e) => Math.round((e.weight * 65535) / max));
  return withinMaxLimit(upscaled, limits.maxWeightsLimit);
}

describe("computeWeights", () => {
  it("scales work so the largest is 65535, keeping proportions within rounding", () => {
    const entries = weightsOf(cands([600, 300, 100]));
    expect(entries).toEqual([
      { uid: 1, weight: 65535 },
      { uid: 2, weight: 32768 },
      { uid: 3, weight: 10923 },
    ]);
  });

  it("omits idle uids, keeps every working one at >= 1 and sorts by uid", () => {
    const c: WeightCandidate[] = [
      { uid: 7, work: 10n ** 12n },
      { uid: 2, work: 0n },
      { uid: 4, work: 1n },
    ];
    expect(weightsOf(c)).toEqual([
      { uid: 4, weight: 1 },
      { uid: 7, weight: 65535 },
    ]);
  });

  it("handles bigint work far beyond 2^53", () => {
    const entries = weightsOf(cands([0, 0]).map((c, i) => ({ ...c, work: BigInt(i + 1) * 10n ** 30n })) as WeightCandidate[]);
    expect(entries.map((e) => e.weight)).toEqual([32768, 65535]);
  });

  it("reports empty when nobody worked", () => {
    expect(computeWeights(cands([0, 0, 0]), OPEN)).toEqual({ kind: "empty" });
    expect(computeWeights([], OPEN)).toEqual({ kind: "empty" });
  });

  it("pads with weight 1 on the lowest idle uids to reach MinAllowedWeights", () => {
    const limits = { ...OPEN, minAllowedWeights: 4 };
    const entries = weightsOf(cands([0, 50, 0, 0, 100]), limits);
    expect(entries).toEqual([
      { uid: 1, weight: 1 },
      { uid: 2, weight: 32768 },
      { uid: 3, weight: 1 },
      { uid: 5, weight: 65535 },
    ]);
    expect(chainAccepts(entries, limits)).toBe(true);
  });

  it("needs only min(MinAllowedWeights, SubnetworkN) uids", () => {
    const limits = { minAllowedWeights: 64, maxWeightsLimit: 65535, subnetN: 3 };
    // Validator uid 0 plus miners 1 and 2: all three must carry a weight, the validator's own last.
    expect(computeWeights(cands([5, 0]), limits)).toMatchObject({ kind: "impossible" });
    const entries = computeWeights(cands([5, 0]), limits, 0);
    expect(entries).toEqual({ kind: "weights", entries: [{ uid: 0, weight: 1 }, { uid: 1, weight: 65535 }, { uid: 2, weight: 1 }] });
    expect(weightsOf(cands([5, 0, 0]), limits, 0)).toEqual([{ uid: 1, weight: 65535 }, { uid: 2, weight: 1 }, { uid: 3, weight: 1 }]);
  });

  it("caps a dominant miner at MaxWeightsLimit and redistributes in proportion", () => {
    const limits = { ...OPEN, maxWeightsLimit: 32767 }; // at most ~50% for anyone
    const entries = weightsOf(cands([600, 300, 100]), limits);
    expect(chainAccepts(entries, limits)).toBe(true);
    const sum = entries.reduce((a, e) => a + e.weight, 0);
    const shares = entries.map((e) => e.weight / sum);
    expect(shares[0]).toBeLessThanOrEqual(32767 / 65535);
    expect(shares[0]).toBeCloseTo(0.5, 3);
    // The rest keeps its 3:1 ratio.
    expect((entries[1]?.weight ?? 0) / (entries[2]?.weight ?? 1)).toBeCloseTo(3, 2);
  });

  it("spreads the excess over idle uids when the working ones cannot absorb it", () => {
    const limits = { ...OPEN, maxWeightsLimit: 16384 }; // ~25% each: one miner needs >= 3 more uids
    const entries = weightsOf(cands([100, 0, 0, 0, 0]), limits);
    expect(chainAccepts(entries, limits)).toBe(true);
    expect(entries[0]).toEqual({ uid: 1, weight: 65535 });
    expect(entries.length).toBeGreaterThanOrEqual(4);
    expect(computeWeights(cands([100, 0]), limits)).toMatchObject({ kind: "impossible" });
  });

  it("always produces a vector the chain accepts (randomised limits and work)", () => {
    let seed = 42;
    const rand = (n: number): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed % n;
    };
    for (let round = 0; round < 400; round++) {
      const n = 1 + rand(40);
      const works = Array.from({ length: n }, () => (rand(3) === 0 ? 0 : rand(1_000_000)));
      const limits = { minAllowedWeights: 1 + rand(8), maxWeightsLimit: rand(4) === 0 ? 65535 : 1000 + rand(64_535), subnetN: n + 1 };
      const plan = computeWeights(cands(works), limits);
      if (plan.kind === "weights") {
        expect(chainAccepts(plan.entries, limits), JSON.stringify({ works, limits, plan })).toBe(true);
        expect(Math.max(...plan.entries.map((e) => e.weight))).toBe(65535);
      } else if (plan.kind === "empty") {
        expect(works.every((w) => w === 0)).toBe(true);
      }
    }
  });
});
