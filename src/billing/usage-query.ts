/**
 * Usage reports from D1: totals and per model per UTC day, for one subscriber (the caller's own
 * `GET /v1/usage`) or for everyone (admin), summed from the hourly rollup; and single requests
 * from the recent-requests list. Both the miner-reported and the gateway-counted token figures
 * are shown: they differ when a miner over- or under-reports.
 *
 * `since`/`until` select whole UTC hours: an hour counts when it starts in
 * [since rounded down to its hour, until). Per-request rows are filtered exactly.
 */
import { and, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { database } from "../db/client";
import { usageHourly } from "../db/schema";
import { isUsageEvent, type UsageEvent } from "./usage-event";
import { HOUR_MS } from "./usage-rollup";

export interface UsageFilter {
  subscriberId?: string;
  /** Inclusive, Unix ms. */
  since?: number;
  /** Exclusive, Unix ms. */
  until?: number;
}

const h = usageHourly;
const sums = {
  requests: sql<number>`coalesce(sum(${h.requests}), 0)`,
  succeeded: sql<number>`coalesce(sum(${h.succeeded}), 0)`,
  prompt_tokens: sql<number>`coalesce(sum(${h.promptTokens}), 0)`,
  completion_tokens: sql<number>`coalesce(sum(${h.completionTokens}), 0)`,
  prompt_tokens_reported: sql<number>`coalesce(sum(${h.promptTokensReported}), 0)`,
  completion_tokens_reported: sql<number>`coalesce(sum(${h.completionTokensReported}), 0)`,
  cost_micro_usd: sql<number>`coalesce(sum(${h.costMicroUsd}), 0)`,
};

export async function usageReport(d1: D1Database, filter: UsageFilter) {
  const db = database(d1);
  const where = whereOf(filter);
  const [totals, byModelDay] = await db.batch([
    db.select(sums).from(h).where(where),
    db.select({ day: h.day, model: h.model, ...sums }).from(h).where(where).groupBy(h.day, h.model).orderBy(h.day, h.model),
  ]);
  return { totals: totals[0] ?? null, by_model_day: byModelDay };
}

function whereOf(f: UsageFilter): SQL | undefined {
  const parts: SQL[] = [];
  if (f.subscriberId !== undefined) parts.push(eq(h.subscriberId, f.subscriberId));
  if (f.since !== undefined) parts.push(gte(h.hour, Math.floor(f.since / HOUR_MS) * HOUR_MS));
  if (f.until !== undefined) parts.push(lt(h.hour, f.until));
  return parts.length ? and(...parts) : undefined;
}

/** The API shape of one request (snake_case, the names the per-request rows always had). */
export function requestRow(e: UsageEvent) {
  return {
    request_id: e.requestId,
    kind: e.kind,
    subscriber_id: e.subscriberId,
    api_key_id: e.apiKeyId,
    endpoint: e.endpoint,
    model: e.model,
    miner_hotkey: e.minerHotkey,
    status: e.status,
    http_status: e.httpStatus,
    error_code: e.errorCode,
    streamed: e.streamed,
    attempts: e.attempts,
    prompt_tokens_reported: e.promptTokensReported ?? null,
    completion_tokens_reported: e.completionTokensReported ?? null,
    prompt_tokens_counted: e.promptTokensCounted,
    completion_tokens_counted: e.completionTokensCounted,
    ttft_ms: e.ttftMs,
    duration_ms: e.durationMs,
    created_at: e.createdAt,
    cached_prompt_tokens_reported: e.cachedPromptTokensReported ?? null,
    cost_micro_usd: e.costMicroUsd ?? 0,
    /** Every miner tried, in order, with what it delivered: two answering miners when a broken stream was continued. */
    attempt_log: (e.attemptLog ?? []).map((a) => ({ miner_hotkey: a.minerHotkey, outcome: a.outcome, completion_tokens: a.completionTokens })),
  };
}

export type RequestRow = ReturnType<typeof requestRow>;

/**
 * The recent requests in the filter, oldest first, at most `limit`: what the recent-requests list
 * holds (USAGE_RECENT_PER_SUBSCRIBER per subscriber; older requests are in the R2 archive).
 */
export async function usageRows(d1: D1Database, filter: UsageFilter, limit: number): Promise<RequestRow[]> {
  const events = await recentEvents(d1, filter);
  return events
    .sort((a, b) => a.createdAt - b.createdAt || (a.requestId < b.requestId ? -1 : 1))
    .slice(0, limit)
    .map(requestRow);
}

/** A subscriber's most recent requests, newest first (the app's recent-requests list). */
export async function recentRequests(d1: D1Database, subscriberId: string, opts: { limit: number; before?: number }): Promise<RequestRow[]> {
  const events = await recentEvents(d1, { subscriberId, until: opts.before });
  return events
    .sort((a, b) => b.createdAt - a.createdAt || (a.requestId < b.requestId ? 1 : -1))
    .slice(0, opts.limit)
    .map(requestRow);
}

async function recentEvents(d1: D1Database, f: UsageFilter): Promise<UsageEvent[]> {
  const stmt =
    f.subscriberId === undefined
      ? d1.prepare("SELECT events FROM usage_recent_events")
      : d1.prepare("SELECT events FROM usage_recent_events WHERE subscriber_id = ?").bind(f.subscriberId);
  const { results } = await stmt.all<{ events: string }>();
  const out: UsageEvent[] = [];
  for (const row of results) {
    const parsed: unknown = JSON.parse(row.events);
    if (!Array.isArray(parsed)) continue;
    for (const e of parsed) {
      if (!isUsageEvent(e)) continue;
      if (f.since !== undefined && e.createdAt < f.since) continue;
      if (f.until !== undefined && e.createdAt >= f.until) continue;
      out.push(e);
    }
  }
  return out;
}

/** How usage was recorded: batches applied and the events in them (admin, benchmark cost model). */
export async function usageRecorded(d1: D1Database): Promise<{ batches: number; events: number }> {
  const row = await d1.prepare("SELECT count(*) AS batches, coalesce(sum(events), 0) AS events FROM usage_batches WHERE archive_key <> ''").first<{ batches: number; events: number }>();
  return row ?? { batches: 0, events: 0 };
}
