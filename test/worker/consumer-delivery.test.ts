// One queue delivery, one D1 transaction (src/billing/consumer.ts, usage-delivery.ts): the batches
// of a delivery are applied together with their rollups merged, their ledger rows inserted first so
// that a batch applied before fails the transaction (D1 rolls it back whole), falling back to one
// transaction per batch then. Against the real D1 and R2 in workerd: totals and rows, the rows D1
// says it wrote and read (against the per-message path), redeliveries regrouped, the rolled-back
// merged transaction, a failed transaction, a failed archive write, the recent-requests list
// across a delivery, malformed messages among good ones.
import { createExecutionContext, createMessageBatch, env, getQueueResult } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MAX_EVENTS_PER_TRANSACTION } from "../../src/billing/consumer";
import { batchMessage, batchOfMessage, parseBatch, type UsageBatch } from "../../src/billing/usage-batch";
import type { UsageEvent } from "../../src/billing/usage-event";
import { recentRequests } from "../../src/billing/usage-query";
import { HOUR_MS } from "../../src/billing/usage-rollup";
import { isAlreadyApplied, writeUsageBatches, type BatchEvents } from "../../src/billing/usage-writer";
import { armFaults, faultReport } from "../../src/dev/faults";
import worker from "../../src/index";
import { usageEvent } from "./usage-events";

const H0 = Date.UTC(2026, 10, 26, 12);
const MINUTE = 60_000;
let n = 0;

function event(subscriberId: string, createdAt: number, over: Partial<UsageEvent> = {}): UsageEvent {
  return usageEvent({ requestId: `req_delivery_${++n}`, subscriberId, apiKeyId: "key_delivery", model: "delivery/model", createdAt, ...over });
}

const batchOf = (id: string, events: readonly UsageEvent[]): UsageBatch => ({ id, flushedAt: H0 + 30 * MINUTE, ndjson: events.map((e) => JSON.stringify(e)).join("\n") });

/** What D1 reported for the transactions made through it (the consumer counts the same into op-counts). */
interface D1Tally {
  transactions: number;
  rowsWritten: number;
}

/** The real database, tallying each `batch` (one transaction), the rows D1 says it wrote and, per transaction, read. */
function tallied(db: D1Database): { db: D1Database; tally: D1Tally; rowsRead: number[] } {
  const tally: D1Tally = { transactions: 0, rowsWritten: 0 };
  const rowsRead: number[] = [];
  const wrapped = new Proxy(db, {
    get(target, prop) {
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          // Counted when it fails too (a batch already applied: D1 rolled it back, nothing written).
          tally.transactions++;
          const results = await target.batch(statements);
          for (const r of results) tally.rowsWritten += r.meta.rows_written ?? 0;
          rowsRead.push(results.reduce((t, r) => t + (r.meta.rows_read ?? 0), 0));
          return results;
        };
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: wrapped, tally, rowsRead };
}

type Msg = { id: string; body: unknown; attempts?: number };

/** One delivery through the Worker's queue handler, as the queue makes it. */
async function deliver(messages: Msg[], over: Partial<typeof env> & Record<string, unknown> = {}) {
  const { db, tally, rowsRead } = tallied((over.DB as D1Database | undefined) ?? env.DB);
  const batch = createMessageBatch("gateway-usage", messages.map((m) => ({ id: m.id, timestamp: new Date(), attempts: m.attempts ?? 1, body: m.body })));
  const ctx = createExecutionContext();
  await worker.queue(batch, { ...env, ...over, DB: db });
  const result = await getQueueResult(batch, ctx);
  return { acked: [...result.explicitAcks].sort(), retried: result.retryMessages.map((m: { msgId: string }) => m.msgId).sort(), tally, rowsRead };
}

const msg = (id: string, events: readonly UsageEvent[], attempts = 1): Msg => ({ id, body: batchMessage(batchOf(`ub_${id}`, events)), attempts });

async function hourlyRows(subs: readonly string[]) {
  const { results } = await env.DB.prepare(
    `SELECT subscriber_id, hour, api_key_id, model, kind, requests, succeeded, prompt_tokens, completion_tokens, cost_micro_usd
     FROM usage_hourly WHERE subscriber_id IN (SELECT value FROM json_each(?)) ORDER BY subscriber_id, hour, api_key_id, model, kind`,
  )
    .bind(JSON.stringify(subs))
    .all<{ subscriber_id: string; hour: number; requests: number; succeeded: number; prompt_tokens: number; completion_tokens: number; cost_micro_usd: number }>();
  return results;
}

async function minerRows(model: string) {
  const { results } = await env.DB.prepare("SELECT second, requests, served, prompt_tokens FROM usage_miner_seconds WHERE model = ? ORDER BY second").bind(model).all();
  return results;
}

async function ledger(ids: readonly string[]) {
  const { results } = await env.DB.prepare("SELECT batch_id, events FROM usage_batches WHERE batch_id IN (SELECT value FROM json_each(?)) ORDER BY batch_id")
    .bind(JSON.stringify(ids))
    .all<{ batch_id: string; events: number }>();
  return results;
}

async function archived(key: string): Promise<string[]> {
  const object = await env.USAGE_ARCHIVE.get(key);
  if (!object) return [];
  return (await object.text())
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => (JSON.parse(l) as UsageEvent).requestId);
}
const archiveKeyOf = (id: string) => `usage/2026-11-26/12/ub_${id}.ndjson`;

