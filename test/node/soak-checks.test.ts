// The soak's checks can fail: each is fed a run in which its invariant was broken and must say so
// (soak/lib/accounting.ts, limits.ts, verdicts.ts). A check that cannot fail would be a defect.
import { describe, expect, it } from "vitest";
import type { UsageEvent } from "../../src/billing/usage-event";
import { reconcile, type Archive, type D1View } from "../../soak/lib/accounting";
import type { ClientRecord } from "../../soak/lib/client";
import { StreamReader } from "../../soak/lib/dialects";
import { concurrencyChecks, rpmCheck } from "../../soak/lib/limits";
import type { WaveResult } from "../../soak/lib/probes";
import type { Subscriber } from "../../soak/lib/subscribers";
import { classify } from "../../soak/lib/verdicts";

const SUB = "sub_a";

function rec(over: Partial<ClientRecord>): ClientRecord {
  return {
    seq: 1,
    phase: "traffic",
    subscriberId: SUB,
    plan: "pro",
    dialect: "chat",
    model: "demo/tiny-chat",
    stream: false,
    maxTokens: 16,
    abort: "none",
    sentAt: 0,
    headersAt: 10,
    endAt: 20,
    status: 200,
    requestId: "req_1",
    errorCode: null,
    outcome: "complete",
    detail: null,
    miner: null,
    text: null,
    ...over,
  };
}

function ev(requestId: string, over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    requestId,
    kind: "subscriber",
    subscriberId: SUB,
    apiKeyId: "k",
    endpoint: "chat.completions",
    model: "demo/tiny-chat",
    minerHotkey: "m",
    status: "ok",
    httpStatus: 200,
    errorCode: null,
    streamed: false,
    attempts: 1,
    promptTokensReported: 1,
    completionTokensReported: 1,
    promptTokensCounted: 1,
    completionTokensCounted: 1,
    ttftMs: 1,
    durationMs: 1,
    createdAt: 0,
    ...over,
  };
}

const archiveOf = (...ids: string[]): Archive => ({ objects: ids.length, events: ids.map((id) => ({ event: ev(id), batchId: `ub_${id}` })) });
const d1Of = (rollup: number, recent: string[], ledgerEvents: number): D1View => ({ rollup: new Map([[SUB, rollup]]), recent: new Map([[SUB, recent]]), ledger: { batches: ledgerEvents, events: ledgerEvents } });

describe("usage accounting", () => {
  const records = [rec({ requestId: "req_1" }), rec({ requestId: "req_2" }), rec({ requestId: "req_3", status: 429, outcome: "error_status", errorCode: "rate_limit_exceeded" })];

  it("finds nothing wrong when every store has each metered request once", () => {
    const a = reconcile(records, archiveOf("req_1", "req_2"), d1Of(2, ["req_1", "req_2"], 2), [SUB], 200);
    expect([a.lost.total, a.doubled.total, a.phantom, a.meteredRefusals.total]).toEqual([0, 0, 0, 0]);
    expect(a.recentListChecked).toBe(2);
  });

  it("counts an answered request missing from the archive, the rollups or the recent list as lost", () => {
    expect(reconcile(records, archiveOf("req_1"), d1Of(1, ["req_1"], 1), [SUB], 200).lost.notInArchive).toBe(1);
    expect(reconcile(records, archiveOf("req_1", "req_2"), d1Of(1, ["req_1", "req_2"], 2), [SUB], 200).lost.rollupBelowArchive).toBe(1);
    expect(reconcile(records, archiveOf("req_1", "req_2"), d1Of(2, ["req_1"], 2), [SUB], 200).lost.notInRecentList).toBe(1);
    expect(reconcile(records, archiveOf("req_1", "req_2"), d1Of(2, ["req_1", "req_2"], 1), [SUB], 200).lost.ledgerBelowArchive).toBe(1);
  });

  it("counts a request twice in any store as doubled", () => {
    expect(reconcile(records, archiveOf("req_1", "req_2", "req_2"), d1Of(2, ["req_1", "req_2"], 3), [SUB], 200).doubled.inArchiveTwice).toBe(1);
    expect(reconcile(records, archiveOf("req_1", "req_2"), d1Of(3, ["req_1", "req_2"], 2), [SUB], 200).doubled.rollupAboveArchive).toBe(1);
    expect(reconcile(records, archiveOf("req_1", "req_2"), d1Of(2, ["req_1", "req_2", "req_2"], 2), [SUB], 200).doubled.inRecentListTwice).toBe(1);
  });

  it("flags a metered refusal, and events no request explains", () => {
    expect(reconcile(records, archiveOf("req_1", "req_2", "req_3"), d1Of(3, ["req_1", "req_2", "req_3"], 3), [SUB], 200).meteredRefusals.total).toBe(1);
    expect(reconcile(records, archiveOf("req_1", "req_2", "req_x"), d1Of(3, ["req_1", "req_2", "req_x"], 3), [SUB], 200).phantom).toBe(1);
    // A request aborted before its id came back explains one unnamed event, not two.
    const aborted = [...records, rec({ requestId: null, status: null, headersAt: null, outcome: "aborted_before_headers" })];
    const one = reconcile(aborted, archiveOf("req_1", "req_2", "req_x"), d1Of(3, ["req_1", "req_2", "req_x"], 3), [SUB], 200);
    expect([one.phantom, one.eventsOfRequestsWithoutId]).toEqual([0, 1]);
    expect(reconcile(aborted, archiveOf("req_1", "req_2", "req_x", "req_y"), d1Of(4, ["req_1", "req_2", "req_x", "req_y"], 4), [SUB], 200).phantom).toBe(1);
  });
});

