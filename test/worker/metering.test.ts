// Metering in batches, exactly once, inside workerd with the real D1, queue and R2: concurrent
// requests (cancelled streams among them) through the real queue and consumer; a replayed queue
// message; a failed D1 write; a failed archive write; a queue that refuses. Every request must be
// in the rollups once and in the raw archive once, and settlement's inputs from the rollups must
// equal what the per-request rows gave before (test/support/legacy-usage.ts).
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { batchMessage, type UsageBatch } from "../../src/billing/usage-batch";
import { UsageBatcher } from "../../src/billing/usage-batcher";
import type { UsageEvent } from "../../src/billing/usage-event";
import { usageSink } from "../../src/billing/usage-sink";
import { readUsageWindow } from "../../src/chain/settlement/usage";
import worker from "../../src/index";
import { LEGACY_INSERT_SQL, LEGACY_REVENUE_SQL, LEGACY_USAGE_WINDOW_SQL, legacyRow } from "../support/legacy-usage";
import { chat, newSubscriber, registerMiners } from "./helpers";
import { usageEvent } from "./usage-events";

const fx = env.TEST_FIXTURES;
const MINER = fx.healthy[0]!.hotkey;

interface Archived {
  key: string;
  batchId: string;
  flushedAt: number;
  ndjson: string;
  events: UsageEvent[];
}

