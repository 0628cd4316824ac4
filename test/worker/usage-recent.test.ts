// The recent-requests list rides in the hourly rollup rows and moves to usage_recent once an hour
// (src/billing/usage-writer.ts). Against the real D1: what readers see through the view, that a
// replayed batch changes nothing (its ledger insert, first, fails and D1 rolls the transaction back),
// that the list keeps only the newest events, and what each batch writes (one row for a
// subscriber's second batch in the same hour, not two).
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { ParsedEvent, UsageBatch } from "../../src/billing/usage-batch";
import type { UsageEvent } from "../../src/billing/usage-event";
import { recentRequests } from "../../src/billing/usage-query";
import { HOUR_MS } from "../../src/billing/usage-rollup";
import { isAlreadyApplied, usageBatchStatements, writeUsageBatch } from "../../src/billing/usage-writer";
import { usageEvent } from "./usage-events";

const H0 = Date.UTC(2026, 10, 24, 12);
let n = 0;

function event(subscriberId: string, createdAt: number, over: Partial<UsageEvent> = {}): UsageEvent {
  return usageEvent({ requestId: `req_recent_${++n}`, subscriberId, apiKeyId: "key_recent", model: "recent/model", createdAt, ...over });
}

const batchOf = (events: UsageEvent[], id: string): { batch: UsageBatch; parsed: ParsedEvent[] } => ({
  batch: { id, flushedAt: Date.now(), ndjson: events.map((e) => JSON.stringify(e)).join("\n") },
  parsed: events.map((e) => ({ event: e, json: JSON.stringify(e) })),
});

/**
 * Applies one batch as the consumer does and returns the rows D1 says each statement wrote (none
 * when the batch was applied before: its ledger insert fails and D1 rolls the transaction back).
 */
async function writeRows(events: UsageEvent[], keep = 200, id = `ub_recent_${++n}`): Promise<number[]> {
  const { batch, parsed } = batchOf(events, id);
  try {
    const results = await env.DB.batch(usageBatchStatements(env.DB, batch, parsed, { recentPerSubscriber: keep }));
    return results.map((r) => r.meta.rows_written ?? 0);
  } catch (err) {
    if (isAlreadyApplied(err)) return [];
    throw err;
  }
}

const write = async (events: UsageEvent[], keep = 200, id?: string) => (await writeRows(events, keep, id)).reduce((t, r) => t + r, 0);

const ids = (rows: { request_id: string }[]) => rows.map((r) => r.request_id);
const listed = async (sub: string) => ids(await recentRequests(env.DB, sub, { limit: 1_000 }));
const hourLists = async (sub: string) =>
  (await env.DB.prepare("SELECT hour, recent FROM usage_hourly WHERE subscriber_id = ? ORDER BY hour").bind(sub).all<{ hour: number; recent: string | null }>()).results.map(
    (r) => [r.hour - H0, r.recent === null ? null : (JSON.parse(r.recent) as UsageEvent[]).length],
  );

describe("recent-requests list in the hourly rows", () => {
  it("keeps the current hour's events in its row and hands them to usage_recent when a later hour arrives", async () => {
    const sub = "sub_recent_move";
    const a = event(sub, H0 + 1_000);
    const b = event(sub, H0 + 2_000);
    await write([a]);
    await write([b]);
    expect(await listed(sub)).toEqual([b.requestId, a.requestId]);
    expect(await hourLists(sub)).toEqual([[0, 2]]);
    const recentRow = () => env.DB.prepare("SELECT events FROM usage_recent WHERE subscriber_id = ?").bind(sub).first<{ events: string }>();
    expect(await recentRow()).toBeNull();

    const c = event(sub, H0 + HOUR_MS + 5);
    await write([c]);
    // The earlier hour's list moved; the new hour's row holds the new event; nothing doubled.
    expect(await hourLists(sub)).toEqual([
      [0, null],
      [HOUR_MS, 1],
    ]);
    expect((JSON.parse((await recentRow())!.events) as UsageEvent[]).map((e) => e.requestId)).toEqual([b.requestId, a.requestId]);
    expect(await listed(sub)).toEqual([c.requestId, b.requestId, a.requestId]);

    // A late event of the earlier hour lands in that hour's row and moves with the next batch.
    const late = event(sub, H0 + 3_000);
    await write([late]);
    expect(await listed(sub)).toEqual([c.requestId, late.requestId, b.requestId, a.requestId]);
    const d = event(sub, H0 + HOUR_MS + 10);
    await write([d]);
    expect(await hourLists(sub)).toEqual([
      [0, null],
      [HOUR_MS, 2],
    ]);
    expect(await listed(sub)).toEqual([d.requestId, c.requestId, late.requestId, b.requestId, a.requestId]);
  });

  it("changes nothing when a batch is applied again, a move included", async () => {
    const sub = "sub_recent_replay";
    await write([event(sub, H0 + 1)]);
    const next = [event(sub, H0 + HOUR_MS + 1)];
    await write(next, 200, "ub_recent_replayed");
    const before = await listed(sub);
    const lists = await hourLists(sub);
    expect(await write(next, 200, "ub_recent_replayed")).toBe(0);
    // The ledger insert comes first and fails on the batch id; the writer says "not applied".
    const { batch, parsed } = batchOf(next, "ub_recent_replayed");
    await expect(env.DB.batch(usageBatchStatements(env.DB, batch, parsed))).rejects.toThrow(/UNIQUE constraint failed: usage_batches\.batch_id/);
    expect(await writeUsageBatch(env.DB, batch, parsed)).toBe(false);
    expect(await listed(sub)).toEqual(before);
    expect(await hourLists(sub)).toEqual(lists);
    expect(before).toHaveLength(2);
  });

  it("keeps only the newest events per row and in usage_recent", async () => {
    const sub = "sub_recent_cut";
    const first = [0, 1, 2, 3, 4].map((i) => event(sub, H0 + i * 1_000));
    await write(first.slice(0, 2), 3);
    await write(first.slice(2), 3);
    expect(await listed(sub)).toEqual([first[4]!, first[3]!, first[2]!].map((e) => e.requestId));
    const later = event(sub, H0 + HOUR_MS);
    await write([later], 3);
    expect(await listed(sub)).toEqual([later, first[4]!, first[3]!, first[2]!].map((e) => e.requestId));
  });

  it("keeps no list when USAGE_RECENT_PER_SUBSCRIBER is 0", async () => {
    const sub = "sub_recent_none";
    await write([event(sub, H0)], 0);
    await write([event(sub, H0 + HOUR_MS)], 0);
    expect(await listed(sub)).toEqual([]);
    expect(await hourLists(sub)).toEqual([
      [0, null],
      [HOUR_MS, null],
    ]);
  });

  it("writes one row for a subscriber's batch in an hour it already has (two with the separate list before)", async () => {
    const sub = "sub_recent_rows";
    const minute = 37 * 60_000;
    await write([event(sub, H0 + minute)]);
    // Statements in order: the ledger (new: row and key, 2), the hourly row (updated: 1), the
    // miner's second (new: 2), the move and the clear (nothing to move: 0, 0).
    expect(await writeRows([event(sub, H0 + minute + 1_000)])).toEqual([2, 1, 2, 0, 0]);
    // The first batch of the next hour moves the list: the ledger (2), the new hourly row (2), the
    // miner's second (2), usage_recent (new: 2), the cleared row (1).
    expect(await writeRows([event(sub, H0 + HOUR_MS + minute)])).toEqual([2, 2, 2, 2, 1]);
  });
});
