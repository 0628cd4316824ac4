// Settlement's inputs as they were computed before batched metering (migrations <= 0007): one
// row per request in usage_events and this statement over a window of them, copied verbatim from
// src/chain/settlement/usage.ts at 76ba182. Tests run it over the same events the rollups were
// built from, to show the rollups give settlement exactly what it had before.
import type { UsageEvent } from "../../src/billing/usage-event";

export const LEGACY_USAGE_WINDOW_SQL = `
WITH r AS (
  SELECT miner_hotkey, model, kind, status,
    prompt_tokens_counted AS pc, completion_tokens_counted AS cc,
    (prompt_tokens_reported IS NOT NULL OR completion_tokens_reported IS NOT NULL) AS has_report,
    coalesce(prompt_tokens_reported, prompt_tokens_counted) + coalesce(completion_tokens_reported, completion_tokens_counted) AS reported,
    (status = 'ok' OR (status = 'client_cancelled' AND completion_tokens_counted > 0)) AS served,
    (status = 'miner_error' AND http_status BETWEEN 400 AND 499) AS refused,
    (status = 'client_cancelled' AND completion_tokens_counted = 0) AS cancelled_empty
  FROM usage_events
  WHERE created_at >= ?1 AND created_at < ?2 AND miner_hotkey IS NOT NULL
), f AS (
  SELECT *, (served AND has_report AND reported > ((pc + cc) * 110 + 99) / 100 + 16) AS over
  FROM r
)
SELECT miner_hotkey AS hotkey, model, kind,
  count(*) AS requests,
  sum(served AND NOT over) AS counted,
  sum(CASE WHEN served AND NOT over THEN pc ELSE 0 END) AS prompt_tokens,
  sum(CASE WHEN served AND NOT over THEN cc ELSE 0 END) AS completion_tokens,
  sum(served) AS served,
  sum(NOT served AND NOT refused AND NOT cancelled_empty) AS failed,
  sum(refused) AS refused,
  sum(cancelled_empty) AS cancelled_empty,
  sum(over) AS over_reported,
  sum(CASE WHEN served AND has_report THEN reported ELSE 0 END) AS reported_tokens,
  sum(CASE WHEN served AND has_report THEN pc + cc ELSE 0 END) AS counted_tokens_of_reported
FROM f
GROUP BY miner_hotkey, model, kind
ORDER BY miner_hotkey, model, kind`;

export const LEGACY_REVENUE_SQL = `
SELECT coalesce(sum(cost_micro_usd), 0) AS revenue
FROM usage_events
WHERE created_at >= ?1 AND created_at < ?2 AND kind = 'subscriber'`;

/** The legacy per-request row of an event (what the old consumer inserted). */
export const LEGACY_INSERT_SQL = `
INSERT INTO usage_events (request_id, kind, subscriber_id, api_key_id, endpoint, model, miner_hotkey, status, http_status, error_code, streamed,
  attempts, prompt_tokens_reported, completion_tokens_reported, prompt_tokens_counted, completion_tokens_counted, ttft_ms, duration_ms, created_at,
  cached_prompt_tokens_reported, cost_micro_usd, day)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

export function legacyRow(e: UsageEvent): unknown[] {
  return [
    e.requestId, e.kind, e.subscriberId, e.apiKeyId, e.endpoint, e.model, e.minerHotkey, e.status, e.httpStatus, e.errorCode, e.streamed ? 1 : 0,
    e.attempts, e.promptTokensReported ?? null, e.completionTokensReported ?? null, e.promptTokensCounted, e.completionTokensCounted, e.ttftMs,
    e.durationMs, e.createdAt, e.cachedPromptTokensReported ?? null, e.costMicroUsd ?? 0, new Date(e.createdAt).toISOString().slice(0, 10),
  ];
}
