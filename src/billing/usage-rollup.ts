/**
 * What one D1 transaction adds (pure): the events of its batches (one, or every batch of a queue
 * delivery) summed per rollup row, each row's newest events for the recent-requests list, and the
 * newest hour each subscriber was seen in (the rows of earlier hours hand their lists on to the
 * subscriber's `usage_recent` row). Summing across batches is what makes a subscriber seen in many
 * messages of a delivery cost one hourly upsert. The writer (usage-writer.ts) turns this into the
 * transaction's statements.
 */
import { addCounts, minerShares, ZERO_COUNTS, type UsageCounts } from "./usage-class";
import type { ParsedEvent } from "./usage-batch";
import { utcDay, type UsageEvent } from "./usage-event";

export const HOUR_MS = 3_600_000;
export const SECOND_MS = 1_000;

export interface HourlyRow {
  subscriberId: string;
  hour: number;
  apiKeyId: string;
  model: string;
  kind: string;
  day: string;
  requests: number;
  succeeded: number;
  promptTokens: number;
  completionTokens: number;
  promptTokensReported: number;
  completionTokensReported: number;
  cachedPromptTokensReported: number;
  costMicroUsd: number;
  /** JSON texts of this row's events in the transaction, newest first, at most the list's length. */
  events: string[];
}

export interface MinerSecondRow extends UsageCounts {
  second: number;
  minerHotkey: string;
  model: string;
  kind: string;
}

/** A subscriber in the transaction, and the newest hour of its events there. */
export interface SubscriberHour {
  subscriberId: string;
  hour: number;
}

export interface BatchRollup {
  hourly: HourlyRow[];
  minerSeconds: MinerSecondRow[];
  subscribers: SubscriberHour[];
}

/** '' for an absent dimension: the rollups' primary keys cannot hold NULL usefully. */
const dim = (v: string | null | undefined): string => v ?? "";

export function rollupBatch(events: readonly ParsedEvent[], recentPerSubscriber: number): BatchRollup {
  const hourly = new Map<string, HourlyRow>();
  const listed = new Map<string, ParsedEvent[]>();
  const miner = new Map<string, MinerSecondRow>();
  const newestHour = new Map<string, number>();
  for (const p of events) {
    const e = p.event;
    const hour = Math.floor(e.createdAt / HOUR_MS) * HOUR_MS;
    const hKey = JSON.stringify([dim(e.subscriberId), hour, dim(e.apiKeyId), e.model, e.kind]);
    const h = hourly.get(hKey) ?? emptyHourly(e, hour);
    hourly.set(hKey, addHourly(h, e));
    const list = listed.get(hKey) ?? [];
    list.push(p);
    listed.set(hKey, list);

    const second = Math.floor(e.createdAt / SECOND_MS) * SECOND_MS;
    for (const share of minerShares(e)) {
      const mKey = JSON.stringify([second, dim(share.minerHotkey), e.model, e.kind]);
      const m = miner.get(mKey) ?? { second, minerHotkey: dim(share.minerHotkey), model: e.model, kind: e.kind, ...ZERO_COUNTS };
      miner.set(mKey, { ...m, ...addCounts(m, share.counts) });
    }

    const sub = dim(e.subscriberId);
    newestHour.set(sub, Math.max(newestHour.get(sub) ?? hour, hour));
  }
  return {
    hourly: [...hourly.entries()].map(([hKey, row]) => ({
      ...row,
      events: (listed.get(hKey) ?? [])
        .sort((a, b) => b.event.createdAt - a.event.createdAt)
        .slice(0, recentPerSubscriber)
        .map((p) => p.json),
    })),
    minerSeconds: [...miner.values()],
    subscribers: [...newestHour.entries()].map(([subscriberId, hour]) => ({ subscriberId, hour })),
  };
}

function emptyHourly(e: UsageEvent, hour: number): HourlyRow {
  return {
    subscriberId: dim(e.subscriberId),
    hour,
    apiKeyId: dim(e.apiKeyId),
    model: e.model,
    kind: e.kind,
    day: utcDay(hour),
    requests: 0,
    succeeded: 0,
    promptTokens: 0,
    completionTokens: 0,
    promptTokensReported: 0,
    completionTokensReported: 0,
    cachedPromptTokensReported: 0,
    costMicroUsd: 0,
    events: [],
  };
}

function addHourly(h: HourlyRow, e: UsageEvent): HourlyRow {
  return {
    ...h,
    requests: h.requests + 1,
    succeeded: h.succeeded + (e.status === "ok" ? 1 : 0),
    promptTokens: h.promptTokens + e.promptTokensCounted,
    completionTokens: h.completionTokens + e.completionTokensCounted,
    promptTokensReported: h.promptTokensReported + (e.promptTokensReported ?? 0),
    completionTokensReported: h.completionTokensReported + (e.completionTokensReported ?? 0),
    cachedPromptTokensReported: h.cachedPromptTokensReported + (e.cachedPromptTokensReported ?? 0),
    costMicroUsd: h.costMicroUsd + (e.costMicroUsd ?? 0),
  };
}
