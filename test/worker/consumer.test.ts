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

async function runBatch(messages: { id: string; body: unknown; attempts?: number }[], vars: Record<string, string> = {}) {
  const batch = createMessageBatch("gateway-usage", messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...vars });
  return getQueueResult(batch, ctx);
}

// How many times the request is in what the consumer keeps: its recent-requests list (one entry
// per metered request) and the raw archive. (Before batching this read the per-request table.)
const rowCount = async (requestId: string) => {
  const recent = await env.DB.prepare("SELECT count(*) AS n FROM usage_recent_events r, json_each(r.events) e WHERE json_extract(e.value, '$.requestId') = ?")
    .bind(requestId)
    .first<{ n: number }>();
  return recent?.n;
};

const recentRow = async (requestId: string) => {
  const row = await env.DB.prepare("SELECT e.value AS event FROM usage_recent_events r, json_each(r.events) e WHERE json_extract(e.value, '$.requestId') = ?")
    .bind(requestId)
    .first<{ event: string }>();
  return row ? (JSON.parse(row.event) as UsageEvent) : null;
};

async function archivedIds(): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.USAGE_ARCHIVE.list({ prefix: "usage/", cursor });
    for (const o of page.objects) {
      const text = await (await env.USAGE_ARCHIVE.get(o.key))!.text();
      for (const line of text.split("\n")) if (line) ids.push((JSON.parse(line) as UsageEvent).requestId);
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return ids;
}

const inArchive = async (requestId: string) => (await archivedIds()).filter((id) => id === requestId).length;

describe("usage queue consumer", () => {
  it("writes each event once and acknowledges the batch", async () => {
    const result = await runBatch([
      { id: "m1", body: usageEvent("req_consumer_a") },
      { id: "m2", body: usageEvent("req_consumer_b", { status: "miner_error", httpStatus: 502 }) },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["m1", "m2"]);
    expect(result.retryMessages).toEqual([]);
    expect(await rowCount("req_consumer_a")).toBe(1);
    expect(await inArchive("req_consumer_a")).toBe(1);
    const row = await recentRow("req_consumer_b");
    expect({ status: row?.status, http_status: row?.httpStatus }).toEqual({ status: "miner_error", http_status: 502 });
    const hour = await env.DB.prepare("SELECT day, requests, succeeded FROM usage_hourly WHERE subscriber_id = 'sub_consumer_test' AND hour = ?")
      .bind(Date.UTC(2026, 10, 24, 12))
      .first();
    expect(hour).toEqual({ day: "2026-11-24", requests: 2, succeeded: 1 });
  });

  it("ignores a replayed message and a duplicate inside one batch", async () => {
    await runBatch([{ id: "r1", body: usageEvent("req_consumer_replay") }]);
    const again = await runBatch([
      { id: "r2", body: usageEvent("req_consumer_replay", { completionTokensCounted: 999 }) },
      { id: "r3", body: usageEvent("req_consumer_replay") },
    ]);
    expect(again.explicitAcks.sort()).toEqual(["r2", "r3"]);
    expect(await rowCount("req_consumer_replay")).toBe(1);
    expect(await inArchive("req_consumer_replay")).toBe(1);
    expect((await recentRow("req_consumer_replay"))?.completionTokensCounted).toBe(5);
  });

  it("retries the whole batch when D1 fails, and the retry lands exactly once", async () => {
    // A real D1 failure: the table is gone while the batch is written.
    await env.DB.exec("ALTER TABLE usage_hourly RENAME TO usage_hourly_away");
    let failed;
    try {
      failed = await runBatch([
        { id: "f1", body: usageEvent("req_consumer_fail_1") },
        { id: "f2", body: usageEvent("req_consumer_fail_2"), attempts: 3 },
      ]);
    } finally {
      await env.DB.exec("ALTER TABLE usage_hourly_away RENAME TO usage_hourly");
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
    expect(await inArchive("req_consumer_fail_1")).toBe(1);
    expect(await inArchive("req_consumer_fail_2")).toBe(1);
  });

  it("keeps recording while a variable is misconfigured (the API routes report it; usage is never lost to it)", async () => {
    const result = await runBatch([{ id: "c1", body: usageEvent("req_consumer_misconfigured") }], { USAGE_RECENT_PER_SUBSCRIBER: "many", MAX_BODY_BYTES: "lots" });
    expect(result.explicitAcks).toEqual(["c1"]);
    expect(await rowCount("req_consumer_misconfigured")).toBe(1);
    expect(await inArchive("req_consumer_misconfigured")).toBe(1);
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
