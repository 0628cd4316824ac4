/**
 * Applies one usage batch to D1 in one `db.batch` (one transaction: all of it lands or none).
 * Exactly once: every rollup statement is guarded by "this batch is not in usage_batches yet",
 * and the batch's ledger row is the transaction's last statement. A redelivered batch (or the
 * producer's direct write racing its own queue message) finds its ledger row and changes nothing;
 * D1 runs write transactions one at a time, so two copies cannot both pass the guard.
 *
 * Rows written per batch: one ledger row, one per (subscriber, key, model, kind, hour) and one per
 * (miner, model, kind, second). None per request, and none per subscriber beyond its hourly rows:
 * the recent-requests list rides in those rows (`usage_hourly.recent`, the newest events of the
 * row) and moves to the subscriber's `usage_recent` row once per hour, when the subscriber's first
 * batch of a later hour arrives (one row, plus clearing the lists it took). Readers see both
 * through the `usage_recent_events` view. A sparse subscriber, alone in most batches, used to pay
 * two rows per request (hourly and recent); now one.
 */
import type { D1Database, D1PreparedStatement } from "@cloudflare/workers-types";
import { countOp } from "../lib/op-counts";
import { archiveKey, type ParsedEvent, type UsageBatch } from "./usage-batch";
import { rollupBatch, type HourlyRow, type MinerSecondRow, type SubscriberHour } from "./usage-rollup";

/** How many recent events the per-request view keeps per subscriber (USAGE_RECENT_PER_SUBSCRIBER). */
export const DEFAULT_RECENT_PER_SUBSCRIBER = 200;

const NOT_APPLIED = "NOT EXISTS (SELECT 1 FROM usage_batches WHERE batch_id = ?1)";

/** Newest first by `createdAt`, cut to `limit`: `union` is a query of one `value` column of events. */
const newestEvents = (union: string, limit: string) =>
  `(SELECT json_group_array(json(value)) FROM (SELECT value FROM (${union}) ORDER BY json_extract(value, '$.createdAt') DESC LIMIT ${limit}))`;

// ?16: the row's events in this batch (JSON array, newest first) or NULL when no list is kept.
const HOURLY_SQL = `
INSERT INTO usage_hourly (subscriber_id, hour, api_key_id, model, kind, day, requests, succeeded, prompt_tokens, completion_tokens,
  prompt_tokens_reported, completion_tokens_reported, cached_prompt_tokens_reported, cost_micro_usd, recent)
SELECT ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16 WHERE ${NOT_APPLIED}
ON CONFLICT (subscriber_id, hour, api_key_id, model, kind) DO UPDATE SET
  recent = CASE WHEN ?16 IS NULL THEN usage_hourly.recent ELSE ${newestEvents("SELECT value FROM json_each(?16) UNION ALL SELECT value FROM json_each(coalesce(usage_hourly.recent, '[]'))", "?17")} END,
  requests = requests + excluded.requests,
  succeeded = succeeded + excluded.succeeded,
  prompt_tokens = prompt_tokens + excluded.prompt_tokens,
  completion_tokens = completion_tokens + excluded.completion_tokens,
  prompt_tokens_reported = prompt_tokens_reported + excluded.prompt_tokens_reported,
  completion_tokens_reported = completion_tokens_reported + excluded.completion_tokens_reported,
  cached_prompt_tokens_reported = cached_prompt_tokens_reported + excluded.cached_prompt_tokens_reported,
  cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd`;

const MINER_SQL = `
INSERT INTO usage_miner_seconds (second, miner_hotkey, model, kind, requests, counted, prompt_tokens, completion_tokens, served, failed,
  refused, cancelled_empty, over_reported, reported_tokens, counted_tokens_of_reported, cost_micro_usd)
SELECT ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17 WHERE ${NOT_APPLIED}
ON CONFLICT (second, miner_hotkey, model, kind) DO UPDATE SET
  requests = requests + excluded.requests,
  counted = counted + excluded.counted,
  prompt_tokens = prompt_tokens + excluded.prompt_tokens,
  completion_tokens = completion_tokens + excluded.completion_tokens,
  served = served + excluded.served,
  failed = failed + excluded.failed,
  refused = refused + excluded.refused,
  cancelled_empty = cancelled_empty + excluded.cancelled_empty,
  over_reported = over_reported + excluded.over_reported,
  reported_tokens = reported_tokens + excluded.reported_tokens,
  counted_tokens_of_reported = counted_tokens_of_reported + excluded.counted_tokens_of_reported,
  cost_micro_usd = cost_micro_usd + excluded.cost_micro_usd`;