async function archive(): Promise<Archived[]> {
  const out: Archived[] = [];
  let cursor: string | undefined;
  do {
    const page = await env.USAGE_ARCHIVE.list({ prefix: "usage/", cursor });
    for (const o of page.objects) {
      const object = (await env.USAGE_ARCHIVE.get(o.key))!;
      const ndjson = await object.text();
      const events = ndjson
        .split("\n")
        .filter((l) => l !== "")
        .map((l) => JSON.parse(l) as UsageEvent);
      out.push({ key: o.key, batchId: object.customMetadata?.batchId ?? "", flushedAt: Number(object.customMetadata?.flushedAt), ndjson, events });
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

/** How often each request id is in the archive. */
async function archivedCount(ids: readonly string[]): Promise<Map<string, number>> {
  const counts = new Map(ids.map((id) => [id, 0]));
  for (const a of await archive()) for (const e of a.events) if (counts.has(e.requestId)) counts.set(e.requestId, (counts.get(e.requestId) ?? 0) + 1);
  return counts;
}

async function hourly(subscriberId: string): Promise<{ requests: number; succeeded: number; prompt_tokens: number; completion_tokens: number; cost_micro_usd: number }> {
  const row = await env.DB.prepare(
    `SELECT coalesce(sum(requests), 0) AS requests, coalesce(sum(succeeded), 0) AS succeeded, coalesce(sum(prompt_tokens), 0) AS prompt_tokens,
       coalesce(sum(completion_tokens), 0) AS completion_tokens, coalesce(sum(cost_micro_usd), 0) AS cost_micro_usd
     FROM usage_hourly WHERE subscriber_id = ?`,
  )
    .bind(subscriberId)
    .first<{ requests: number; succeeded: number; prompt_tokens: number; completion_tokens: number; cost_micro_usd: number }>();
  return row!;
}

async function hourlyWhen(subscriberId: string, requests: number, timeoutMs = 20_000) {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const h = await hourly(subscriberId);
    if (h.requests >= requests || Date.now() > until) return h;
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Everything the consumer wrote to D1, to compare before and after a replay. */
async function d1Snapshot() {
  const [h, m, r, b] = await env.DB.batch([
    env.DB.prepare("SELECT * FROM usage_hourly ORDER BY subscriber_id, hour, api_key_id, model, kind"),
    env.DB.prepare("SELECT * FROM usage_miner_seconds ORDER BY second, miner_hotkey, model, kind"),
    env.DB.prepare("SELECT subscriber_id, events FROM usage_recent_events ORDER BY subscriber_id, events"),
    env.DB.prepare("SELECT batch_id, events, archive_key FROM usage_batches ORDER BY batch_id"),
  ]);
  return { hourly: h?.results, miner: m?.results, recent: r?.results, batches: b?.results };
}

async function deliver(messages: { id: string; body: unknown; attempts?: number }[], useEnv: typeof env = env) {
  const batch = createMessageBatch("gateway-usage", messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, useEnv);
  return getQueueResult(batch, ctx);
}

let seq = 0;
function event(subscriberId: string, over: Partial<UsageEvent> = {}): UsageEvent {
  ++seq;
  return usageEvent({ requestId: `req_meter_${subscriberId}_${seq}`, subscriberId, apiKeyId: "key_meter", model: "meter/model", minerHotkey: MINER, createdAt: Date.UTC(2026, 10, 24, 12, 0, seq % 60), ...over });
}

function batchOf(id: string, events: readonly UsageEvent[]): UsageBatch {
  return { id, flushedAt: Date.UTC(2026, 10, 24, 12, 30), ndjson: events.map((e) => JSON.stringify(e)).join("\n") };
}

beforeAll(async () => {
  await registerMiners([{ ...fx.healthy[0]!, models: ["demo/tiny-chat"] }]);
});

describe("metering in batches", () => {
  it("counts concurrent requests, cancelled streams included, once in the rollups and once in the archive", async () => {
    const { key, subscriberId } = await newSubscriber("metering");
    const ids: string[] = [];
    const plain = Array.from({ length: 14 }, async () => {
      const r = await chat(key, { model: "demo/tiny-chat", max_tokens: 5 });
      ids.push(r.headers.get("x-request-id")!);
      await r.text();
    });
    const cancelled = Array.from({ length: 6 }, async () => {
      const r = await chat(key, { model: "demo/tiny-chat", stream: true, max_tokens: 200 });
      ids.push(r.headers.get("x-request-id")!);
      const reader = r.body!.getReader();
      await reader.read();
      await reader.cancel();
    });
    await Promise.all([...plain, ...cancelled]);
    expect(new Set(ids).size).toBe(20);

    const totals = await hourlyWhen(subscriberId, 20);
    expect(totals).toMatchObject({ requests: 20, succeeded: 14 });
    const counts = await archivedCount(ids);
    expect([...counts.values()]).toEqual(Array(20).fill(1));

    // The rollups agree with the archive, event for event.
    const mine = (await archive()).flatMap((a) => a.events).filter((e) => e.subscriberId === subscriberId);
    // How a cut stream ends is the request path's business (client_cancelled, or the idle timeout when
    // the cancel reaches the Worker late under load); here: metered once, as the stream it was.
    expect(mine.filter((e) => !e.streamed).map((e) => e.status)).toEqual(Array(14).fill("ok"));
    expect(mine.filter((e) => e.streamed).every((e) => e.status === "client_cancelled" || e.status === "timeout"), JSON.stringify(mine.map((e) => e.status))).toBe(true);
    expect(mine.filter((e) => e.streamed)).toHaveLength(6);
    expect(totals.prompt_tokens).toBe(mine.reduce((s, e) => s + e.promptTokensCounted, 0));
    expect(totals.completion_tokens).toBe(mine.reduce((s, e) => s + e.completionTokensCounted, 0));
    expect(totals.cost_micro_usd).toBe(mine.reduce((s, e) => s + (e.costMicroUsd ?? 0), 0));
  });

  it("sends the events of one moment as one batch: one queue message, one archive object", async () => {
    const sub = "sub_meter_one_batch";
    const events = Array.from({ length: 30 }, () => event(sub));
    const sink = usageSink(env);
    await Promise.all(events.map((e) => sink(e)));
    expect((await hourlyWhen(sub, 30)).requests).toBe(30);
    const holding = (await archive()).filter((a) => a.events.some((e) => e.subscriberId === sub));
    expect(holding).toHaveLength(1);
    expect(holding[0]!.events.map((e) => e.requestId)).toEqual(events.map((e) => e.requestId));
    expect(holding[0]!.batchId).toMatch(/^ub_[0-9a-f]{32}$/);
  });

  it("ignores a replayed queue message", async () => {
    const sub = "sub_meter_one_batch";
    const [original] = (await archive()).filter((a) => a.events.some((e) => e.subscriberId === sub));
    const before = await d1Snapshot();
    const replay = batchMessage({ id: original!.batchId, flushedAt: original!.flushedAt, ndjson: original!.ndjson.trimEnd() });
    const result = await deliver([
      { id: "replay-1", body: replay, attempts: 2 },
      { id: "replay-2", body: replay, attempts: 3 },
    ]);
    expect(result.explicitAcks.sort()).toEqual(["replay-1", "replay-2"]);
    expect(await d1Snapshot()).toEqual(before);
    expect([...(await archivedCount(original!.events.map((e) => e.requestId))).values()]).toEqual(Array(30).fill(1));
  });

  it("retries a batch whose D1 write failed, lands it once, and leaves nothing half-written", async () => {
    const sub = "sub_meter_d1_fails";
    const events = [event(sub), event(sub, { status: "client_cancelled", httpStatus: 499, completionTokensCounted: 0 }), event(sub, { minerHotkey: null, status: "no_miner", httpStatus: 503 })];
    const body = batchMessage(batchOf("ub_meter_d1_fails", events));
    // A real D1 failure in the middle of the transaction: the hourly rows are written before the
    // miner rows, and must be rolled back with them.
    await env.DB.exec("ALTER TABLE usage_miner_seconds RENAME TO usage_miner_seconds_away");
    let failed;
    try {
      failed = await deliver([{ id: "d1-1", body }]);
    } finally {
      await env.DB.exec("ALTER TABLE usage_miner_seconds_away RENAME TO usage_miner_seconds");
    }
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["d1-1"]);
    expect((await hourly(sub)).requests).toBe(0);
    expect(await env.DB.prepare("SELECT count(*) AS n FROM usage_batches WHERE batch_id = 'ub_meter_d1_fails'").first<{ n: number }>()).toEqual({ n: 0 });

    const retried = await deliver([{ id: "d1-1", body, attempts: 2 }]);
    expect(retried.explicitAcks).toEqual(["d1-1"]);
    expect(await hourly(sub)).toMatchObject({ requests: 3, succeeded: 1 });
    expect([...(await archivedCount(events.map((e) => e.requestId))).values()]).toEqual([1, 1, 1]);
  });

  it("retries a batch whose archive write failed, and lands it once", async () => {
    const sub = "sub_meter_r2_fails";
    const events = [event(sub), event(sub)];
    const body = batchMessage(batchOf("ub_meter_r2_fails", events));
    // R2 cannot be made to fail on demand locally: the real bucket, with put refusing the way the
    // binding rejects when R2 is unavailable.
    const bucket = env.USAGE_ARCHIVE;
    const refusing = new Proxy(bucket, {
      get: (target, prop) => (prop === "put" ? () => Promise.reject(new Error("R2 is unavailable (injected)")) : Reflect.get(target, prop, target)),
    });
    const failed = await deliver([{ id: "r2-1", body }], { ...env, USAGE_ARCHIVE: refusing });
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["r2-1"]);
    expect((await hourly(sub)).requests).toBe(0);
    expect([...(await archivedCount(events.map((e) => e.requestId))).values()]).toEqual([0, 0]);

    const retried = await deliver([{ id: "r2-1", body, attempts: 2 }]);
    expect(retried.explicitAcks).toEqual(["r2-1"]);
    expect((await hourly(sub)).requests).toBe(2);
    expect([...(await archivedCount(events.map((e) => e.requestId))).values()]).toEqual([1, 1]);
  });

  it("records a batch the queue refused directly, and its late queue copy changes nothing", async () => {
    const sub = "sub_meter_queue_refuses";
    const refusingQueue = { send: () => Promise.reject(new Error("queue unavailable (injected)")), sendBatch: () => Promise.reject(new Error("queue unavailable (injected)")) };
    const events = [event(sub), event(sub), event(sub)];
    const sink = usageSink({ ...env, USAGE_QUEUE: refusingQueue as unknown as typeof env.USAGE_QUEUE });
    await Promise.all(events.map((e) => sink(e)));
    expect((await hourly(sub)).requests).toBe(3);
    const [direct] = (await archive()).filter((a) => a.events.some((e) => e.subscriberId === sub));
    // The send may have reached the queue after all: the consumer gets the same batch.
    const late = await deliver([{ id: "late-1", body: batchMessage({ id: direct!.batchId, flushedAt: direct!.flushedAt, ndjson: direct!.ndjson.trimEnd() }) }]);
    expect(late.explicitAcks).toEqual(["late-1"]);
    expect((await hourly(sub)).requests).toBe(3);
    expect([...(await archivedCount(events.map((e) => e.requestId))).values()]).toEqual([1, 1, 1]);
  });

  it("gives settlement what the per-request rows gave it, from the same events", async () => {
    // Settlement's classes, over events that exercise each of them.
    const sub = "sub_meter_settlement";
    const mix = [
      event(sub),
      event(sub, { kind: "canary", subscriberId: null, apiKeyId: null, costMicroUsd: 0 }),
      event(sub, { kind: "canary", subscriberId: null, apiKeyId: null, status: "bad_response", httpStatus: 200, costMicroUsd: 0 }),
      event(sub, { promptTokensReported: 200, completionTokensReported: 400, promptTokensCounted: 100, completionTokensCounted: 200 }),
      event(sub, { promptTokensReported: 111, completionTokensReported: 0, promptTokensCounted: 100, completionTokensCounted: 0 }),
      event(sub, { status: "client_cancelled", httpStatus: 499, completionTokensCounted: 4, completionTokensReported: null, promptTokensReported: null }),
      event(sub, { status: "client_cancelled", httpStatus: 499, completionTokensCounted: 0, completionTokensReported: null, promptTokensReported: null }),
      event(sub, { status: "miner_error", httpStatus: 502, completionTokensCounted: 0 }),
      event(sub, { status: "miner_error", httpStatus: 400, completionTokensCounted: 0 }),
      event(sub, { status: "timeout", httpStatus: 504, completionTokensCounted: 0 }),
      event(sub, { minerHotkey: null, status: "no_miner", httpStatus: 503, costMicroUsd: 0 }),
      event(sub, { model: "meter/other", minerHotkey: fx.healthy[1]!.hotkey, costMicroUsd: 11 }),
    ];
    expect((await deliver([{ id: "settle-1", body: batchMessage(batchOf("ub_meter_settlement", mix)) }])).explicitAcks).toEqual(["settle-1"]);

    // Every event the consumer has recorded in this file, as the legacy per-request rows.
    const all = (await archive()).flatMap((a) => a.events);
    await env.DB.exec("DELETE FROM usage_events");
    await env.DB.batch(all.map((e) => env.DB.prepare(LEGACY_INSERT_SQL).bind(...legacyRow(e))));
    const start = 0;
    const end = Date.UTC(2100, 0, 1);
    const legacy = await env.DB.prepare(LEGACY_USAGE_WINDOW_SQL).bind(start, end).all<Record<string, number | string>>();
    const legacyRevenue = await env.DB.prepare(LEGACY_REVENUE_SQL).bind(start, end).first<{ revenue: number }>();
    const window = await readUsageWindow(env.DB, start, end);
    const snake = window.groups.map((g) => ({
      hotkey: g.hotkey,
      model: g.model,
      kind: g.kind,
      requests: g.requests,
      counted: g.counted,
      prompt_tokens: g.promptTokens,
      completion_tokens: g.completionTokens,
      served: g.served,
      failed: g.failed,
      refused: g.refused,
      cancelled_empty: g.cancelledEmpty,
      over_reported: g.overReported,
      reported_tokens: g.reportedTokens,
      counted_tokens_of_reported: g.countedTokensOfReported,
    }));
    expect(legacy.results.length).toBeGreaterThan(2);
    expect(snake).toEqual(legacy.results);
    expect(window.revenueMicroUsd).toBe(BigInt(legacyRevenue!.revenue));
    await env.DB.exec("DELETE FROM usage_events");
  });
});

describe("migration 0008", () => {
  it("folds the legacy per-request rows into the rollups once, however often it runs", async () => {
    const sub = "sub_meter_legacy";
    const at = Date.UTC(2030, 0, 1, 8, 0, 0);
    const legacy = [
      event(sub, { createdAt: at }),
      event(sub, { createdAt: at + 1, promptTokensReported: 300, completionTokensReported: 300 }),
      event(sub, { createdAt: at + 1_500, status: "client_cancelled", httpStatus: 499, completionTokensCounted: 0, completionTokensReported: null }),
      event(sub, { createdAt: at + 3_600_000, status: "miner_error", httpStatus: 502, minerHotkey: null }),
      event(sub, { createdAt: at + 7_200_000, kind: "canary", subscriberId: null, apiKeyId: null, costMicroUsd: 0 }),
    ];
    await env.DB.batch(legacy.map((e) => env.DB.prepare(LEGACY_INSERT_SQL).bind(...legacyRow(e))));
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith("0008_"));
    const backfill = migration!.queries.filter((q) => q.includes("FROM `usage_events`"));
    expect(backfill).toHaveLength(3);
    for (let run = 0; run < 2; run++) for (const q of backfill) await env.DB.prepare(q).run();

    const start = at;
    const end = at + 86_400_000;
    const expected = await env.DB.prepare(LEGACY_USAGE_WINDOW_SQL).bind(start, end).all<Record<string, unknown>>();
    const window = await readUsageWindow(env.DB, start, end);
    expect(window.groups.map((g) => [g.hotkey, g.kind, g.requests, g.counted, g.promptTokens, g.completionTokens, g.overReported, g.cancelledEmpty])).toEqual(
      expected.results.map((r) => [r.hotkey, r.kind, r.requests, r.counted, r.prompt_tokens, r.completion_tokens, r.over_reported, r.cancelled_empty]),
    );
    expect(await hourly(sub)).toMatchObject({ requests: 4, succeeded: 2, cost_micro_usd: 28 });
    // A legacy queue message of one of them, redelivered after the upgrade, is not counted again.
    const again = await deliver([{ id: "legacy-1", body: legacy[0] }]);
    expect(again.explicitAcks).toEqual(["legacy-1"]);
    expect((await hourly(sub)).requests).toBe(4);
    await env.DB.exec("DELETE FROM usage_events");
  });
});

describe("the batcher", () => {
  it("cuts batches at the event and size limits and sends each once", async () => {
    const sent: UsageBatch[] = [];
    const batcher = new UsageBatcher(async (b) => void sent.push(b), { maxDelayMs: 50, maxEvents: 4, maxChars: 100_000 });
    const events = Array.from({ length: 10 }, () => event("sub_meter_unit"));
    const done = events.map((e) => batcher.add(e));
    expect(sent.map((b) => b.ndjson.split("\n").length)).toEqual([4, 4]);
    expect(batcher.pending).toBe(2);
    batcher.flush();
    await Promise.all(done);
    expect(sent.map((b) => b.ndjson.split("\n").length)).toEqual([4, 4, 2]);
    expect(new Set(sent.map((b) => b.id)).size).toBe(3);
    expect(sent.flatMap((b) => b.ndjson.split("\n").map((l) => (JSON.parse(l) as UsageEvent).requestId))).toEqual(events.map((e) => e.requestId));

    const line = JSON.stringify(events[0]).length + 1;
    const perBatch = 3;
    const maxChars = perBatch * line + 1;
    const big = new UsageBatcher(async (b) => void sent.push(b), { maxDelayMs: 50, maxEvents: 100, maxChars });
    const many = Array.from({ length: perBatch + 1 }, () => big.add(event("sub_meter_unit")));
    big.flush();
    await Promise.all(many);
    expect(sent.slice(3).map((b) => b.ndjson.split("\n").length)).toEqual([perBatch, 1]);
    expect(sent.slice(3).every((b) => b.ndjson.length <= maxChars)).toBe(true);
  });

  it("sends after the delay without a flush, from the opener's own timer; a failed send rejects the request that made it", async () => {
    const batcher = new UsageBatcher(async () => {}, { maxDelayMs: 5, maxEvents: 100, maxChars: 100_000 });
    await Promise.all([batcher.add(event("sub_meter_unit")), batcher.add(event("sub_meter_unit"))]);
    expect(batcher.pending).toBe(0);
    // The opener sends (its timer), so it learns of the failure; the request that only joined the
    // batch owes no send and awaits none (never another request's promise: see usage-batcher.ts).
    const tried: UsageBatch[] = [];
    const failing = new UsageBatcher(async (b) => {
      tried.push(b);
      throw new Error("nowhere to go");
    }, { maxDelayMs: 5, maxEvents: 100, maxChars: 100_000 });
    const opener = failing.add(event("sub_meter_unit"));
    const joiner = failing.add(event("sub_meter_unit"));
    expect(await Promise.allSettled([opener, joiner]).then((r) => r.map((x) => x.status))).toEqual(["rejected", "fulfilled"]);
    await new Promise((r) => setTimeout(r, 20));
    expect(tried.map((b) => b.ndjson.split("\n").length)).toEqual([2]); // one send, with both events
  });

  it("never makes a request wait on a send another request holds: a filler sends at once, the opener's timer finds it sent", async () => {
    const sent: UsageBatch[] = [];
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const batcher = new UsageBatcher(async (b) => {
      sent.push(b);
      await gate; // the queue is slow
    }, { maxDelayMs: 5, maxEvents: 2, maxChars: 100_000 });
    const opener = batcher.add(event("sub_meter_unit"));
    const filler = batcher.add(event("sub_meter_unit")); // fills the batch: sends it, holds the send
    expect(sent).toHaveLength(1);
    // The opener's timer fires after the filler sent: its duty is done without waiting for the slow send.
    await expect(opener).resolves.toBeUndefined();
    let fillerDone = false;
    void filler.then(() => (fillerDone = true));
    await new Promise((r) => setTimeout(r, 10));
    expect(fillerDone).toBe(false); // the filler holds its own send until the queue answers
    release();
    await filler;
    expect(sent).toHaveLength(1);
  });
});
