/**
 * Usage reports from D1: totals and per model per UTC day, for one subscriber (the caller's own
 * `GET /v1/usage`) or for everyone (admin). Both the miner-reported and the gateway-counted token
 * figures are shown: they differ when a miner over- or under-reports.
 */
import { and, count, eq, gte, lt, sql, type SQL } from "drizzle-orm";
import { database } from "../db/client";
import { usageEvents } from "../db/schema";

export interface UsageFilter {
  subscriberId?: string;
  /** Inclusive, Unix ms. */
  since?: number;
  /** Exclusive, Unix ms. */
  until?: number;
}

const sums = {
  requests: count(),
  succeeded: sql<number>`coalesce(sum(case when ${usageEvents.status} = 'ok' then 1 else 0 end), 0)`,
  prompt_tokens: sql<number>`coalesce(sum(${usageEvents.promptTokensCounted}), 0)`,
  completion_tokens: sql<number>`coalesce(sum(${usageEvents.completionTokensCounted}), 0)`,
  prompt_tokens_reported: sql<number>`coalesce(sum(${usageEvents.promptTokensReported}), 0)`,
  completion_tokens_reported: sql<number>`coalesce(sum(${usageEvents.completionTokensReported}), 0)`,
  cost_micro_usd: sql<number>`coalesce(sum(${usageEvents.costMicroUsd}), 0)`,
};

export async function usageReport(d1: D1Database, filter: UsageFilter) {
  const db = database(d1);
  const where = whereOf(filter);
  const [totals, byModelDay] = await db.batch([
    db.select(sums).from(usageEvents).where(where),
    db
      .select({ day: usageEvents.day, model: usageEvents.model, ...sums })
      .from(usageEvents)
      .where(where)
      .groupBy(usageEvents.day, usageEvents.model)
      .orderBy(usageEvents.day, usageEvents.model),
  ]);
  return { totals: totals[0] ?? null, by_model_day: byModelDay };
}

/** Raw usage rows with the API's snake_case field names (the column names). */
export async function usageRows(d1: D1Database, filter: UsageFilter, limit: number) {
  const t = usageEvents;
  return database(d1)
    .select({
      request_id: t.requestId,
      kind: t.kind,
      subscriber_id: t.subscriberId,
      api_key_id: t.apiKeyId,
      endpoint: t.endpoint,
      model: t.model,
      miner_hotkey: t.minerHotkey,
      status: t.status,
      http_status: t.httpStatus,
      error_code: t.errorCode,
      streamed: t.streamed,
      attempts: t.attempts,
      prompt_tokens_reported: t.promptTokensReported,
      completion_tokens_reported: t.completionTokensReported,
      prompt_tokens_counted: t.promptTokensCounted,
      completion_tokens_counted: t.completionTokensCounted,
      ttft_ms: t.ttftMs,
      duration_ms: t.durationMs,
      created_at: t.createdAt,
      cached_prompt_tokens_reported: t.cachedPromptTokensReported,
      cost_micro_usd: t.costMicroUsd,
    })
    .from(t)
    .where(whereOf(filter))
    .orderBy(t.createdAt)
    .limit(limit)
    .all();
}

function whereOf(f: UsageFilter): SQL | undefined {
  const parts: SQL[] = [];
  if (f.subscriberId !== undefined) parts.push(eq(usageEvents.subscriberId, f.subscriberId));
  if (f.since !== undefined) parts.push(gte(usageEvents.createdAt, f.since));
  if (f.until !== undefined) parts.push(lt(usageEvents.createdAt, f.until));
  return parts.length ? and(...parts) : undefined;
}
