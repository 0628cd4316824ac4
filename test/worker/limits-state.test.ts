/** The limiter's decisions as pure logic, on a clock the test controls. */
import { describe, expect, it } from "vitest";
import { DEFAULT_OUTPUT_RESERVE, LimitsState, type ReserveInput, type ReserveResult } from "../../src/billing/limits-state";
import type { SubscriberProfile } from "../../src/billing/profile";

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const PERIOD = { start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) };

function profile(plan: Partial<SubscriberProfile["plan"]> = {}, over: Partial<SubscriberProfile> = {}): SubscriberProfile {
  return {
    subscriberId: "sub_unit",
    plan: { id: "p", name: "P", allowanceMicroUsd: 1_000_000, requestsPerMinute: 1_000, tokensPerMinute: 1_000_000, concurrentRequests: 1_000, models: null, ...plan },
    planSource: "subscriber",
    period: PERIOD,
    creditGrantedMicroUsd: 0,
    // $1 per million input tokens, $2 per million output: cost = prompt + 2 * completion micro-USD.
    prices: [{ model: "*", inputMicroUsdPerMtok: 1_000_000, outputMicroUsdPerMtok: 2_000_000, cachedInputMicroUsdPerMtok: 500_000 }],
    ...over,
  };
}

let n = 0;
const input = (over: Partial<ReserveInput> = {}): ReserveInput => ({
  requestId: `req_${++n}`,
  model: "m",
  promptTokens: 10,
  maxOutputTokens: 10,
  choices: 1,
  leaseTtlMs: 60_000,
  ...over,
});

