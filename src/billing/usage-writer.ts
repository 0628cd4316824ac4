/**
 * Applies usage batches to D1 in one `db.batch` (one transaction: all of it lands or none). The
 * queue consumer hands it every batch of one delivery at once (consumer.ts); the producer's direct
 * write hands it one. One SQL path either way: a single batch is a delivery of one.
 *
 * Exactly once: the transaction's FIRST statement inserts the batches' ledger rows
 * (`usage_batches`, primary key `batch_id`) as a plain INSERT. If any of them was applied before
 * (a redelivery regrouped differently, the direct write racing its queue copy), the primary key
 * fails that statement and D1 rolls back the whole `db.batch` ("Batched statements are SQL
 * transactions. If a statement in the sequence fails, then an error is returned for that specific
 * statement, and it aborts or rolls back the entire sequence", D1 client API, batch statements):
 * nothing changes, and `writeUsageBatches` recognises that one error (`isAlreadyApplied`; an error
 * it does not recognise is checked against the ledger itself, `ledgerHasAny`) and says "not applied"; the caller then applies the rest one by one, each by the same SQL with its own
 * id. Any other error is thrown (the caller retries). D1 runs write transactions one at a time, so
 * two copies of a batch cannot both insert their ledger row. The rollup statements after it carry
 * no guard: the ledger is checked once per transaction, by its primary-key index, instead of once
 * per statement (the former `NOT EXISTS … json_each(all ids)` guard on every statement made D1
 * report 10,240 rows read for a 400-request delivery, now 1,810: test/worker/consumer-delivery.test.ts).
 *
 * Rows written per transaction: the ledger rows, one per (subscriber, key, model, kind, hour) and
 * one per (miner, model, kind, second) across ALL its batches (their events are summed first, in
 * usage-rollup.ts), so a subscriber seen in ten messages of a delivery costs one hourly upsert, not
 * ten. None per request: the recent-requests list rides in the hourly rows
 * (`usage_hourly.recent`, the newest events of the row) and moves to the subscriber's
 * `usage_recent` row once per hour, when a transaction brings the subscriber's first events of a
 * later hour (one row, plus clearing the lists it took). Readers see both through the
 * `usage_recent_events` view.
 */
import type { D1Database, D1PreparedStatement, D1Result } from "@cloudflare/workers-types";
import { countOp } from "../lib/op-counts";
import { archiveKey, type ParsedEvent, type UsageBatch } from "./usage-batch";
import { rollupBatch, type HourlyRow, type MinerSecondRow, type SubscriberHour } from "./usage-rollup";

/** How many recent events the per-request view keeps per subscriber (USAGE_RECENT_PER_SUBSCRIBER). */
export const DEFAULT_RECENT_PER_SUBSCRIBER = 200;

/** Newest first by `createdAt`, cut to `limit`: `union` is a query of one `value` column of events. */
const newestEvents = (union: string, limit: string) =>
  `(SELECT json_group_array(json(value)) FROM (SELECT value FROM (${union}) ORDER BY json_extract(value, '$.createdAt') DESC LIMIT ${limit}))`;

