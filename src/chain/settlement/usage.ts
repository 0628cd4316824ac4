// Reads one epoch window of usage rows from D1, grouped per miner, model and kind, already sorted
// into what counts as verified work and what does not. The SQL is exported: it is the statement an
// operator runs to recompute a settlement's inputs (README, "Settlement with miners").
import type { D1Database } from "@cloudflare/workers-types";

/** Billing believes a miner's token report up to 10% over the gateway's own count (src/billing/pricing.ts REPORT_TOLERANCE_PERCENT). */
export const REPORT_TOLERANCE_PERCENT = 10;
/** On top of that, chat-template overhead a real tokenizer adds to a prompt: below it nothing is "over-reported". */
export const OVER_REPORT_SLACK_TOKENS = 16;

/**
 * Per row, with pr/cr the reported prompt/completion tokens (the counted value when not reported):
 * - served: status 'ok', or 'client_cancelled' after output was delivered;
 * - refused: the miner answered 4xx (the request's fault): neither success nor failure;
 * - cancelled_empty: the client left before any output: neither;
 * - failed: everything else that reached the miner (errors, timeouts, bad answers, cut streams);
 * - over: served with a usage report claiming more than
 *   (counted x (100 + REPORT_TOLERANCE_PERCENT) + 99) / 100 + OVER_REPORT_SLACK_TOKENS tokens.
 * Counted work = served AND NOT over, in gateway-counted tokens. ?1/?2 bound created_at [start, end).
 * Rows with status request_error (every miner failed the same request the same way: the request's
 * fault) or internal_error (the gateway's own failure) are left out: they say nothing about a miner.
 */
export const USAGE_WINDOW_SQL = `
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
    AND status NOT IN ('request_error', 'internal_error')
), f AS (
  SELECT *, (served AND has_report AND reported > ((pc + cc) * ${100 + REPORT_TOLERANCE_PERCENT} + 99) / 100 + ${OVER_REPORT_SLACK_TOKENS}) AS over
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

/** What subscribers were charged in the window: the revenue a payout share is taken from. */
export const REVENUE_WINDOW_SQL = `
SELECT coalesce(sum(cost_micro_usd), 0) AS revenue
FROM usage_events
WHERE created_at >= ?1 AND created_at < ?2 AND kind = 'subscriber'`;

export type UsageGroup = {
  hotkey: string;
  model: string;
  kind: "subscriber" | "canary";
  requests: number;
  counted: number;
  promptTokens: number;
  completionTokens: number;
  served: number;
  failed: number;
  refused: number;
  cancelledEmpty: number;
  overReported: number;
  reportedTokens: number;
  countedTokensOfReported: number;
};

type GroupRow = {
  hotkey: string;
  model: string;
  kind: string;
  requests: number;
  counted: number;
  prompt_tokens: number;
  completion_tokens: number;
  served: number;
  failed: number;
  refused: number;
  cancelled_empty: number;
  over_reported: number;
  reported_tokens: number;
  counted_tokens_of_reported: number;
};

export type UsageWindow = { groups: UsageGroup[]; revenueMicroUsd: bigint };

/** The usage rows of [start, end) (Unix ms), grouped; one D1 batch, so both reads see the same data. */
export async function readUsageWindow(db: D1Database, start: number, end: number): Promise<UsageWindow> {
  const [groups, revenue] = await db.batch([db.prepare(USAGE_WINDOW_SQL).bind(start, end), db.prepare(REVENUE_WINDOW_SQL).bind(start, end)]);
  const rows = (groups?.results ?? []) as GroupRow[];
  const revenueRow = (revenue?.results?.[0] ?? { revenue: 0 }) as { revenue: number };
  return {
    groups: rows.map((r) => ({
      hotkey: r.hotkey,
      model: r.model,
      kind: r.kind === "canary" ? "canary" : "subscriber",
      requests: r.requests,
      counted: r.counted,
      promptTokens: r.prompt_tokens,
      completionTokens: r.completion_tokens,
      served: r.served,
      failed: r.failed,
      refused: r.refused,
      cancelledEmpty: r.cancelled_empty,
      overReported: r.over_reported,
      reportedTokens: r.reported_tokens,
      countedTokensOfReported: r.counted_tokens_of_reported,
    })),
    revenueMicroUsd: BigInt(revenueRow.revenue),
  };
}
