import { describe, expect, it } from "vitest";
import { record, rememberAffinity, statsOf, trackInflight } from "../../src/routing/health/book";
import { loadModel, predictTtft } from "../../src/routing/health/load-curve";
import { circuitState, forgiven, freshStats, observe, TUNING, type MinerStats } from "../../src/routing/health/stats";
import type { Miner } from "../../src/routing/directory";
import { loadFactor, peerBests, scoreMiner } from "../../src/routing/score";
import { rankCandidates } from "../../src/routing/select";

const T0 = 1_000_000;
const miner = (hotkey: string, over: Partial<Miner> = {}): Miner => ({ hotkey, uid: 1, axonUrl: "http://x", models: new Set(["m"]), incentive: 0, stakeRao: 0n, ...over });
const success = (hotkey: string, at: number, ttftMs = 20, counted = 20, reported: number | null = counted) =>
  ({ kind: "success", hotkey, at, ttftMs, durationMs: ttftMs + 40, countedTokens: counted, reportedTokens: reported }) as const;
const failure = (hotkey: string, at: number) => ({ kind: "failure", hotkey, at, failure: "status" }) as const;

function fold(s: MinerStats, n: number, f: (i: number) => Parameters<typeof observe>[1]): MinerStats {
  for (let i = 0; i < n; i++) s = observe(s, f(i));
  return s;
}

/** Deterministic PRNG for selection tests. */
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("measurements", () => {
  it("track time to first token, throughput and success as moving averages", () => {
    const s = fold(freshStats(T0), 30, (i) => success("a", T0 + i, 100, 40));
    expect(s.ttftMs).toBeCloseTo(100, 5);
    expect(s.tokensPerSec).toBeCloseTo(1000, 5); // 40 tokens in 40 ms
    expect(s.success).toBe(1);
    const f = fold(s, 5, (i) => failure("a", T0 + 100 + i));
    expect(f.success).toBeCloseTo((1 - TUNING.successAlpha) ** 5, 5); // past the running mean: the EWMA floor
  });

  it("learn a miner's failure rate as a running mean at first, so a 30%-failing miner shows within ~10 requests", () => {
    // Observation n weighs 1 / (n + prior) until that falls to the EWMA floor.
    const s = fold(freshStats(T0), 10, (i) => ([1, 4, 7].includes(i) ? failure("a", T0 + i) : success("a", T0 + i)));
    expect(s.success).toBeCloseTo((TUNING.successPrior + 7) / (TUNING.successPrior + 10), 5);
    // One early failure does not condemn a new miner.
    expect(observe(freshStats(T0), failure("a", T0)).success).toBeCloseTo(TUNING.successPrior / (TUNING.successPrior + 1), 5);
  });

  it("forgive a failure deficit by half per idle half-life, so a starved miner gets measured again", () => {
    const s = fold(freshStats(T0), 10, (i) => failure("a", T0 + i));
    const deficit = 1 - s.success;
    expect(forgiven(s, s.updatedAt).success).toBe(s.success);
    expect(1 - forgiven(s, s.updatedAt + TUNING.forgiveHalfLifeMs).success).toBeCloseTo(deficit / 2, 5);
    expect(1 - forgiven(s, s.updatedAt + 3 * TUNING.forgiveHalfLifeMs).success).toBeCloseTo(deficit / 8, 5);
    expect(forgiven(s, s.updatedAt + TUNING.forgiveHalfLifeMs).circuit).toBe(s.circuit); // only the estimate ages
  });

  it("detect a miner that reports twice the tokens it sent", () => {
    const s = fold(freshStats(T0), 30, (i) => success("a", T0 + i, 20, 20, 40));
    expect(s.honesty).toBeCloseTo(0.5, 2);
    const honest = fold(freshStats(T0), 30, (i) => success("a", T0 + i, 20, 20, 20));
    expect(honest.honesty).toBe(1);
  });

  it("open the circuit after consecutive failures, half-open after the back-off, close on success", () => {
    let s = fold(freshStats(T0), TUNING.circuitFailures, (i) => failure("a", T0 + i));
    expect(circuitState(s, T0 + 10)).toBe("open");
    expect(circuitState(s, s.openUntil)).toBe("half_open");
    const reopened = observe(s, failure("a", s.openUntil + 1));
    expect(circuitState(reopened, s.openUntil + 2)).toBe("open");
    expect(reopened.openUntil - (s.openUntil + 1)).toBe(TUNING.circuitBaseMs * 2); // backs off
    s = observe(s, success("a", s.openUntil + 1));
    expect(circuitState(s, s.openUntil + 2)).toBe("closed");
  });
});