/** Everything the consumer keeps about these subscribers, to compare before and after a redelivery. */
async function snapshot(subs: readonly string[], model: string) {
  const recent = await Promise.all(subs.map(async (s) => (await recentRequests(env.DB, s, { limit: 1_000 })).map((r) => r.request_id)));
  return { hourly: await hourlyRows(subs), miner: await minerRows(model), recent };
}

const listed = async (sub: string) => (await recentRequests(env.DB, sub, { limit: 1_000 })).map((r) => r.request_id);
const hourLists = async (sub: string) =>
  (await env.DB.prepare("SELECT hour, recent FROM usage_hourly WHERE subscriber_id = ? ORDER BY hour").bind(sub).all<{ hour: number; recent: string | null }>()).results.map((r) => [
    r.hour - H0,
    r.recent === null ? null : (JSON.parse(r.recent) as UsageEvent[]).map((e) => e.requestId),
  ]);

/**
 * A sparse delivery: 5 batches (5 isolates' 200 ms flushes, 2 s apart), each with one request of
 * each of 4 subscribers, all on one miner and model: 20 requests.
 */
function sparseDelivery(tag: string, model: string) {
  const subs = [1, 2, 3, 4].map((i) => `sub_delivery_${tag}_${i}`);
  const batches = [0, 1, 2, 3, 4].map((b) => subs.map((s) => event(s, H0 + 37 * MINUTE + b * 2_000, { model })));
  return { subs, messages: batches.map((events, b) => msg(`${tag}_${b}`, events)), events: batches.flat() };
}