// ?15: the row's events in this transaction (JSON array, newest first, cut to ?16) or NULL when no list is kept.
const HOURLY_SQL = `
INSERT INTO usage_hourly (subscriber_id, hour, api_key_id, model, kind, day, requests, succeeded, prompt_tokens, completion_tokens,
  prompt_tokens_reported, completion_tokens_reported, cached_prompt_tokens_reported, cost_micro_usd, recent)
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15)
ON CONFLICT (subscriber_id, hour, api_key_id, model, kind) DO UPDATE SET
  recent = CASE WHEN ?15 IS NULL THEN usage_hourly.recent ELSE ${newestEvents("SELECT value FROM json_each(?15) UNION ALL SELECT value FROM json_each(coalesce(usage_hourly.recent, '[]'))", "?16")} END,
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
VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
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

// The subscriber's rows of hours before ?2 (the newest hour it has in this transaction) that still hold
// a list hand it on to its usage_recent row, newest ?3 kept; written only when there is one.
const CLOSED_LISTS = `SELECT e.value AS value FROM usage_hourly h, json_each(h.recent) e WHERE h.subscriber_id = ?1 AND h.hour < ?2 AND h.recent IS NOT NULL`;
const MOVE_RECENT_SQL = `
INSERT INTO usage_recent (subscriber_id, events, updated_at)
SELECT ?1, ${newestEvents(CLOSED_LISTS, "?3")}, ?4
WHERE EXISTS (SELECT 1 FROM usage_hourly WHERE subscriber_id = ?1 AND hour < ?2 AND recent IS NOT NULL)
ON CONFLICT (subscriber_id) DO UPDATE SET
  events = ${newestEvents(`${CLOSED_LISTS} UNION ALL SELECT value FROM json_each(usage_recent.events)`, "?3")},
  updated_at = excluded.updated_at`;

// Then those rows let go of their lists (same transaction: an event is in one place at a time).
const CLEAR_MOVED_SQL = `
UPDATE usage_hourly SET recent = NULL WHERE subscriber_id = ?1 AND hour < ?2 AND recent IS NOT NULL`;

// The transaction's first statement. ?1: one [batch id, events, archive key, flushed at] per batch,
// as one JSON array. A plain INSERT on purpose (no ON CONFLICT): a batch id already in the ledger
// fails it, and with it the whole transaction (see the header and isAlreadyApplied).
const LEDGER_SQL = `
INSERT INTO usage_batches (batch_id, events, archive_key, flushed_at, applied_at)
SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]'), json_extract(value, '$[2]'), json_extract(value, '$[3]'), ?2
FROM json_each(?1)`;

/**
 * True when `err` is the ledger insert's primary key refusing a batch id already applied: SQLite's
 * "UNIQUE constraint failed: usage_batches.batch_id" (D1 wraps it, e.g.
 * "D1_ERROR: … : SQLITE_CONSTRAINT", and may carry it in `cause`). Matched narrowly: any other
 * failure, another constraint included, is a real error to retry.
 */
export function isAlreadyApplied(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 3; e = e.cause, depth++) {
    if (/\bUNIQUE constraint failed: usage_batches\.batch_id\b/.test(e.message)) return true;
  }
  return false;
}

/**
 * After a failure whose text `isAlreadyApplied` does not recognise: does the ledger already hold
 * one of these batches? Then the failure was (or, if the text ever changes, may have been) the
 * ledger's primary key, and the caller's per-batch fallback is what applies the rest; otherwise
 * the error is real. So exactly-once never depends on D1's wording, only the cheap path does. A
 * failing check (D1 unreachable) answers "no": the original error is thrown and retried.
 */
async function ledgerHasAny(d1: D1Database, batches: readonly BatchEvents[]): Promise<boolean> {
  try {
    const ids = JSON.stringify(batches.map((b) => b.batch.id));
    const row = await d1.prepare(LEDGER_HAS_ANY_SQL).bind(ids).first<{ found: number }>();
    if (row?.found) console.warn("usage writer: a transaction failed with an error not recognised as the ledger's primary key, but the ledger holds one of its batches: treated as applied before", batches.length);
    return Boolean(row?.found);
  } catch {
    return false;
  }
}

const LEDGER_HAS_ANY_SQL = `SELECT EXISTS (SELECT 1 FROM usage_batches WHERE batch_id IN (SELECT value FROM json_each(?1))) AS found`;

export interface WriteOptions {
  recentPerSubscriber?: number;
  now?: number;
}

/** A batch with its parsed events (lines that are not events are archived, never applied). */
export interface BatchEvents {
  batch: UsageBatch;
  events: readonly ParsedEvent[];
}

/**
 * Folds these batches into the rollups in one transaction, all or none. True when it applied them;
 * false when it changed nothing because at least one of them was applied before (the ledger
 * insert failed on its primary key and D1 rolled the transaction back). Any other failure is
 * thrown, nothing of it written. A batch id given twice counts once (the first copy).
 */
export async function writeUsageBatches(d1: D1Database, batches: readonly BatchEvents[], opts: WriteOptions = {}): Promise<boolean> {
  if (batches.length === 0) return true;
  let results: D1Result[];
  try {
    results = await d1.batch(deliveryStatements(d1, batches, opts));
  } catch (err) {
    if (!isAlreadyApplied(err) && !(await ledgerHasAny(d1, batches))) throw err;
    // Rolled back: nothing written, and D1 reports no rows for a failed batch.
    countOp("usage.d1_transaction");
    return false;
  }
  // What D1 bills for the transaction, as D1 itself reports it (rows plus index entries).
  countOp("usage.d1_transaction");
  for (const r of results) {
    countOp("usage.d1_rows_written", r.meta.rows_written ?? 0);
    countOp("usage.d1_rows_read", r.meta.rows_read ?? 0);
  }
  return true;
}

/** Folds one batch into the rollups, once per batch id (a batch applied before changes nothing). */
export async function writeUsageBatch(d1: D1Database, batch: UsageBatch, events: readonly ParsedEvent[], opts: WriteOptions = {}): Promise<boolean> {
  return writeUsageBatches(d1, [{ batch, events }], opts);
}

/** The statements of one batch's transaction, in order; the ledger row comes first. */
export function usageBatchStatements(d1: D1Database, batch: UsageBatch, events: readonly ParsedEvent[], opts: WriteOptions = {}): D1PreparedStatement[] {
  return deliveryStatements(d1, [{ batch, events }], opts);
}

/** The statements of one transaction over these batches, in order; the ledger rows come first. */
export function deliveryStatements(d1: D1Database, given: readonly BatchEvents[], opts: WriteOptions = {}): D1PreparedStatement[] {
  const now = opts.now ?? Date.now();
  const keep = opts.recentPerSubscriber ?? DEFAULT_RECENT_PER_SUBSCRIBER;
  // A batch id is its identity: a second copy would fail the ledger insert against the first.
  const byId = new Map<string, BatchEvents>();
  for (const b of given) if (!byId.has(b.batch.id)) byId.set(b.batch.id, b);
  const batches = [...byId.values()];
  // Summed across the batches: one row per rollup key however many batches it appears in.
  const rollup = rollupBatch(
    batches.flatMap((b) => b.events),
    keep,
  );
  const ledger = JSON.stringify(batches.map(({ batch, events }) => [batch.id, events.length, archiveKey(batch), batch.flushedAt]));
  return [
    d1.prepare(LEDGER_SQL).bind(ledger, now),
    ...rollup.hourly.map((r) => hourly(d1, r, keep)),
    ...rollup.minerSeconds.map((r) => minerSecond(d1, r)),
    ...(keep > 0 ? rollup.subscribers.flatMap((s) => moveClosedLists(d1, s, keep, now)) : []),
  ];
}

function hourly(d1: D1Database, r: HourlyRow, keep: number): D1PreparedStatement {
  return d1
    .prepare(HOURLY_SQL)
    .bind(
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

function minerSecond(d1: D1Database, r: MinerSecondRow): D1PreparedStatement {
  return d1
    .prepare(MINER_SQL)
    .bind(
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

function moveClosedLists(d1: D1Database, s: SubscriberHour, keep: number, now: number): D1PreparedStatement[] {
  return [d1.prepare(MOVE_RECENT_SQL).bind(s.subscriberId, s.hour, keep, now), d1.prepare(CLEAR_MOVED_SQL).bind(s.subscriberId, s.hour)];
}
