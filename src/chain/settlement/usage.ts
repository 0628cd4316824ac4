// Reads one epoch window of usage from D1: the per-second miner rollup (usage_miner_seconds),
// summed per miner, model and kind. Every event was sorted into what counts as verified work and
// what does not when the gateway folded it in (src/billing/usage-class.ts, the rules and their
// reasons). The SQL is exported: it is the statement an operator runs to recompute a settlement's inputs
// (docs/metering.md); recomputing from the raw archive applies minerShares to each event.
import type { D1Database } from "@cloudflare/workers-types";
import type { UsageCounts } from "../../billing/usage-class";

export { OVER_REPORT_SLACK_TOKENS, REPORT_TOLERANCE_PERCENT } from "../../billing/usage-class";

/** Rollup buckets are whole seconds: a window's bounds are too (settlement rounds its end up). */
export const USAGE_BUCKET_MS = 1_000;

/** ?1/?2 bound the requests' created_at [start, end), whole seconds; '' = no miner took the request. */
export const USAGE_WINDOW_SQL = `
SELECT miner_hotkey AS hotkey, model, kind,
  sum(requests) AS requests,
  sum(counted) AS counted,
  sum(prompt_tokens) AS prompt_tokens,
  sum(completion_tokens) AS completion_tokens,
  sum(served) AS served,
  sum(failed) AS failed,
  sum(refused) AS refused,
  sum(cancelled_empty) AS cancelled_empty,
  sum(over_reported) AS over_reported,
  sum(reported_tokens) AS reported_tokens,
  sum(counted_tokens_of_reported) AS counted_tokens_of_reported
FROM usage_miner_seconds
WHERE second >= ?1 AND second < ?2 AND miner_hotkey <> ''
GROUP BY miner_hotkey, model, kind
ORDER BY miner_hotkey, model, kind`;

/** What subscribers were charged in the window: the revenue a payout share is taken from. */
export const REVENUE_WINDOW_SQL = `
SELECT coalesce(sum(cost_micro_usd), 0) AS revenue
FROM usage_miner_seconds
WHERE second >= ?1 AND second < ?2 AND kind = 'subscriber'`;

/** The first whole second at or after `ms`: where a settlement window ends. */
export function windowBound(ms: number): number {
  return Math.ceil(ms / USAGE_BUCKET_MS) * USAGE_BUCKET_MS;
}

/** One (miner, model, kind)'s sums over the window: the rollup's counts (src/billing/usage-class.ts) without the cost. */
export type UsageGroup = {
  hotkey: string;
  model: string;
  kind: "subscriber" | "canary";
} & Omit<UsageCounts, "costMicroUsd">;

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

/** The usage of [start, end) (Unix ms, whole seconds), grouped; one D1 batch, so both reads see the same data. */
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