describe("one transaction per queue delivery", () => {
  it("sums a delivery's batches into one hourly row per subscriber, and writes fewer rows than one transaction per message", async () => {
    // The same traffic twice, on fresh rows each time: once one message per delivery (the
    // per-message path, as before), once as one delivery.
    const before = sparseDelivery("before", "delivery/per-message");
    const perMessage: D1Tally = { transactions: 0, rowsWritten: 0 };
    for (const m of before.messages) {
      const r = await deliver([m]);
      expect(r.acked).toEqual([m.id]);
      perMessage.transactions += r.tally.transactions;
      perMessage.rowsWritten += r.tally.rowsWritten;
    }

    const after = sparseDelivery("after", "delivery/merged");
    const merged = await deliver(after.messages);
    expect(merged.acked).toEqual(after.messages.map((m) => m.id).sort());
    expect(merged.retried).toEqual([]);

    // Totals are exactly the sum, in ONE hourly row per subscriber (and the same as per message).
    const rows = await hourlyRows(after.subs);
    expect(rows).toHaveLength(4);
    for (const r of rows) expect(r).toMatchObject({ hour: H0, requests: 5, succeeded: 5, prompt_tokens: 50, completion_tokens: 25, cost_micro_usd: 35 });
    const counters = (r: Record<string, unknown>) => [r.hour, r.requests, r.succeeded, r.prompt_tokens, r.completion_tokens, r.cost_micro_usd];
    expect((await hourlyRows(before.subs)).map(counters)).toEqual(rows.map(counters));
    // One miner row per second, each with the four requests of its batch.
    expect(await minerRows("delivery/merged")).toEqual([0, 1, 2, 3, 4].map((b) => ({ second: H0 + 37 * MINUTE + b * 2_000, requests: 4, served: 4, prompt_tokens: 40 })));
    expect(await ledger(after.messages.map((m) => `ub_${m.id}`))).toEqual(after.messages.map((m) => ({ batch_id: `ub_${m.id}`, events: 4 })));
    for (const e of after.events) expect(await listed(e.subscriberId!)).toContain(e.requestId);

    // What D1 reports as written (rows plus index entries). Per message: the first batch creates
    // 4 hourly rows (2 each), its miner second (2) and its ledger row (2) = 12; each later one
    // updates the 4 hourly rows (1 each), creates its miner second (2) and ledger row (2) = 8.
    expect(perMessage).toEqual({ transactions: 5, rowsWritten: 12 + 4 * 8 });
    // One delivery: 4 hourly rows created once (8), 5 miner seconds (10), 5 ledger rows (10).
    expect(merged.tally).toEqual({ transactions: 1, rowsWritten: 8 + 10 + 10 });
  });

  it("halves the rows a steady sparse delivery writes: 200 subscribers, 2 requests each in 10 s, 10 batches of 40", async () => {
    // Like the benchmark's sparse keys, scaled down: every subscriber already has its hourly row
    // (an earlier delivery of the hour), and is in two batches of this delivery.
    const reads: Record<string, number[]> = {};
    const run = async (tag: string, merged: boolean): Promise<D1Tally> => {
      const model = `delivery/steady-${tag}`;
      const subs = Array.from({ length: 200 }, (_, i) => `sub_delivery_steady_${tag}_${i}`);
      const warm = await deliver([msg(`steady_${tag}_warm`, subs.map((s) => event(s, H0 + 42 * MINUTE, { model })))]);
      expect(warm.acked).toHaveLength(1);
      // 10 batches of 200 ms each, 1 s apart; subscriber i in batches i % 5 and i % 5 + 5.
      const messages = Array.from({ length: 10 }, (_, b) => msg(`steady_${tag}_${b}`, subs.filter((_, i) => i % 5 === b % 5).map((s, k) => event(s, H0 + 43 * MINUTE + b * 1_000 + k * 5, { model }))));
      const tally: D1Tally = { transactions: 0, rowsWritten: 0 };
      for (const group of merged ? [messages] : messages.map((m) => [m])) {
        const r = await deliver(group);
        (reads[tag] ??= []).push(...r.rowsRead);
        expect(r.acked).toHaveLength(group.length);
        tally.transactions += r.tally.transactions;
        tally.rowsWritten += r.tally.rowsWritten;
      }
      expect((await hourlyRows(subs)).map((r) => r.requests)).toEqual(subs.map(() => 3));
      return tally;
    };
    // Per message: each batch updates its 40 hourly rows (1 each), creates its miner second (2) and
    // its ledger row (2): 44 x 10 = 440 rows for 400 requests.
    expect(await run("per_message", false)).toEqual({ transactions: 10, rowsWritten: 440 });
    // One delivery: 200 hourly rows updated once each, 10 miner seconds (20), 10 ledger rows (20).
    expect(await run("merged", true)).toEqual({ transactions: 1, rowsWritten: 240 });
    // Rows READ, as D1 reports them (billed too). Measured locally: with every statement guarded by
    // NOT EXISTS over all the delivery's batch ids, the merged transaction (611 statements) read
    // 10,240 rows (~26 per request) and each per-message one 486-566; with the ledger inserted
    // first and the statements unguarded, 1,810 (~4.5 per request) and 281-361.
    expect(reads.merged).toHaveLength(1);
    expect(reads.merged![0]).toBeLessThan(2_500);
    for (const r of reads.per_message!) expect(r).toBeLessThan(500);
  });

  it("changes nothing when the delivery comes again, and applies only the new batches of a regrouped one, each once", async () => {
    const model = "delivery/redelivered";
    const first = sparseDelivery("redeliver", model);
    expect((await deliver(first.messages)).acked).toHaveLength(5);
    const state = await snapshot(first.subs, model);

    // The same delivery again: the merged transaction's ledger insert fails (rolled back), and so does each batch's own.
    const again = await deliver(first.messages.map((m) => ({ ...m, attempts: 2 })));
    expect(again.acked).toEqual(first.messages.map((m) => m.id).sort());
    expect(again.tally.rowsWritten).toBe(0);
    expect(await snapshot(first.subs, model)).toEqual(state);

    // Regrouped: an applied batch, two new ones (one of them delivered twice in this delivery).
    const [sub] = first.subs;
    const fresh = [msg("redeliver_new_a", [event(sub!, H0 + 38 * MINUTE, { model })]), msg("redeliver_new_b", [event(sub!, H0 + 39 * MINUTE, { model }), event(sub!, H0 + 39 * MINUTE + 1, { model })])];
    const mixed = await deliver([first.messages[2]!, fresh[0]!, fresh[1]!, { ...fresh[1]!, id: "redeliver_new_b_copy" }]);
    expect(mixed.acked).toEqual([first.messages[2]!.id, "redeliver_new_a", "redeliver_new_b", "redeliver_new_b_copy"].sort());
    // The merged transaction (rolled back), then one per distinct batch: the applied one's rolls back too.
    expect(mixed.tally.transactions).toBe(1 + 3);
    const rows = await hourlyRows(first.subs);
    expect(rows.find((r) => r.subscriber_id === sub)).toMatchObject({ requests: 5 + 3 });
    expect(rows.filter((r) => r.subscriber_id !== sub).map((r) => r.requests)).toEqual([5, 5, 5]);
    expect(await ledger(["ub_redeliver_new_a", "ub_redeliver_new_b"])).toEqual([
      { batch_id: "ub_redeliver_new_a", events: 1 },
      { batch_id: "ub_redeliver_new_b", events: 2 },
    ]);
    expect((await listed(sub!)).length).toBe(5 + 3);
  });

  it("acknowledges a batch delivered again on its own and changes nothing: its ledger insert fails, D1 rolls it back", async () => {
    const model = "delivery/alone-again";
    const sub = "sub_delivery_alone";
    const m = msg("alone", [event(sub, H0 + 45 * MINUTE, { model }), event(sub, H0 + 45 * MINUTE + 1, { model })]);
    expect((await deliver([m])).acked).toEqual(["alone"]);
    const state = await snapshot([sub], model);
    const again = await deliver([{ ...m, attempts: 2 }]);
    expect(again.acked).toEqual(["alone"]);
    expect(again.retried).toEqual([]);
    // One attempt, rolled back: no fallback for a delivery of one, nothing written.
    expect(again.tally).toEqual({ transactions: 1, rowsWritten: 0 });
    expect(await snapshot([sub], model)).toEqual(state);
    expect(await ledger(["ub_alone"])).toEqual([{ batch_id: "ub_alone", events: 2 }]);
  });

  it("rolls the merged transaction back whole when one of its batches was applied before, then applies the new ones once each", async () => {
    const model = "delivery/rollback";
    const d = sparseDelivery("rollback", model);
    expect((await deliver([d.messages[0]!])).acked).toHaveLength(1);
    const state = await snapshot(d.subs, model);
    const recentRows = () => env.DB.prepare("SELECT subscriber_id, events FROM usage_recent WHERE subscriber_id IN (SELECT value FROM json_each(?))").bind(JSON.stringify(d.subs)).all();
    const recentBefore = (await recentRows()).results;
    const data = (m: Msg): BatchEvents => {
      const batch = batchOfMessage(m.body)!;
      return { batch, events: parseBatch(batch).events };
    };
    // The merged transaction alone: the applied batch's ledger row fails it, and the rollup
    // statements of the new batches after it (hourly, miner seconds, a move to a later hour) are
    // rolled back with it. Nothing of them is left.
    const later = msg("rollback_later", d.subs.map((s) => event(s, H0 + HOUR_MS + 1_000, { model })));
    const all = [...d.messages, later].map(data);
    expect(await writeUsageBatches(env.DB, all)).toBe(false);
    expect(await snapshot(d.subs, model)).toEqual(state);
    expect((await recentRows()).results).toEqual(recentBefore);
    expect(await ledger(all.map((b) => b.batch.id))).toEqual([{ batch_id: "ub_rollback_0", events: 4 }]);

    // Through the consumer: the rolled-back merged attempt, then one transaction per batch.
    const mixed = await deliver([...d.messages, later]);
    expect(mixed.acked).toEqual([...d.messages, later].map((m) => m.id).sort());
    expect(mixed.retried).toEqual([]);
    expect(mixed.tally.transactions).toBe(1 + 6);
    expect((await hourlyRows(d.subs)).map((r) => [r.hour - H0, r.requests])).toEqual(d.subs.flatMap(() => [[0, 5], [HOUR_MS, 1]]));
    expect((await minerRows(model)).map((r) => r.requests)).toEqual([4, 4, 4, 4, 4, 4]);
    expect(await ledger(all.map((b) => b.batch.id))).toEqual(all.map((b) => ({ batch_id: b.batch.id, events: 4 })));
    for (const e of d.events) expect(await listed(e.subscriberId!)).toContain(e.requestId);
    for (const s of d.subs) expect(await listed(s)).toHaveLength(6);
    // And once more: everything applied, nothing changes.
    const state2 = await snapshot(d.subs, model);
    expect((await deliver([...d.messages, later])).acked).toHaveLength(6);
    expect(await snapshot(d.subs, model)).toEqual(state2);
  });

  it("does not depend on D1's wording: a failure it does not recognise is checked against the ledger", async () => {
    const model = "delivery/unrecognised";
    const sub = "sub_delivery_unrecognised";
    const first = { batch: { id: "ub_unrec_1", flushedAt: H0 + 50 * MINUTE, events: [] }, events: [] } as unknown as BatchEvents;
    const applied = msg("unrec_1", [event(sub, H0 + 50 * MINUTE, { model })]);
    expect((await deliver([applied])).acked).toEqual(["unrec_1"]);
    // A D1 whose errors carry other words: the ledger's primary key fails, reworded.
    const reworded = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") return (s: D1PreparedStatement[]) => target.batch(s).catch(() => Promise.reject(new Error("D1_ERROR: something else entirely")));
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    // The batch applied before: recognised from the ledger, so "not applied" (no retry loop).
    expect(await writeUsageBatches(reworded, [{ ...first, batch: { ...first.batch, id: "ub_unrec_1" } }])).toBe(false);
    // A batch the ledger does not hold: the error is real and thrown.
    const failing = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") return () => Promise.reject(new Error("D1_ERROR: Network connection lost."));
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    await expect(writeUsageBatches(failing, [{ ...first, batch: { ...first.batch, id: "ub_unrec_new" } }])).rejects.toThrow("Network connection lost");
  });

  it("applies a batch given twice to one transaction once", async () => {
    const model = "delivery/twice";
    const sub = "sub_delivery_twice";
    const m = msg("twice", [event(sub, H0 + 46 * MINUTE, { model })]);
    const batch = batchOfMessage(m.body)!;
    const b: BatchEvents = { batch, events: parseBatch(batch).events };
    expect(await writeUsageBatches(env.DB, [b, b])).toBe(true);
    expect((await hourlyRows([sub])).map((r) => r.requests)).toEqual([1]);
    expect(await ledger(["ub_twice"])).toEqual([{ batch_id: "ub_twice", events: 1 }]);
    // Twice in one delivery, once more: applied before, both copies acknowledged, nothing changes.
    const again = await deliver([m, { ...m, id: "twice_copy" }]);
    expect(again.acked).toEqual(["twice", "twice_copy"]);
    expect((await hourlyRows([sub])).map((r) => r.requests)).toEqual([1]);
  });

  it("retries a delivery whose transaction failed on anything but the ledger's batch id, another constraint included", async () => {
    // What counts as "applied before": only the ledger's primary key, as D1 words it.
    expect(isAlreadyApplied(new Error("D1_ERROR: UNIQUE constraint failed: usage_batches.batch_id: SQLITE_CONSTRAINT (extended: SQLITE_CONSTRAINT_PRIMARYKEY)"))).toBe(true);
    expect(isAlreadyApplied(new Error("D1_ERROR: batch failed", { cause: new Error("UNIQUE constraint failed: usage_batches.batch_id: SQLITE_CONSTRAINT") }))).toBe(true);
    expect(isAlreadyApplied(new Error("D1_ERROR: UNIQUE constraint failed: usage_hourly.subscriber_id, usage_hourly.hour: SQLITE_CONSTRAINT"))).toBe(false);
    expect(isAlreadyApplied(new Error("D1_ERROR: NOT NULL constraint failed: usage_batches.batch_id: SQLITE_CONSTRAINT"))).toBe(false);
    expect(isAlreadyApplied(new Error("D1_ERROR: UNIQUE constraint failed: usage_batches.batch_id_2: SQLITE_CONSTRAINT"))).toBe(false);
    expect(isAlreadyApplied(new Error("D1_ERROR: Network connection lost."))).toBe(false);
    expect(isAlreadyApplied("UNIQUE constraint failed: usage_batches.batch_id")).toBe(false);

    // A real constraint failure that is not the ledger's: a statement inserting NULL into a NOT
    // NULL column, run in the same transaction (after the ledger insert, so its rows are rolled back too).
    const model = "delivery/other-constraint";
    const d = sparseDelivery("otherconstraint", model);
    const failing = env.DB.prepare("INSERT INTO usage_batches (batch_id, events, archive_key, flushed_at, applied_at) VALUES (NULL, 0, '', 0, 0)");
    const db = new Proxy(env.DB, {
      get(target, prop) {
        if (prop === "batch") return (statements: D1PreparedStatement[]) => target.batch([...statements, failing]);
        const value: unknown = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const failed = await deliver(d.messages, { DB: db });
    expect(failed.acked).toEqual([]);
    expect(failed.retried).toEqual(d.messages.map((m) => m.id).sort());
    expect(await hourlyRows(d.subs)).toEqual([]);
    expect(await ledger(d.messages.map((m) => `ub_${m.id}`))).toEqual([]);
    const retried = await deliver(d.messages.map((m) => ({ ...m, attempts: 2 })));
    expect(retried.acked).toHaveLength(5);
    expect((await hourlyRows(d.subs)).map((r) => r.requests)).toEqual([5, 5, 5, 5]);
  });

  it("retries every message of a delivery whose transaction failed (the dev fault), leaves nothing half-written, and the retry lands everything once", async () => {
    const model = "delivery/d1-fails";
    const d = sparseDelivery("d1fails", model);
    const ON = { ENVIRONMENT: "development", DEV_FAULT_INJECTION: "true" };
    const injected = faultReport().injected.usage_d1_write;
    armFaults({ usage_d1_write: 1 });
    const failed = await deliver(d.messages, ON);
    expect(faultReport().injected.usage_d1_write).toBe(injected + 1);
    expect(failed.acked).toEqual([]);
    expect(failed.retried).toEqual(d.messages.map((m) => m.id).sort());
    expect(await hourlyRows(d.subs)).toEqual([]);
    expect(await minerRows(model)).toEqual([]);
    expect(await ledger(d.messages.map((m) => `ub_${m.id}`))).toEqual([]);
    for (const s of d.subs) expect(await listed(s)).toEqual([]);
    // Archived already: the archive comes first and is idempotent by key.
    expect(await archived(archiveKeyOf(d.messages[0]!.id))).toHaveLength(4);

    const retried = await deliver(d.messages.map((m) => ({ ...m, attempts: 2 })), ON);
    expect(retried.acked).toEqual(d.messages.map((m) => m.id).sort());
    expect(retried.tally.transactions).toBe(1);
    expect((await hourlyRows(d.subs)).map((r) => r.requests)).toEqual([5, 5, 5, 5]);
    const again = await deliver(d.messages.map((m) => ({ ...m, attempts: 3 })));
    expect(again.acked).toHaveLength(5);
    expect((await hourlyRows(d.subs)).map((r) => r.requests)).toEqual([5, 5, 5, 5]);
    for (const m of d.messages) expect(await archived(archiveKeyOf(m.id))).toHaveLength(4);
  });

  it("counts nothing of a batch whose archive write failed until it is archived; the rest of the delivery goes on", async () => {
    const sub = "sub_delivery_r2";
    const model = "delivery/r2-fails";
    const messages = [0, 1, 2].map((b) => msg(`r2fails_${b}`, [event(sub, H0 + 40 * MINUTE + b * 1_000, { model }), event(sub, H0 + 40 * MINUTE + b * 1_000 + 1, { model })]));
    // R2 cannot be made to fail on demand locally: the real bucket, refusing the put of one batch.
    const bucket = env.USAGE_ARCHIVE;
    const refusing = new Proxy(bucket, {
      get: (target, prop) =>
        prop === "put"
          ? (key: string, ...rest: unknown[]) =>
              key.includes("r2fails_1") ? Promise.reject(new Error("R2 is unavailable (injected)")) : (target.put as (...a: unknown[]) => Promise<unknown>)(key, ...rest)
          : Reflect.get(target, prop, target),
    });
    const first = await deliver(messages, { USAGE_ARCHIVE: refusing });
    expect(first.acked).toEqual(["r2fails_0", "r2fails_2"]);
    expect(first.retried).toEqual(["r2fails_1"]);
    expect(first.tally.transactions).toBe(1);
    expect((await hourlyRows([sub])).map((r) => r.requests)).toEqual([4]);
    expect(await ledger(messages.map((m) => `ub_${m.id}`))).toEqual([
      { batch_id: "ub_r2fails_0", events: 2 },
      { batch_id: "ub_r2fails_2", events: 2 },
    ]);
    expect(await archived(archiveKeyOf("r2fails_1"))).toEqual([]);
    expect((await minerRows(model)).map((r) => r.second)).toEqual([H0 + 40 * MINUTE, H0 + 40 * MINUTE + 2_000]);

    // Its retry, regrouped with a batch already applied: the new one lands once, archived.
    const retry = await deliver([{ ...messages[1]!, attempts: 2 }, { ...messages[2]!, attempts: 2 }]);
    expect(retry.acked).toEqual(["r2fails_1", "r2fails_2"]);
    expect((await hourlyRows([sub])).map((r) => r.requests)).toEqual([6]);
    expect(await archived(archiveKeyOf("r2fails_1"))).toHaveLength(2);
    expect(await ledger(["ub_r2fails_1"])).toEqual([{ batch_id: "ub_r2fails_1", events: 2 }]);
  });

  it("keeps the recent-requests list across a delivery newest first, cut to N, and moves an hour's list once when the delivery reaches a later hour", async () => {
    const sub = "sub_delivery_recent";
    const keep = { USAGE_RECENT_PER_SUBSCRIBER: "3" };
    const [a, b, c] = [1_000, 2_000, 3_000].map((t) => event(sub, H0 + t));
    // Out of order across the batches of one delivery.
    expect((await deliver([msg("recent_1", [c!, a!]), msg("recent_2", [b!])], keep)).acked).toEqual(["recent_1", "recent_2"]);
    expect(await hourLists(sub)).toEqual([[0, [c!.requestId, b!.requestId, a!.requestId]]]);

    // A delivery that spans the hour: late events of hour 0 in two batches, the next hour's in both.
    const d = event(sub, H0 + 4_000);
    const e = event(sub, H0 + HOUR_MS + 1_000);
    const f = event(sub, H0 + HOUR_MS + 2_000);
    const g = event(sub, H0 + 5_000);
    const spanning = await deliver([msg("recent_3", [d, e]), msg("recent_4", [f, g])], keep);
    expect(spanning.acked).toEqual(["recent_3", "recent_4"]);
    // Hour 0's list got d and g (newest 3 kept) and moved to usage_recent once; hour 1's row holds f, e.
    expect(await hourLists(sub)).toEqual([
      [0, null],
      [HOUR_MS, [f.requestId, e.requestId]],
    ]);
    const moved = await env.DB.prepare("SELECT events FROM usage_recent WHERE subscriber_id = ?").bind(sub).first<{ events: string }>();
    expect((JSON.parse(moved!.events) as UsageEvent[]).map((x) => x.requestId)).toEqual([g.requestId, d.requestId, c!.requestId]);
    expect(await listed(sub)).toEqual([f, e, g, d, c!].map((x) => x.requestId));
    // One transaction: 2 hourly rows (hour 0 updated: 1; hour 1 new: 2), 3 miner seconds (2 each;
    // hour 0's seconds 4 and 5 are new), the move (usage_recent new: 2), the clear (1), 2 ledger rows (4).
    expect(spanning.tally).toEqual({ transactions: 1, rowsWritten: 1 + 2 + 4 * 2 + 2 + 1 + 4 });
  });

  it("splits a delivery above MAX_EVENTS_PER_TRANSACTION into a few transactions, each batch applied once", async () => {
    const sub = "sub_delivery_big";
    const model = "delivery/big";
    const size = 2_000;
    // 3 batches of 2,000: 4,000 fit one transaction, the third takes its own.
    expect(2 * size).toBeLessThanOrEqual(MAX_EVENTS_PER_TRANSACTION);
    expect(3 * size).toBeGreaterThan(MAX_EVENTS_PER_TRANSACTION);
    const messages = [0, 1, 2].map((b) => msg(`big_${b}`, Array.from({ length: size }, (_, k) => event(sub, H0 + 44 * MINUTE + b * 20_000 + k, { model }))));
    const result = await deliver(messages);
    expect(result.acked).toEqual(["big_0", "big_1", "big_2"]);
    expect(result.tally.transactions).toBe(2);
    expect((await hourlyRows([sub])).map((r) => r.requests)).toEqual([3 * size]);
    expect(await ledger(messages.map((m) => `ub_${m.id}`))).toEqual(messages.map((m) => ({ batch_id: `ub_${m.id}`, events: size })));
  });

  it("acknowledges malformed messages of a delivery and applies the rest in one transaction", async () => {
    const sub = "sub_delivery_malformed";
    const result = await deliver([
      { id: "bad_1", body: { hello: "world" } },
      msg("malformed_ok_1", [event(sub, H0 + 41 * MINUTE)]),
      { id: "bad_2", body: { usageBatch: 1, id: "not a valid id!", flushedAt: H0, ndjson: "" } },
      msg("malformed_ok_2", [event(sub, H0 + 41 * MINUTE + 1)]),
      { id: "bad_3", body: "just a string" },
    ]);
    expect(result.acked).toEqual(["bad_1", "bad_2", "bad_3", "malformed_ok_1", "malformed_ok_2"]);
    expect(result.retried).toEqual([]);
    expect(result.tally.transactions).toBe(1);
    expect((await hourlyRows([sub])).map((r) => r.requests)).toEqual([2]);
  });
});
