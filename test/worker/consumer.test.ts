import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { UsageEvent } from "../../src/billing/usage-event";
import worker from "../../src/index";

function usageEvent(requestId: string, over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    requestId,
    kind: "subscriber",
    subscriberId: "sub_consumer_test",
    apiKeyId: null,
    endpoint: "chat.completions",
    model: "demo/tiny-chat",
    minerHotkey: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty",
    status: "ok",
    httpStatus: 200,
    errorCode: null,
    streamed: false,
    attempts: 1,
    promptTokensReported: 10,
    completionTokensReported: 5,
    promptTokensCounted: 10,
    completionTokensCounted: 5,
    ttftMs: 12,
    durationMs: 40,
    createdAt: Date.UTC(2026, 10, 24, 12),
    ...over,
  };
}

async function runBatch(messages: { id: string; body: unknown; attempts?: number }[]) {
  const batch = createMessageBatch("gateway-usage", messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  return getQueueResult(batch, ctx);
}

const rowCount = async (requestId: string) =>
  (await env.DB.prepare("SELECT count(*) AS n FROM usage_events WHERE request_id = ?").bind(requestId).first<{ n: number }>())?.n;

describe("usage queue consumer", () => {
  it("writes each event once and acknowledges the batch", async () => {
    const result = await runBatch([
      { id: "m1", body: usageEvent("req_consumer_a") },
      { id: "m2", body: usageEvent("req_consumer_b", { status: "miner_error", httpStatus: 502 }) },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2"]);
    expect(result.retryMessages).toEqual([]);
    expect(await rowCount("req_consumer_a")).toBe(1);
    const row = await env.DB.prepare("SELECT status, http_status, day FROM usage_events WHERE request_id = ?").bind("req_consumer_b").first();
    expect(row).toEqual({ status: "miner_error", http_status: 502, day: "2026-11-24" });
  });

  it("ignores a replayed message and a duplicate inside one batch", async () => {
    await runBatch([{ id: "r1", body: usageEvent("req_consumer_replay") }]);
    const again = await runBatch([
      { id: "r2", body: usageEvent("req_consumer_replay", { completionTokensCounted: 999 }) },
      { id: "r3", body: usageEvent("req_consumer_replay") },
    ]);
    expect(again.explicitAcks.sort()).toEqual(["r2", "r3"]);
    expect(await rowCount("req_consumer_replay")).toBe(1);
    const row = await env.DB.prepare("SELECT completion_tokens_counted AS n FROM usage_events WHERE request_id = ?").bind("req_consumer_replay").first<{ n: number }>();
    expect(row?.n).toBe(5);
  });

  it("retries the whole batch when D1 fails, and the retry lands exactly once", async () => {
    // A real D1 failure: the table is gone while the batch is written.
    await env.DB.exec("ALTER TABLE usage_events RENAME TO usage_events_away");
    let failed;
    try {
      failed = await runBatch([
        { id: "f1", body: usageEvent("req_consumer_fail_1") },
        { id: "f2", body: usageEvent("req_consumer_fail_2"), attempts: 3 },
      ]);
    } finally {
      await env.DB.exec("ALTER TABLE usage_events_away RENAME TO usage_events");
    }
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages.map((m: { msgId: string }) => m.msgId).sort()).toEqual(["f1", "f2"]);

    const retried = await runBatch([
      { id: "f1", body: usageEvent("req_consumer_fail_1"), attempts: 2 },
      { id: "f2", body: usageEvent("req_consumer_fail_2"), attempts: 4 },
    ]);
    expect(retried.explicitAcks.sort()).toEqual(["f1", "f2"]);
    expect(await rowCount("req_consumer_fail_1")).toBe(1);
    expect(await rowCount("req_consumer_fail_2")).toBe(1);
  });

  it("acknowledges (and logs) a malformed message instead of blocking the queue", async () => {
    const result = await runBatch([
      { id: "bad", body: { hello: "world" } },
      { id: "good", body: usageEvent("req_consumer_good") },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["bad", "good"]);
    expect(await rowCount("req_consumer_good")).toBe(1);
  });
});