describe("score", () => {
  const peers = (stats: MinerStats[]) => peerBests(stats, [{ incentive: 0, stakeRao: 0n }]);

  it("prefers the faster miner by the square of relative time to first token", () => {
    const fast = fold(freshStats(T0), 20, (i) => success("a", T0 + i, 20));
    const slow = fold(freshStats(T0), 20, (i) => success("b", T0 + i, 100));
    const p = peers([fast, slow]);
    const chain = { incentive: 0, stakeRao: 0n };
    expect(scoreMiner(slow, chain, p, "latency", 0).score / scoreMiner(fast, chain, p, "latency", 0).score).toBeCloseTo(0.04, 3);
  });

  it("folds in the chain's incentive as a bounded prior", () => {
    const s = freshStats(T0);
    const p = peerBests([s], [{ incentive: 0.5, stakeRao: 100n }, { incentive: 0, stakeRao: 0n }]);
    expect(scoreMiner(s, { incentive: 0.5, stakeRao: 100n }, p, "balanced", 0).prior).toBeCloseTo(1, 5);
    expect(scoreMiner(s, { incentive: 0, stakeRao: 0n }, p, "balanced", 0).prior).toBeCloseTo(0.5, 5);
  });
});

describe("selection", () => {
  it("samples by score: a fast miner carries most picks, an unreliable one few", () => {
    const model = "unit/select";
    for (let i = 0; i < 40; i++) {
      record(model, success("fast", T0 + i, 20));
      record(model, success("slow", T0 + i, 100));
      // 30% failures, spread out (never three in a row).
      record(model, [1, 4, 7].includes(i % 10) ? failure("flaky", T0 + i) : success("flaky", T0 + i, 20));
    }
    const miners = [miner("fast"), miner("slow"), miner("flaky")];
    const random = mulberry32(42);
    const firsts: Record<string, number> = { fast: 0, slow: 0, flaky: 0 };
    for (let i = 0; i < 2000; i++) {
      const [first] = rankCandidates(miners, { model, maxAttempts: 3, now: T0 + 100, random });
      firsts[first!.hotkey]!++;
    }
    expect(firsts.fast! / 2000).toBeGreaterThan(0.55);
    expect(firsts.flaky! / 2000).toBeLessThan(0.25);
    expect(firsts.slow! / 2000).toBeLessThan(0.3);
  });

  it("puts open circuits last, after every other candidate, and tries everyone when every circuit is open", () => {
    const model = "unit/circuit";
    for (let i = 0; i < TUNING.circuitFailures; i++) record(model, failure("down", T0 + i));
    const order = rankCandidates([miner("down"), miner("up")], { model, maxAttempts: 2, now: T0 + 10, random: mulberry32(1) });
    // "down" only if "up" fails: a probe beats a certain error (the soak's finding, docs/soak.md).
    expect(order.map((m) => m.hotkey)).toEqual(["up", "down"]);
    for (let i = 0; i < 20; i++) expect(rankCandidates([miner("down"), miner("up")], { model, maxAttempts: 2, now: T0 + 10, random: mulberry32(i) })[0]!.hotkey).toBe("up");
    expect(rankCandidates([miner("down"), miner("up")], { model, maxAttempts: 1, now: T0 + 10, random: mulberry32(1) }).map((m) => m.hotkey)).toEqual(["up"]);
    const alone = rankCandidates([miner("down")], { model, maxAttempts: 2, now: T0 + 10, random: mulberry32(1) });
    expect(alone.map((m) => m.hotkey)).toEqual(["down"]);
    expect(statsOf(model, "down", T0).circuit).toBe("open");
  });

  it("keeps a session on its miner while it is healthy, even when another is faster", () => {
    const model = "unit/affinity";
    for (let i = 0; i < 20; i++) {
      record(model, success("warm", T0 + i, 60));
      record(model, success("quick", T0 + i, 20));
    }
    rememberAffinity("session-1", "warm");
    const miners = [miner("warm"), miner("quick")];
    const random = mulberry32(9);
    for (let i = 0; i < 50; i++) expect(rankCandidates(miners, { model, maxAttempts: 2, now: T0 + 100, affinityKey: "session-1", random })[0]!.hotkey).toBe("warm");
    for (let i = 0; i < TUNING.circuitFailures; i++) record(model, failure("warm", T0 + 200 + i));
    const after = rankCandidates(miners, { model, maxAttempts: 2, now: T0 + 300, affinityKey: "session-1", random });
    // Its open circuit puts "warm" last, tried only if "quick" fails.
    expect(after.map((m) => m.hotkey)).toEqual(["quick", "warm"]);
  });

  it("returns each miner at most once, up to the attempt limit", () => {
    const order = rankCandidates([miner("a"), miner("b"), miner("c")], { model: "unit/fresh", maxAttempts: 2, now: T0, random: mulberry32(3) });
    expect(order).toHaveLength(2);
    expect(new Set(order.map((m) => m.hotkey)).size).toBe(2);
  });
});

