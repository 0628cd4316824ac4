/**
 * What metering recorded a subscriber spending in a billing period: the sum of its hourly rollup
 * rows (src/billing/usage-writer.ts) whose whole hour lies inside the period. Hours the period
 * only partly covers are left out, so the figure is never more than was charged in the period
 * (a lower bound: it also lacks what the usage queue has not delivered yet). The limits object
 * reads it after a restart to recover charges it had not written (limits-state.ts, "charge slack").
 */
import type { D1Database } from "@cloudflare/workers-types";
import type { BillingPeriod } from "./profile";
import { HOUR_MS } from "./usage-rollup";

const METERED_SQL = `SELECT coalesce(sum(cost_micro_usd), 0) AS spent FROM usage_hourly WHERE subscriber_id = ?1 AND hour >= ?2 AND hour <= ?3`;

export interface MeteredSpend {
  microUsd: number;
  /** Rows D1 read for it (billed). */
  rowsRead: number;
}

export async function meteredSpend(d1: D1Database, subscriberId: string, period: BillingPeriod): Promise<MeteredSpend> {
  const firstHour = Math.ceil(period.start / HOUR_MS) * HOUR_MS;
  const lastHour = Math.floor(period.end / HOUR_MS) * HOUR_MS - HOUR_MS;
  if (lastHour < firstHour) return { microUsd: 0, rowsRead: 0 };
  const result = await d1.prepare(METERED_SQL).bind(subscriberId, firstHour, lastHour).all<{ spent: number }>();
  return { microUsd: Number(result.results[0]?.spent ?? 0), rowsRead: result.meta.rows_read ?? 0 };
}
