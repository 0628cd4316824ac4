/** The object's side of grants as pure logic, on a clock the test controls. */
import { describe, expect, it } from "vitest";
import { CHARGE_GRACE_MS, CHARGES_BOOK, ESCROW_BOOK, LimitsState, type ExchangeInput, type ExchangeOutcome, type GrantSlice } from "../../src/billing/limits-state";
import type { SubscriberProfile } from "../../src/billing/profile";

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const PERIOD = { start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) };
const RULE = { fraction: 0.1 };
const TTL = 5_000;

function profile(plan: Partial<SubscriberProfile["plan"]> = {}): SubscriberProfile {
  return {
    subscriberId: "sub_unit",
    plan: { id: "p", name: "P", allowanceMicroUsd: 1_000_000, requestsPerMinute: 1_000, tokensPerMinute: 1_000_000, concurrentRequests: 1_000, models: null, ...plan },
    planSource: "subscriber",
    period: PERIOD,
    creditGrantedMicroUsd: 0,
    // cost = prompt + 2 * completion micro-USD
    prices: [{ model: "*", inputMicroUsdPerMtok: 1_000_000, outputMicroUsdPerMtok: 2_000_000, cachedInputMicroUsdPerMtok: 500_000 }],
  };
}

let n = 0;
const request = () => ({ requestId: `req_${++n}`, model: "m", promptTokens: 10, maxOutputTokens: 10, choices: 1, leaseTtlMs: 60_000 });

function msg(bookId: string, over: Partial<ExchangeInput> = {}): ExchangeInput {
  return { bookId, ttlMs: TTL, version: null, batches: [], holding: { concurrency: 0, microUsd: 0 }, slices: [], admit: null, refill: false, ...over };
}

function sliceOf(o: ExchangeOutcome): GrantSlice {
  if (!o.slice) throw new Error(`no slice: ${JSON.stringify(o.admission)}`);
  return o.slice;
}