describe("limits as the client saw them", () => {
  const sub: Subscriber = { id: SUB, plan: { id: "free", requestsPerMinute: 2, concurrentRequests: 2, allowanceMicroUsd: 0 }, keys: ["k"] };

  it("places 200s inside a one-minute window only when their admission must have been inside it", () => {
    const t0 = 1_000_000;
    const ok = (sentAt: number, headersAt: number) => rec({ sentAt, headersAt });
    // Three answered within one minute: more than the plan's 2 rpm.
    expect(rpmCheck(sub, [ok(t0, t0 + 5), ok(t0 + 1_000, t0 + 1_005), ok(t0 + 30_000, t0 + 30_005)]).maxInWindow).toBe(3);
    // The third came 60 s after the first was sent: they need not share a window.
    expect(rpmCheck(sub, [ok(t0, t0 + 5), ok(t0 + 30_000, t0 + 30_005), ok(t0 + 60_000, t0 + 60_005)]).maxInWindow).toBe(2);
    // A slow answer cannot be placed in the window it was sent in.
    expect(rpmCheck(sub, [ok(t0, t0 + 5), ok(t0 + 1_000, t0 + 61_000), ok(t0 + 2_000, t0 + 2_005)]).maxInWindow).toBe(2);
  });

  it("reports a wave with more streams proven open at once than the limit", () => {
    const wave = (provenConcurrent: number): WaveResult => ({ wave: 1, subscriberId: SUB, plan: "free", limit: 2, width: 5, held: provenConcurrent, refused429: 5 - provenConcurrent, provenConcurrent, other: 0 });
    expect(concurrencyChecks([wave(2), wave(1)])).toEqual([{ plan: "free", limit: 2, waves: 2, maxProven: 2, wavesAtLimit: 1 }]);
    expect(concurrencyChecks([wave(3)])[0]!.maxProven).toBe(3);
  });
});

describe("failure verdicts", () => {
  it("expects a 502 only when every attempt failed", () => {
    const r = rec({ status: 502, outcome: "error_status", errorCode: "bad_gateway" });
    const failed = (n: number) => ev("req_1", { status: "miner_error", attempts: n, attemptLog: Array.from({ length: n }, () => ({ minerHotkey: "m", outcome: "failed" as const, completionTokens: 0 })) });
    expect(classify(r, failed(3), 3)?.expected).toBe(true);
    expect(classify(r, failed(2), 3)?.expected).toBe(false);
    expect(classify(r, undefined, 3)?.expected).toBe(false);
  });

  it("flags a client-visible error metered ok, and a whole answer metered as a failure", () => {
    const finishError = rec({ stream: true, dialect: "completions", outcome: "stream_error_event" });
    expect(classify(finishError, ev("req_1", { status: "ok", completionTokensCounted: 3, attemptLog: [{ minerHotkey: "m", outcome: "answered", completionTokens: 3 }] }), 3)?.expected).toBe(false);
    expect(classify(finishError, ev("req_1", { status: "miner_error", completionTokensCounted: 3, attemptLog: [{ minerHotkey: "m", outcome: "ended", completionTokens: 3 }] }), 3)?.expected).toBe(true);
    expect(classify(rec({ outcome: "complete" }), ev("req_1", { status: "miner_error" }), 3)?.expected).toBe(false);
  });

  it("expects a chat stream to end in error after a break only when max_tokens left nothing to continue", () => {
    const broken = rec({ stream: true, dialect: "chat", outcome: "stream_error_event", maxTokens: 18 });
    const after = (tokens: number) => ev("req_1", { status: "miner_error", streamed: true, completionTokensCounted: tokens, attemptLog: [{ minerHotkey: "m", outcome: "ended", completionTokens: tokens }] });
    expect(classify(broken, after(18), 3)?.expected).toBe(true);
    expect(classify(broken, after(17), 3)?.expected).toBe(false);
  });

  it("expects 429 only where a limit is in reach, and never a malformed answer", () => {
    expect(classify(rec({ status: 429, outcome: "error_status", plan: "free" }), undefined, 3)?.expected).toBe(true);
    expect(classify(rec({ status: 429, outcome: "error_status", plan: "unlimited" }), undefined, 3)?.expected).toBe(false);
    expect(classify(rec({ outcome: "malformed", detail: "junk" }), undefined, 3)?.expected).toBe(false);
    expect(classify(rec({ outcome: "complete" }), undefined, 3)).toBeNull();
  });
});

describe("the client's stream reader", () => {
  const chunk = (content: string, finish: string | null = null) => ({ event: "message", id: null, data: JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: finish }] }) });
  it("takes a finish_reason \"error\" followed by [DONE] as an error end, and an event after the end as malformed", () => {
    const failed = new StreamReader("chat");
    failed.push([chunk("Hello"), chunk("", "error"), { event: "message", id: null, data: "[DONE]" }]);
    expect([failed.end, failed.text, failed.malformed]).toEqual(["error", "Hello", null]);
    const whole = new StreamReader("chat");
    whole.push([chunk("Hello"), chunk("", "stop"), { event: "message", id: null, data: "[DONE]" }, chunk("again")]);
    expect(whole.end).toBe("done");
    expect(whole.malformed).toMatch(/after the stream ended/);
  });
});