// The subscriber's rows of hours before ?3 (the newest hour it has in this batch) that still hold
// a list hand it on to its usage_recent row, newest ?4 kept; written only when there is one.
const CLOSED_LISTS = `SELECT e.value AS value FROM usage_hourly h, json_each(h.recent) e WHERE h.subscriber_id = ?2 AND h.hour < ?3 AND h.recent IS NOT NULL`;
const MOVE_RECENT_SQL = `
INSERT INTO usage_recent (subscriber_id, events, updated_at)
SELECT ?2, ${newestEvents(CLOSED_LISTS, "?4")}, ?5
WHERE ${NOT_APPLIED} AND EXISTS (SELECT 1 FROM usage_hourly WHERE subscriber_id = ?2 AND hour < ?3 AND recent IS NOT NULL)
ON CONFLICT (subscriber_id) DO UPDATE SET
  events = ${newestEvents(`${CLOSED_LISTS} UNION ALL SELECT value FROM json_each(usage_recent.events)`, "?4")},
  updated_at = excluded.updated_at`;

// Then those rows let go of their lists (same transaction: an event is in one place at a time).
const CLEAR_MOVED_SQL = `
UPDATE usage_hourly SET recent = NULL WHERE subscriber_id = ?2 AND hour < ?3 AND recent IS NOT NULL AND ${NOT_APPLIED}`;

const LEDGER_SQL = `
INSERT INTO usage_batches (batch_id, events, archive_key, flushed_at, applied_at) VALUES (?1, ?2, ?3, ?4, ?5)
ON CONFLICT (batch_id) DO NOTHING`;

export interface WriteOptions {
  recentPerSubscriber?: number;
  now?: number;
}

/** Folds a batch's events into the rollups, once per batch id. */
export async function writeUsageBatch(d1: D1Database, batch: UsageBatch, events: readonly ParsedEvent[], opts: WriteOptions = {}): Promise<void> {
  const results = await d1.batch(usageBatchStatements(d1, batch, events, opts));
  // What D1 bills for the transaction, as D1 itself reports it (rows plus index entries).
  countOp("usage.d1_transaction");
  for (const r of results) {
    countOp("usage.d1_rows_written", r.meta.rows_written ?? 0);
    countOp("usage.d1_rows_read", r.meta.rows_read ?? 0);
  }
}

/** The statements of one batch's transaction, in order; the ledger row comes last. */
export function usageBatchStatements(d1: D1Database, batch: UsageBatch, events: readonly ParsedEvent[], opts: WriteOptions = {}): D1PreparedStatement[] {
  const now = opts.now ?? Date.now();
  const keep = opts.recentPerSubscriber ?? DEFAULT_RECENT_PER_SUBSCRIBER;
  const rollup = rollupBatch(events, keep);
  return [
    ...rollup.hourly.map((r) => hourly(d1, batch.id, r, keep)),
    ...rollup.minerSeconds.map((r) => minerSecond(d1, batch.id, r)),
    ...(keep > 0 ? rollup.subscribers.flatMap((s) => moveClosedLists(d1, batch.id, s, keep, now)) : []),
    d1.prepare(LEDGER_SQL).bind(batch.id, events.length, archiveKey(batch), batch.flushedAt, now),
  ];
}

function hourly(d1: D1Database, batchId: string, r: HourlyRow, keep: number): D1PreparedStatement {
  return d1
    .prepare(HOURLY_SQL)
    .bind(
      batchId,
      r.subscriberId,
      r.hour,
      r.apiKeyId,
      r.model,
      r.kind,
      r.day,
      r.requests,
      r.succeeded,
      r.promptTokens,
      r.completionTokens,
      r.promptTokensReported,
      r.completionTokensReported,
      r.cachedPromptTokensReported,
      r.costMicroUsd,
      keep > 0 ? `[${r.events.join(",")}]` : null,
      keep,
    );
}

function minerSecond(d1: D1Database, batchId: string, r: MinerSecondRow): D1PreparedStatement {
  return d1
    .prepare(MINER_SQL)
    .bind(
      batchId,
      r.second,
      r.minerHotkey,
      r.model,
      r.kind,
      r.requests,
      r.counted,
      r.promptTokens,
      r.completionTokens,
      r.served,
      r.failed,
      r.refused,
      r.cancelledEmpty,
      r.overReported,
      r.reportedTokens,
      r.countedTokensOfReported,
      r.costMicroUsd,
    );
}

function moveClosedLists(d1: D1Database, batchId: string, s: SubscriberHour, keep: number, now: number): D1PreparedStatement[] {
  return [d1.prepare(MOVE_RECENT_SQL).bind(batchId, s.subscriberId, s.hour, keep, now), d1.prepare(CLEAR_MOVED_SQL).bind(batchId, s.subscriberId, s.hour)];
}