function admitted(r: ReserveResult): string {
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r.refusal)}`);
  return r.leaseId;
}

describe("LimitsState", () => {
  it("admits exactly k of N requests against a concurrency limit of k, and frees slots as they settle", () => {
    const s = new LimitsState();
    const p = profile({ concurrentRequests: 5 });
    const results = Array.from({ length: 50 }, () => s.reserve(T0, p, input()));
    const ok = results.filter((r) => r.ok);
    expect(ok).toHaveLength(5);
    for (const r of results.filter((r) => !r.ok)) expect(r.ok || r.refusal).toEqual({ kind: "concurrency", limit: 5, retryAfterMs: 1_000 });
    for (const r of ok) if (r.ok) s.settle(T0 + 10, p, r.leaseId, 20, 30);
    expect(s.status(T0 + 10, p).concurrency.inFlight).toBe(0);
    expect(s.reserve(T0 + 20, p, input()).ok).toBe(true);
  });

  it("slides a 60 s request window and says when the next slot frees", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 3 });
    admitted(s.reserve(T0, p, input()));
    admitted(s.reserve(T0 + 10_000, p, input()));
    admitted(s.reserve(T0 + 20_000, p, input()));
    const refused = s.reserve(T0 + 30_000, p, input());
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.refusal).toEqual({ kind: "requests", limit: 3, retryAfterMs: 30_000 });
      expect(refused.status.requests).toEqual({ limit: 3, remaining: 0, resetMs: 50_000 });
    }
    // The first request leaves the window 60 s after its second began.
    expect(s.reserve(T0 + 59_999, p, input()).ok).toBe(false);
    expect(s.reserve(T0 + 60_000, p, input()).ok).toBe(true);
  });

  it("counts the worst case of tokens until the request settles, then what was billed", () => {
    const s = new LimitsState();
    const p = profile({ tokensPerMinute: 1_000 });
    const first = admitted(s.reserve(T0, p, input({ promptTokens: 100, maxOutputTokens: 500 })));
    expect(s.status(T0, p).tokens.remaining).toBe(400);
    const refused = s.reserve(T0 + 1, p, input({ promptTokens: 100, maxOutputTokens: 500 }));
    expect(refused.ok).toBe(false);
    if (!refused.ok) expect(refused.refusal).toMatchObject({ kind: "tokens", limit: 1_000, needed: 600, retryAfterMs: 60_000 - 1 });
    s.settle(T0 + 2, p, first, 150, 0);
    expect(s.status(T0 + 2, p).tokens.remaining).toBe(850);
    expect(s.reserve(T0 + 3, p, input({ promptTokens: 100, maxOutputTokens: 500 })).ok).toBe(true);
  });

  it("reserves a default output when max_tokens is unset, never more than the plan's TPM leaves", () => {
    const s = new LimitsState();
    const roomy = profile();
    const id = admitted(s.reserve(T0, roomy, input({ maxOutputTokens: null })));
    expect(s.openLeases().find((l) => l.id === id)?.tokens).toBe(10 + DEFAULT_OUTPUT_RESERVE);
    const tight = new LimitsState();
    const small = profile({ tokensPerMinute: 1_000 });
    const id2 = admitted(tight.reserve(T0, small, input({ maxOutputTokens: null })));
    expect(tight.openLeases().find((l) => l.id === id2)?.tokens).toBe(1_000);
  });

  it("refuses a request larger than the TPM and a model outside the plan", () => {
    const s = new LimitsState();
    const p = profile({ tokensPerMinute: 100, models: ["demo/*", "other/exact"] });
    const big = s.reserve(T0, p, input({ model: "demo/x", maxOutputTokens: 200 }));
    expect(!big.ok && big.refusal).toEqual({ kind: "too_large", tokens: 210, limit: 100 });
    const outside = s.reserve(T0, p, input({ model: "other/else" }));
    expect(!outside.ok && outside.refusal).toEqual({ kind: "model" });
    expect(s.reserve(T0, p, input({ model: "other/exact" })).ok).toBe(true);
  });

  it("holds the worst-case cost of open requests, so parallel requests cannot overspend", () => {
    const s = new LimitsState();
    // Worst case per request: 10 + 2 * 10 = 30 micro-USD; 100 allows 3 at once.
    const p = profile({ allowanceMicroUsd: 100 });
    const results = Array.from({ length: 10 }, () => s.reserve(T0, p, input()));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
    const refusal = results.find((r) => !r.ok);
    expect(refusal && !refusal.ok && refusal.refusal).toEqual({ kind: "allowance", neededMicroUsd: 30, availableMicroUsd: 10, resetAt: PERIOD.end });
    for (const r of results) if (r.ok) s.settle(T0 + 1, p, r.leaseId, 15, 15);
    expect(s.status(T0 + 1, p).allowance).toMatchObject({ usedMicroUsd: 45, reservedMicroUsd: 0, remainingMicroUsd: 55 });
  });

  it("spends the allowance first, then credit, and starts each period with a fresh allowance", () => {
    const s = new LimitsState();
    const p = profile({ allowanceMicroUsd: 50 }, { creditGrantedMicroUsd: 100 });
    const a = admitted(s.reserve(T0, p, input()));
    s.settle(T0, p, a, 20, 30);
    const b = admitted(s.reserve(T0, p, input()));
    s.settle(T0, p, b, 20, 30);
    expect(s.status(T0, p).allowance).toMatchObject({ usedMicroUsd: 50, creditMicroUsd: 90, remainingMicroUsd: 90 });
    expect(s.periodCost(p)).toBe(60);
    const next = profile({ allowanceMicroUsd: 50 }, { creditGrantedMicroUsd: 100, period: { start: PERIOD.end, end: Date.UTC(2027, 0, 1) } });
    expect(s.status(PERIOD.end + 1, next).allowance).toMatchObject({ usedMicroUsd: 0, creditMicroUsd: 90, remainingMicroUsd: 140 });
    expect(s.periodCost(next)).toBe(0);
  });

  it("expires a lease nobody renews, still charges its late settlement once, and renews live ones", () => {
    const s = new LimitsState();
    const p = profile({ concurrentRequests: 2 });
    const dead = admitted(s.reserve(T0, p, input({ leaseTtlMs: 1_000 })));
    const live = admitted(s.reserve(T0, p, input({ leaseTtlMs: 1_000 })));
    expect(s.renew(T0 + 900, live, 1_000)).toBe(true);
    expect(s.openLeases().map((l) => l.expiresAt).sort((a, b) => a - b)).toEqual([T0 + 1_000, T0 + 1_900]);
    expect(s.expire(T0 + 1_000).map((l) => l.id)).toEqual([dead]);
    expect(s.status(T0 + 1_000, p).concurrency.inFlight).toBe(1);
    expect(s.renew(T0 + 1_001, dead, 1_000)).toBe(false);
    expect(s.settle(T0 + 1_100, p, dead, 20, 30)).toBe(true);
    expect(s.settle(T0 + 1_100, p, dead, 20, 30)).toBe(false);
    expect(s.status(T0 + 1_100, p).allowance.usedMicroUsd).toBe(30);
  });

  it("restores exactly what it wrote", () => {
    const s = new LimitsState();
    const p = profile({ concurrentRequests: 3 });
    const storage = new Map<string, unknown>();
    const flush = () => {
      const { put, del } = s.takeChanges();
      for (const [k, v] of Object.entries(put)) storage.set(k, structuredClone(v));
      for (const k of del) storage.delete(k);
    };
    const a = admitted(s.reserve(T0, p, input()));
    admitted(s.reserve(T0 + 1_500, p, input()));
    s.settle(T0 + 2_000, p, a, 25, 40);
    flush();
    const copy = LimitsState.restore(storage);
    expect(copy.status(T0 + 2_000, p)).toEqual(s.status(T0 + 2_000, p));
    // Everything is one row; buckets that slid out of the window are gone from it.
    s.reserve(T0 + 120_000, p, input());
    flush();
    expect([...storage.keys()]).toEqual(["state"]);
    expect((storage.get("state") as { buckets: [number, unknown][] }).buckets.map(([b]) => b)).toEqual([Math.floor((T0 + 120_000) / 1000)]);
    // A call that changes nothing writes nothing.
    s.status(T0 + 120_000, p);
    expect(s.takeChanges()).toEqual({ put: {}, del: [] });
  });

  it("reads the earlier one-key-per-entry layout once and rewrites it as one row", () => {
    const p = profile({ concurrentRequests: 3 });
    const lease = { id: "l1", requestId: "r1", tokens: 100, costMicroUsd: 7, bucket: Math.floor(T0 / 1000), expiresAt: T0 + 60_000 };
    const legacy = new Map<string, unknown>([
      ["counters", { periodStart: PERIOD.start, allowanceUsedMicroUsd: 40, periodCostMicroUsd: 40, creditUsedMicroUsd: 0 }],
      [`b:${lease.bucket}`, { requests: 1, tokens: 100 }],
      ["l:l1", lease],
    ]);
    const s = LimitsState.restore(legacy);
    const status = s.status(T0, p);
    expect(status.concurrency.inFlight).toBe(1);
    expect(status.requests.remaining).toBe(status.requests.limit - 1);
    expect(status.allowance.usedMicroUsd).toBe(40);
    const { put, del } = s.takeChanges();
    expect(Object.keys(put)).toEqual(["state"]);
    expect(del.sort()).toEqual([`b:${lease.bucket}`, "counters", "l:l1"].sort());
    expect(LimitsState.restore(new Map(Object.entries(put))).status(T0, p)).toEqual(status);
  });
});
