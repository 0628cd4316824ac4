/**
 * What the subscriber's pages show, always scoped to one subscriber id (the session's): keys with
 * their usage and last use, usage by day and by model, recent requests, CSV export. Every query
 * here filters on subscriber_id; no page reads another subscriber's rows.
 */
import { desc, eq, max, sql } from "drizzle-orm";
import { recentRequests, usageReport, usageRows, type RequestRow } from "../billing/usage-query";
import { database } from "../db/client";
import { apiKeys, usageHourly } from "../db/schema";

export interface KeyView {
  id: string;
  prefix: string;
  name: string | null;
  createdAt: number;
  revokedAt: number | null;
  lastUsedAt: number | null;
  requests: number;
  tokens: number;
  costMicroUsd: number;
}

export async function keysWithUsage(d1: D1Database, subscriberId: string): Promise<KeyView[]> {
  const db = database(d1);
  const h = usageHourly;
  const [keys, usage] = await db.batch([
    db
      .select({ id: apiKeys.id, prefix: apiKeys.keyPrefix, name: apiKeys.name, createdAt: apiKeys.createdAt, revokedAt: apiKeys.revokedAt })
      .from(apiKeys)
      .where(eq(apiKeys.subscriberId, subscriberId))
      .orderBy(desc(apiKeys.createdAt)),
    db
      .select({
        apiKeyId: h.apiKeyId,
        requests: sql<number>`coalesce(sum(${h.requests}), 0)`,
        lastHour: max(h.hour),
        tokens: sql<number>`coalesce(sum(${h.promptTokens} + ${h.completionTokens}), 0)`,
        cost: sql<number>`coalesce(sum(${h.costMicroUsd}), 0)`,
      })
      .from(h)
      .where(eq(h.subscriberId, subscriberId))
      .groupBy(h.apiKeyId),
  ]);
  // The rollups know the hour; the recent-requests list knows the exact time of the latest ones.
  const recent = await recentRequests(d1, subscriberId, { limit: 1000 });
  const lastExact = new Map<string, number>();
  for (const r of recent) if (r.api_key_id && !lastExact.has(r.api_key_id)) lastExact.set(r.api_key_id, r.created_at);
  const byKey = new Map(usage.map((u) => [u.apiKeyId, u]));
  return keys.map((k) => {
    const u = byKey.get(k.id);
    return { ...k, lastUsedAt: lastExact.get(k.id) ?? u?.lastHour ?? null, requests: Number(u?.requests ?? 0), tokens: Number(u?.tokens ?? 0), costMicroUsd: Number(u?.cost ?? 0) };
  });
}

export interface UsageSeries {
  days: string[];
  models: string[];
  /** tokens[modelIndex][dayIndex] */
  tokens: number[][];
  /** micro-USD, same layout. */
  cost: number[][];
  byModel: { model: string; requests: number; tokens: number; costMicroUsd: number }[];
  totals: { requests: number; tokens: number; costMicroUsd: number };
}

/** Daily series per model for the last `days` UTC days (today included). */
export async function usageSeries(d1: D1Database, subscriberId: string, days: number, now = Date.now()): Promise<UsageSeries> {
  const start = Date.UTC(new Date(now).getUTCFullYear(), new Date(now).getUTCMonth(), new Date(now).getUTCDate()) - (days - 1) * 86_400_000;
  const report = await usageReport(d1, { subscriberId, since: start });
  const dayList = Array.from({ length: days }, (_, i) => new Date(start + i * 86_400_000).toISOString().slice(0, 10));
  const models = [...new Set(report.by_model_day.map((r) => r.model))].sort();
  const tokens = models.map(() => dayList.map(() => 0));
  const cost = models.map(() => dayList.map(() => 0));
  const byModel = new Map<string, { model: string; requests: number; tokens: number; costMicroUsd: number }>();
  for (const r of report.by_model_day) {
    const m = models.indexOf(r.model);
    const d = dayList.indexOf(r.day);
    const t = Number(r.prompt_tokens) + Number(r.completion_tokens);
    if (m >= 0 && d >= 0) {
      (tokens[m] as number[])[d] = t;
      (cost[m] as number[])[d] = Number(r.cost_micro_usd);
    }
    const agg = byModel.get(r.model) ?? { model: r.model, requests: 0, tokens: 0, costMicroUsd: 0 };
    agg.requests += Number(r.requests);
    agg.tokens += t;
    agg.costMicroUsd += Number(r.cost_micro_usd);
    byModel.set(r.model, agg);
  }
  const t = report.totals;
  return {
    days: dayList,
    models,
    tokens,
    cost,
    byModel: [...byModel.values()].sort((a, b) => b.costMicroUsd - a.costMicroUsd || b.tokens - a.tokens),
    totals: { requests: Number(t?.requests ?? 0), tokens: Number(t?.prompt_tokens ?? 0) + Number(t?.completion_tokens ?? 0), costMicroUsd: Number(t?.cost_micro_usd ?? 0) },
  };
}

/** The subscriber's latest requests, newest first (what the recent-requests list keeps). */
export function latestRequests(d1: D1Database, subscriberId: string, limit: number): Promise<RequestRow[]> {
  return recentRequests(d1, subscriberId, { limit });
}

const CSV_COLUMNS = [
  "request_id", "created_at", "endpoint", "model", "status", "http_status", "miner_hotkey", "api_key_id", "streamed",
  "prompt_tokens_reported", "completion_tokens_reported", "prompt_tokens_counted", "completion_tokens_counted", "cost_micro_usd",
] as const;

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? "" : String(v);
  // Quote when needed, and defuse spreadsheet formulas (=, +, -, @ at the start of a text cell).
  const safe = /^[=+\-@]/.test(s) && !/^-?\d+(\.\d+)?$/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

/** The subscriber's recent requests since `since` as CSV (RFC 4180), oldest first (the recent-requests list; older ones are in the R2 archive). */
export async function usageCsv(d1: D1Database, subscriberId: string, since: number): Promise<string> {
  const rows = await usageRows(d1, { subscriberId, since }, 10_000);
  const lines = [CSV_COLUMNS.join(",")];
  for (const r of rows) {
    const record: Record<string, unknown> = { ...r, created_at: new Date(r.created_at).toISOString() };
    lines.push(CSV_COLUMNS.map((c) => csvCell(record[c])).join(","));
  }
  return lines.join("\r\n") + "\r\n";
}