describe("load curve", () => {
  const at = (hotkey: string, i: number, ttftMs: number, inflight: number) => ({ ...success(hotkey, T0 + i, ttftMs), inflight });

  it("keeps a miner that does not slow down at full weight however many requests it carries", () => {
    let s = freshStats(T0);
    for (const level of [1, 2, 4, 8, 16, 32]) s = fold(s, 5, (i) => at("a", i, 20, level));
    expect(loadModel(s.loadTtft)).toEqual({ baseMs: 20, capacity: null });
    expect(loadFactor(s, 31, "balanced")).toBe(1);
    expect(loadFactor(s, 100, "balanced")).toBe(1); // no evidence of slowing down: none assumed
  });

  it("learns the capacity where TTFT passes twice its unloaded value, and predicts queueing beyond it", () => {
    let s = freshStats(T0);
    s = fold(s, 5, (i) => at("a", i, 20, 1));
    s = fold(s, 5, (i) => at("a", i, 21, 4));
    s = fold(s, 5, (i) => at("a", i, 60, 8));
    const m = loadModel(s.loadTtft);
    expect(m).toEqual({ baseMs: 20, capacity: 4 });
    expect(predictTtft(s.loadTtft, 3)).toBeCloseTo(21, 5);
    expect(predictTtft(s.loadTtft, 8)).toBeCloseTo(60, 5);
    // Busier than anything measured: at least base x (1 + (L - capacity) / capacity).
    expect(predictTtft(s.loadTtft, 20)).toBeCloseTo(20 * (1 + 16 / 4), 5);
    expect(loadFactor(s, 7, "latency")).toBeCloseTo((20 / 60) ** 2, 5);
    expect(loadFactor(s, 7, "throughput")).toBeCloseTo(20 / 60, 5);
  });

  it("is not fooled by TTFTs inflated at low load (the gateway's own contention)", () => {
    let s = freshStats(T0);
    s = fold(s, 5, (i) => at("a", i, 500, 1));
    s = fold(s, 5, (i) => at("a", i, 150, 8));
    expect(loadModel(s.loadTtft).baseMs).toBe(150);
    expect(loadFactor(s, 0, "balanced")).toBe(1);
    expect(loadFactor(s, 7, "balanced")).toBe(1);
  });

  it("does not blame a miner for a delay every miner shows at once (the gateway's own contention)", () => {
    const model = "unit/contention";
    // Calm: both miners measured unloaded.
    for (let i = 0; i < 10; i++) {
      record(model, at("cfast", i, 60, 1));
      record(model, at("cslow", i, 480, 1));
    }
    // The isolate gets busy: every first token arrives ~250 ms later, while the fast miner carries 20.
    for (let i = 10; i < 60; i++) {
      record(model, at("cfast", i, 310 + (i % 3), 20));
      if (i % 5 === 0) record(model, at("cslow", i, 730 + (i % 3), 1));
    }
    const fast = statsOf(model, "cfast", T0 + 100);
    expect(loadModel(fast.loadTtft).capacity).toBeNull();
    expect(loadFactor(fast, 20, "balanced")).toBeGreaterThan(0.9);
    // Net of the shared delay, the fast miner is still ~8x faster to start.
    expect(statsOf(model, "cslow", T0 + 100).ttftMs! / fast.ttftMs!).toBeGreaterThan(5);
  });

  it("still sees a miner that saturates while its peer does not", () => {
    const model = "unit/saturation";
    for (let i = 0; i < 10; i++) {
      record(model, at("sat", i, 60, 1));
      record(model, at("peer", i, 180, 1));
    }
    for (let i = 10; i < 60; i++) {
      record(model, at("sat", i, 240 + (i % 3), 8)); // queues: 4x its unloaded TTFT at 8 in flight
      if (i % 2 === 0) record(model, at("peer", i, 185 + (i % 3), 2));
    }
    const sat = statsOf(model, "sat", T0 + 100);
    expect(loadModel(sat.loadTtft).capacity).not.toBeNull();
    expect(loadFactor(sat, 7, "latency")).toBeLessThan(0.2);
  });

  it("keeps >= 75% of first picks on a fast miner with 8 in flight beside an 8x slower and a 30%-failing one", () => {
    const model = "unit/load";
    for (let i = 0; i < 40; i++) {
      record(model, at("lfast", i, 20, 1 + (i % 8)));
      record(model, at("lslow", i, 160, 1));
      record(model, [1, 4, 7].includes(i % 10) ? failure("lflaky", T0 + i) : at("lflaky", i, 20, 1));
    }
    for (let i = 0; i < 8; i++) trackInflight("lfast", 1);
    try {
      const miners = [miner("lfast"), miner("lslow"), miner("lflaky")];
      const random = mulberry32(5);
      const firsts: Record<string, number> = { lfast: 0, lslow: 0, lflaky: 0 };
      for (let i = 0; i < 2000; i++) firsts[rankCandidates(miners, { model, maxAttempts: 3, now: T0 + 100, random })[0]!.hotkey]!++;
      expect(firsts.lfast! / 2000).toBeGreaterThanOrEqual(0.75);
      expect(firsts.lflaky! / 2000).toBeLessThanOrEqual(0.1);
    } finally {
      for (let i = 0; i < 8; i++) trackInflight("lfast", -1);
    }
  });
});