describe("LimitsState grants", () => {
  it("never grants more than the plan has left: slices and leases together stay within every limit", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 100, concurrentRequests: 50, tokensPerMinute: 10_000, allowanceMicroUsd: 5_000 });
    const slices: GrantSlice[] = [];
    for (let b = 0; b < 30; b++) {
      const o = s.exchange(T0, p, msg(`book${b}`, { refill: true }), RULE);
      if (o.slice) slices.push(o.slice);
    }
    const sum = (k: keyof Omit<GrantSlice, "id" | "expiresAt">) => slices.reduce((t, sl) => t + sl[k], 0);
    expect(sum("requests")).toBeLessThanOrEqual(100);
    expect(sum("concurrency")).toBeLessThanOrEqual(50);
    expect(sum("tokens")).toBeLessThanOrEqual(10_000);
    expect(sum("microUsd")).toBeLessThanOrEqual(5_000);
    // One share each (a tenth of every limit) until the plan runs out, after 10 books.
    expect(slices).toHaveLength(10);
    expect(slices[0]).toMatchObject({ requests: 10, concurrency: 5, tokens: 1_000, microUsd: 500 });
    const st = s.status(T0, p);
    expect(st.concurrency.inFlight).toBe(sum("concurrency"));
    expect(st.requests.remaining).toBe(100 - sum("requests"));
    // What is granted is not available to anyone else, exact requests included.
    const exact = s.reserve(T0, p, request());
    expect(exact.ok).toBe(false);
  });

  it("admits a request inside a fresh slice; unused units come back, used ones stay in the window", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 100 });
    const first = s.exchange(T0, p, msg("a", { admit: request() }), RULE);
    expect(first.admission).toMatchObject({ ok: true, via: "grant" });
    const slice = sliceOf(first);
    // The request itself (1 request, 20 tokens, 1 slot, 30 micro-USD) plus one share.
    expect(slice).toMatchObject({ requests: 11, tokens: 20 + 100_000, concurrency: 101, microUsd: 30 + 100_000, expiresAt: T0 + TTL });
    expect(first.status.requests.remaining).toBe(89);
    // The book used 3 requests and 60 tokens and gives back the rest; one request still runs.
    const back = s.exchange(T0 + 1_000, p, msg("a", { slices: [{ id: slice.id, requests: 8, tokens: slice.tokens - 60, keep: false }], holding: { concurrency: 1, microUsd: 30 } }), RULE);
    expect(back.mustPersist).toBe(false);
    expect(back.status.requests.remaining).toBe(97);
    expect(back.status.tokens.remaining).toBe(1_000_000 - 60);
    expect(back.status.concurrency.inFlight).toBe(1);
    expect(back.status.allowance.reservedMicroUsd).toBe(30);
  });

  it("gives a plan too small to slice (free: 2 concurrent, 20 per minute) a lease per request, exactly", () => {
    const s = new LimitsState();
    const free = profile({ requestsPerMinute: 20, concurrentRequests: 2 });
    const results = Array.from({ length: 5 }, (_, i) => s.exchange(T0, free, msg(`iso${i}`, { admit: request() }), RULE));
    expect(results.map((r) => r.admission?.ok && r.admission.via)).toEqual(["lease", "lease", false, false, false]);
    expect(results.every((r) => r.slice === null)).toBe(true);
    expect(results[2]?.admission).toMatchObject({ ok: false, refusal: { kind: "concurrency", limit: 2 } });
    expect(s.exchange(T0, free, msg("iso9", { refill: true }), RULE).slice).toBeNull();
  });

  it("applies a resent settlement batch once, and refunds tokens late to a slice already closed", () => {
    const s = new LimitsState();
    const p = profile({ tokensPerMinute: 10_000 });
    const slice = sliceOf(s.exchange(T0, p, msg("a", { admit: request() }), RULE));
    // Close the slice while the request (worst case 20 tokens) still runs: 20 tokens were used.
    s.exchange(T0 + 10, p, msg("a", { slices: [{ id: slice.id, requests: slice.requests - 1, tokens: slice.tokens - 20, keep: false }], holding: { concurrency: 1, microUsd: 30 } }), RULE);
    expect(s.status(T0 + 10, p).tokens.remaining).toBe(10_000 - 20);
    const batch = { seq: 1, settled: [{ requestId: "r", costMicroUsd: 16, refund: { sliceId: slice.id, tokens: 12 } }] };
    const settled = s.exchange(T0 + 20, p, msg("a", { batches: [batch] }), RULE);
    // 16 micro-USD fit in the charge slack the grant's write armed: not written by itself.
    expect(settled.mustPersist).toBe(false);
    s.exchange(T0 + 30, p, msg("a", { batches: [batch] }), RULE);
    const st = s.status(T0 + 30, p);
    expect(st.allowance.usedMicroUsd).toBe(16);
    expect(st.tokens.remaining).toBe(10_000 - 8);
    expect(st.concurrency.inFlight).toBe(0);
    expect(st.allowance.reservedMicroUsd).toBe(0);
  });

  it("takes back whole a slice the book never received, and never lets a book claim more than it got", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 100 });
    const lost = sliceOf(s.exchange(T0, p, msg("a", { refill: true }), RULE));
    expect(s.status(T0, p).requests.remaining).toBe(100 - lost.requests);
    s.exchange(T0 + 5, p, msg("a", { holding: { concurrency: 10_000, microUsd: 10_000_000 } }), RULE);
    const st = s.status(T0 + 5, p);
    expect(st.requests.remaining).toBe(100);
    expect(st.concurrency.inFlight).toBe(lost.concurrency);
    expect(st.allowance.reservedMicroUsd).toBe(lost.microUsd);
  });

  it("expires a book nobody renews: its slots and money come back, its slices stay counted until they slide out", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 100 });
    const slice = sliceOf(s.exchange(T0, p, msg("gone", { refill: true }), RULE));
    expect(s.openBooks().map((b) => b.expiresAt)).toEqual([T0 + TTL]);
    expect(s.expireBooks(T0 + TTL - 1)).toEqual([]);
    expect(s.expireBooks(T0 + TTL).map((b) => b.id)).toEqual(["gone"]);
    const st = s.status(T0 + TTL, p);
    expect(st.concurrency.inFlight).toBe(0);
    expect(st.allowance.reservedMicroUsd).toBe(0);
    expect(st.requests.remaining).toBe(100 - slice.requests);
    // Counted in the bucket of its expiry: a minute after that it has left the window.
    expect(s.status(T0 + TTL + 60_000, p).requests.remaining).toBe(100);
  });

  it("writes one snapshot for a grant, nothing for a renewal alone, a give-back with a small charge or a refusal", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 100, concurrentRequests: 100 });
    const written = () => Object.keys(s.takeChanges().put).length;
    const first = s.exchange(T0, p, msg("a", { admit: request() }), RULE);
    const slice = sliceOf(first);
    expect(first.mustPersist).toBe(true);
    expect(written()).toBe(1);
    const holding = { concurrency: slice.concurrency, microUsd: slice.microUsd };
    const kept = [{ id: slice.id, requests: slice.requests - 1, tokens: slice.tokens - 20, keep: true }];
    // keepAlive while a request runs: only the book's expiry moves.
    const renewal = s.exchange(T0 + 2_000, p, msg("a", { holding, slices: kept }), RULE);
    expect(renewal.mustPersist).toBe(false);
    expect(written()).toBe(0);
    expect(s.openBooks()[0]?.expiresAt).toBe(T0 + 2_000 + TTL);
    // The idle give-back with the request's charge: the slice closes, the money is charged, and
    // within the charge slack nothing must be written (the change rides with the next write).
    const settled = [{ requestId: "req_x", costMicroUsd: 30, refund: null }];
    const back = s.exchange(T0 + 3_000, p, msg("a", { batches: [{ seq: 1, settled }], slices: kept.map((k) => ({ ...k, keep: false })) }), RULE);
    expect(back.mustPersist).toBe(false);
    expect(written()).toBe(1);
    expect(s.periodCost(p)).toBe(30);
    // A refusal changes nothing either.
    const other = profile({ requestsPerMinute: 100, concurrentRequests: 100, models: ["other"] });
    expect(s.exchange(T0 + 3_100, other, msg("a", { admit: request() }), RULE).admission).toEqual({ ok: false, refusal: { kind: "model" } });
    expect(written()).toBe(0);
  });

  it("grants from the escrow without a write; a restart holds the whole escrow, so nothing is granted twice", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 100, concurrentRequests: 100, tokensPerMinute: 100_000, allowanceMicroUsd: 1_000_000 });
    const storage = new Map<string, unknown>();
    let writtenAt = 0;
    const flush = (now: number) => {
      const { put } = s.takeChanges(now);
      for (const [k, v] of Object.entries(put)) storage.set(k, structuredClone(v));
      writtenAt = now;
    };
    // The first grant has no escrow to come from: it writes, and its write arms one (room for one
    // slice with a request: 11 requests, 15,000 tokens, 11 slots, 150,000 micro-USD).
    const first = s.exchange(T0, p, msg("a", { admit: request() }), RULE);
    expect(first.mustPersist).toBe(true);
    flush(T0);
    // Another isolate's first request comes from the escrow: no write.
    const b = s.exchange(T0 + 1_000, p, msg("b", { admit: request() }), RULE);
    expect(sliceOf(b).requests).toBe(11);
    expect(b.mustPersist).toBe(false);
    // The escrow is used up: the next grant writes (b's grant with it) and arms a fresh one.
    const c = s.exchange(T0 + 1_500, p, msg("c", { refill: true }), RULE);
    expect(c.mustPersist).toBe(true);
    flush(T0 + 1_500);
    const d = s.exchange(T0 + 1_700, p, msg("d", { refill: true }), RULE);
    expect(d.mustPersist).toBe(false);

    // A restart loses d's grant (never written): the restored object holds the whole escrow instead.
    const at = T0 + 2_000;
    const live = s.status(at, p);
    const copy = LimitsState.restore(storage, at);
    const restored = copy.status(at, p);
    expect(restored.requests.remaining).toBeLessThanOrEqual(live.requests.remaining);
    expect(restored.tokens.remaining).toBeLessThanOrEqual(live.tokens.remaining);
    expect(restored.concurrency.inFlight).toBeGreaterThanOrEqual(live.concurrency.inFlight);
    expect(restored.allowance.reservedMicroUsd).toBeGreaterThanOrEqual(live.allowance.reservedMicroUsd);
    const end = T0 + 1_500 + 12 * TTL;
    // (and the charge slack the last write armed, a quarter of a slice's money: see the charge tests)
    expect(copy.openBooks().map((bk) => bk.id)).toEqual(["a", "b", "c", `${ESCROW_BOOK}${end}`, `${CHARGES_BOOK}${writtenAt}`]);
    // Everything granted before the restart plus whatever is granted after it stays within the plan.
    const granted = [first, b, c, d].reduce((t, o) => t + sliceOf(o).requests, 0);
    let after = 0;
    for (let i = 0; i < 30; i++) after += copy.exchange(at, p, msg(`late${i}`, { refill: true }), RULE).slice?.requests ?? 0;
    expect(granted + after).toBeLessThanOrEqual(100);
    expect(granted + after).toBeGreaterThanOrEqual(100 - 11);
    // The placeholder lets go of its slots and money when the escrow ends.
    expect(copy.expireBooks(end).map((bk) => bk.id)).toContain(`${ESCROW_BOOK}${end}`);
  });

  it("takes back into the escrow what comes back unused: a subscriber seen every few seconds spends one request of it per request", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 100, concurrentRequests: 100, tokensPerMinute: 100_000 });
    const writes: number[] = [];
    const step = (at: number, book: string) => {
      // A sparse subscriber's request in a cold isolate: a slice with the request, then the idle
      // give-back with everything unused (one request and 20 tokens used) and its charge.
      const granted = s.exchange(at, p, msg(book, { admit: request() }), RULE);
      const sl = sliceOf(granted);
      const back = s.exchange(at + 1_000, p, msg(book, { batches: [{ seq: 1, settled: [{ requestId: `r${at}`, costMicroUsd: 30, refund: null }] }], slices: [{ id: sl.id, requests: sl.requests - 1, tokens: sl.tokens - 20, keep: false }] }), RULE);
      if (granted.mustPersist) writes.push(at);
      expect(back.mustPersist).toBe(false);
    };
    // One request every 4 s for a minute, each from a fresh book (another isolate, or the same one gone idle).
    for (let i = 0; i < 15; i++) step(T0 + i * 4_000, `iso${i}`);
    // The first grant writes and arms an escrow of 11 requests for 12 TTLs (60 s); the next eleven
    // come from it, each taking one request (the rest of its slice comes back); the twelfth writes.
    expect(writes).toEqual([T0, T0 + 12 * 4_000]);
    // What the minute counts is what was used, and the slots and money all came back.
    const st = s.status(T0 + 57_000, p);
    expect(st.requests.remaining).toBe(100 - 15);
    expect(st.concurrency.inFlight).toBe(0);
    expect(st.allowance.reservedMicroUsd).toBe(0);
    // The same in quick succession: 11 requests of escrow, one per request; the 12th after the write writes.
    const t = new LimitsState();
    const tw: boolean[] = [];
    for (let i = 0; i < 13; i++) {
      const g = t.exchange(T0 + i * 100, p, msg(`b${i}`, { admit: request() }), RULE);
      tw.push(g.mustPersist);
      const sl = sliceOf(g);
      t.exchange(T0 + i * 100 + 50, p, msg(`b${i}`, { slices: [{ id: sl.id, requests: sl.requests - 1, tokens: sl.tokens - 20, keep: false }] }), RULE);
    }
    expect(tw.map((w, i) => (w ? i : -1)).filter((i) => i >= 0)).toEqual([0, 12]);
  });

  it("near a limit the escrow shrinks to a third of what is left, and with less than a request of room there is none", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 100, concurrentRequests: 100 });
    const storage = new Map<string, unknown>();
    // 70 of the 100 requests granted: 30 left, so the escrow holds 10 requests, not 11.
    for (let i = 0; i < 7; i++) s.exchange(T0, p, msg(`used${i}`, { refill: true }), RULE);
    for (const [k, v] of Object.entries(s.takeChanges(T0).put)) storage.set(k, structuredClone(v));
    const restored = LimitsState.restore(storage, T0 + 1);
    expect(restored.openBooks().find((b) => b.id.startsWith(ESCROW_BOOK))?.slices[0]?.requests).toBe(10);
    // A grant with a request comes from it, cut to what it holds; a refill that does not fit is written.
    const near = s.exchange(T0 + 1, p, msg("near", { admit: request() }), RULE);
    expect(near.mustPersist).toBe(false);
    expect(sliceOf(near).requests).toBe(10);
    expect(s.exchange(T0 + 2, p, msg("refill", { refill: true }), RULE).mustPersist).toBe(true);
    // 90 of 92 used: a write then (here a charge past the slack) arms no escrow, a third of 2
    // being less than one request, so the next grant is written.
    const t = new LimitsState();
    const p92 = profile({ requestsPerMinute: 92, concurrentRequests: 1_000, allowanceMicroUsd: 100_000_000 });
    for (let i = 0; i < 90; i++) {
      const r = t.reserve(T0, p92, request());
      if (r.ok) t.settle(T0, p92, r.leaseId, 20, 30);
    }
    expect(t.status(T0, p92).requests.remaining).toBe(2);
    // (the slack is a quarter of a share of money: 2,500,000 of this plan's 100,000,000)
    const charged = t.exchange(T0 + 1, p92, msg("payer", { batches: [{ seq: 1, settled: [{ requestId: "big", costMicroUsd: 3_000_000, refund: null }] }] }), RULE);
    expect(charged.mustPersist).toBe(true);
    const last = t.exchange(T0 + 2, p92, msg("last", { admit: request() }), RULE);
    expect(last.admission).toMatchObject({ ok: true, via: "grant" });
    expect(last.mustPersist).toBe(true);
  });

  it("does not grant from an escrow past its end, nor arm one for a plan too small to slice", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 100, concurrentRequests: 100 });
    expect(s.exchange(T0, p, msg("a", { refill: true }), RULE).mustPersist).toBe(true);
    const b = s.exchange(T0 + 2 * TTL, p, msg("b", { refill: true }), RULE);
    expect(b.mustPersist).toBe(false);
    // b gives its slice back unused: the escrow has room for a whole slice again...
    s.exchange(T0 + 2 * TTL + 1, p, msg("b", { slices: [{ id: sliceOf(b).id, requests: sliceOf(b).requests, tokens: sliceOf(b).tokens, keep: false }] }), RULE);
    expect(s.exchange(T0 + 10 * TTL, p, msg("c", { refill: true }), RULE).mustPersist).toBe(false);
    // ...but a slice granted now would outlive the escrow (armed at T0 for 12 TTLs): written.
    expect(s.exchange(T0 + 11 * TTL + 1, p, msg("d", { refill: true }), RULE).mustPersist).toBe(true);

    const small = new LimitsState();
    const free = profile({ requestsPerMinute: 20, concurrentRequests: 2 });
    const lease = small.exchange(T0, free, msg("f", { admit: request() }), RULE);
    expect(lease.admission).toMatchObject({ ok: true, via: "lease" });
    expect(lease.mustPersist).toBe(true);
    expect(small.exchange(T0 + 1, free, msg("f", { admit: request() }), RULE).mustPersist).toBe(true);
    const restored = LimitsState.restore(new Map(Object.entries(small.takeChanges().put)), T0 + 2);
    expect(restored.openBooks().map((bk) => bk.id)).toEqual(["f"]);
  });

  it("restores books from storage and gives each one more TTL (renewals are not awaited to disk)", () => {
    const s = new LimitsState();
    const p = profile({ requestsPerMinute: 100, concurrentRequests: 100 });
    const storage = new Map<string, unknown>();
    const flush = () => {
      const { put, del } = s.takeChanges(T0);
      for (const [k, v] of Object.entries(put)) storage.set(k, structuredClone(v));
      for (const k of del) storage.delete(k);
    };
    const slice = sliceOf(s.exchange(T0, p, msg("a", { admit: request() }), RULE));
    flush();
    const restartedAt = T0 + 4_000;
    const copy = LimitsState.restore(storage, restartedAt);
    // The book, and the escrow its grant's write armed (11 requests and slots), held whole.
    const live = s.status(restartedAt, p);
    const restored = copy.status(restartedAt, p);
    expect(restored.requests.remaining).toBe(live.requests.remaining - 11);
    expect(restored.concurrency.inFlight).toBe(slice.concurrency + 11);
    expect(copy.expireBooks(T0 + TTL)).toEqual([]);
    expect(copy.openBooks().map((b) => [b.id, b.expiresAt])).toEqual([
      ["a", restartedAt + TTL],
      [`${ESCROW_BOOK}${T0 + 12 * TTL}`, T0 + 12 * TTL],
      // The charge slack: held until metering may be read (its "expiry" is when it may be lifted).
      [`${CHARGES_BOOK}${T0}`, restartedAt + CHARGE_GRACE_MS],
    ]);
    // Nothing granted before the restart can be granted again after it.
    const again = copy.exchange(restartedAt, p, msg("b", { refill: true }), RULE);
    expect((again.slice?.requests ?? 0) + slice.requests).toBeLessThanOrEqual(100);
    expect((again.slice?.concurrency ?? 0) + slice.concurrency).toBeLessThanOrEqual(100);
  });
  describe("the charge slack", () => {
    // allowance 1,000,000: one share of money is 100,000, the slack a quarter of it.
    const SLACK = 25_000;
    const p = profile({ requestsPerMinute: 1_000, concurrentRequests: 1_000, allowanceMicroUsd: 1_000_000 });
    const charges = (seq: number, ...costs: number[]) => ({ seq, settled: costs.map((c, i) => ({ requestId: `c${seq}_${i}`, costMicroUsd: c, refund: null })) });

    function withStorage(s: () => LimitsState) {
      const storage = new Map<string, unknown>();
      return {
        storage,
        flush(now: number) {
          const { put } = s().takeChanges(now);
          for (const [k, v] of Object.entries(put)) storage.set(k, structuredClone(v));
        },
      };
    }

    it("lets charges within the slack ride with the next write; the charge that passes it writes", () => {
      const s = new LimitsState();
      const store = withStorage(() => s);
      expect(s.exchange(T0, p, msg("a", { admit: request() }), RULE).mustPersist).toBe(true);
      store.flush(T0);
      expect(s.exchange(T0 + 100, p, msg("a", { batches: [charges(1, 10_000, 10_000)] }), RULE).mustPersist).toBe(false);
      expect(s.exchange(T0 + 200, p, msg("a", { batches: [charges(2, SLACK - 20_000)] }), RULE).mustPersist).toBe(false);
      // One micro-USD past the slack: this call writes, and its write arms a fresh slack.
      expect(s.exchange(T0 + 300, p, msg("a", { batches: [charges(3, 1)] }), RULE).mustPersist).toBe(true);
      store.flush(T0 + 300);
      expect(s.exchange(T0 + 400, p, msg("a", { batches: [charges(4, SLACK)] }), RULE).mustPersist).toBe(false);
      expect(s.periodCost(p)).toBe(2 * SLACK + 1);
    });

    it("is zero near the money limit (every charge writes) and for a plan too small to slice", () => {
      const s = new LimitsState();
      // 930,000 of 1,000,000 spent: 70,000 left, under three slacks (75,000).
      s.exchange(T0, p, msg("a", { admit: request() }), RULE);
      expect(s.exchange(T0 + 1, p, msg("a", { batches: [charges(1, 930_000)] }), RULE).mustPersist).toBe(true);
      expect(s.exchange(T0 + 2, p, msg("a", { batches: [charges(2, 1)] }), RULE).mustPersist).toBe(true);

      const small = new LimitsState();
      const free = profile({ requestsPerMinute: 20, concurrentRequests: 2 });
      small.exchange(T0, free, msg("f", { admit: request() }), RULE);
      expect(small.exchange(T0 + 1, free, msg("f", { batches: [charges(1, 1)] }), RULE).mustPersist).toBe(true);
    });

    it("after a restart holds the slack as spent, then takes the metered spend and lets the placeholder go", () => {
      const s = new LimitsState();
      const store = withStorage(() => s);
      s.exchange(T0, p, msg("a", { admit: request() }), RULE);
      store.flush(T0);
      // 20,000 charged after the write and never written: a restart forgets them...
      s.exchange(T0 + 100, p, msg("a", { batches: [charges(1, 12_000, 8_000)] }), RULE);
      const at = T0 + 1_000;
      const copy = LimitsState.restore(store.storage, at);
      expect(copy.periodCost(p)).toBe(0);
      // ...but holds the whole slack in their place: what is left is never more than before.
      expect(copy.status(at, p).allowance.remainingMicroUsd).toBeLessThanOrEqual(s.status(at, p).allowance.remainingMicroUsd);
      expect(copy.openBooks().find((b) => b.id === `${CHARGES_BOOK}${T0}`)?.microUsd).toBe(SLACK);
      // Restoring the same snapshot again makes no second placeholder, and time alone ends none.
      expect(LimitsState.restore(store.storage, at + 5).openBooks().filter((b) => b.id.startsWith(CHARGES_BOOK))).toHaveLength(1);
      expect(copy.expireBooks(at + 10 * CHARGE_GRACE_MS).map((b) => b.id)).not.toContain(`${CHARGES_BOOK}${T0}`);

      // Metering is read only once the grace has passed since the restore.
      expect(copy.wantsMetering(at + CHARGE_GRACE_MS - 1)).toBe(false);
      expect(copy.wantsMetering(at + CHARGE_GRACE_MS)).toBe(true);
      // Metering recorded the 20,000 (and 500 more charged since): the count rises to it, the placeholder goes.
      const later = at + CHARGE_GRACE_MS;
      expect(copy.liftFromMetering(later, p, 20_500)).toBe(20_500);
      expect(copy.periodCost(p)).toBe(20_500);
      expect(copy.openBooks().some((b) => b.id.startsWith(CHARGES_BOOK))).toBe(false);
      expect(copy.wantsMetering(later)).toBe(false);
      expect(copy.status(later, p).allowance.reservedMicroUsd).toBe(copy.openBooks().reduce((t, b) => t + b.microUsd, 0));
      // A metered figure below the object's own count changes nothing (both are lower bounds).
      expect(copy.liftFromMetering(later + 1, p, 100)).toBe(0);
      expect(copy.periodCost(p)).toBe(20_500);
    });

    it("keeps a placeholder through further restarts until it is lifted, one per write that armed a slack", () => {
      let s = new LimitsState();
      const store = withStorage(() => s);
      s.exchange(T0, p, msg("a", { admit: request() }), RULE);
      store.flush(T0);
      s = LimitsState.restore(store.storage, T0 + 1_000);
      // The restored object's first grant writes (it has no escrow): the placeholder is in that write.
      s.exchange(T0 + 1_000, p, msg("b", { admit: request() }), RULE);
      store.flush(T0 + 1_000);
      s = LimitsState.restore(store.storage, T0 + 2_000);
      const placeholders = s.openBooks().filter((b) => b.id.startsWith(CHARGES_BOOK));
      expect(placeholders.map((b) => [b.id, b.expiresAt])).toEqual([
        [`${CHARGES_BOOK}${T0}`, T0 + 1_000 + CHARGE_GRACE_MS],
        [`${CHARGES_BOOK}${T0 + 1_000}`, T0 + 2_000 + CHARGE_GRACE_MS],
      ]);
      // A lift lets go only of the placeholders whose grace has passed.
      s.liftFromMetering(T0 + 1_000 + CHARGE_GRACE_MS, p, 0);
      expect(s.openBooks().filter((b) => b.id.startsWith(CHARGES_BOOK)).map((b) => b.id)).toEqual([`${CHARGES_BOOK}${T0 + 1_000}`]);
    });
  });
});
