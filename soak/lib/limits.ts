/**
 * Limits as the client saw them.
 *
 * Requests per minute: the limits object counts a sliding window of 60 one-second buckets
 * (src/billing/limits-state.ts). A request answered 200 was admitted at some instant between the
 * client sending it and the client getting the headers (one machine, one clock). For any whole
 * second `a`, the 200s sent at or after `a` whose headers came before `a + 60 s` were all
 * admitted inside the window [a, a + 60 s): there can be at most the plan's rpm of them. No
 * timing is assumed; requests whose admission the client cannot place are left out, which can
 * only make the check miss a violation, never invent one.
 *
 * Concurrency: the gate probes (lib/probes.ts). Money: what the archive says each budget-plan
 * subscriber was charged, against the plan's allowance.
 */
import type { UsageEvent } from "../../src/billing/usage-event";
import type { ClientRecord } from "./client";
import type { WaveResult } from "./probes";
import type { Subscriber } from "./subscribers";

export interface RpmCheck {
  subscriberId: string;
  limit: number;
  admitted: number;
  refused429: number;
  /** The most 200s placed inside one window. */
  maxInWindow: number;
}

export function rpmCheck(sub: Subscriber, records: readonly ClientRecord[]): RpmCheck {
  const mine = records.filter((r) => r.subscriberId === sub.id);
  const ok = mine.filter((r) => r.status === 200 && r.headersAt !== null).sort((x, y) => x.sentAt - y.sentAt);
  let max = 0;
  const starts = new Set(ok.map((r) => Math.ceil(r.sentAt / 1000) * 1000));
  for (const a of starts) {
    const n = ok.filter((r) => r.sentAt >= a && (r.headersAt ?? Infinity) < a + 60_000).length;
    if (n > max) max = n;
  }
  return { subscriberId: sub.id, limit: sub.plan.requestsPerMinute, admitted: ok.length, refused429: mine.filter((r) => r.status === 429).length, maxInWindow: max };
}

export interface ConcurrencyCheck {
  plan: string;
  limit: number;
  waves: number;
  /** The most streams proven open at one instant in one wave. */
  maxProven: number;
  /** Waves in which the proven streams reached the limit (the check could have seen it passed). */
  wavesAtLimit: number;
}

export function concurrencyChecks(waves: readonly WaveResult[]): ConcurrencyCheck[] {
  const byPlan = new Map<string, WaveResult[]>();
  for (const w of waves) byPlan.set(w.plan, [...(byPlan.get(w.plan) ?? []), w]);
  return [...byPlan].map(([plan, ws]) => ({
    plan,
    limit: ws[0]!.limit,
    waves: ws.length,
    maxProven: Math.max(0, ...ws.map((w) => w.provenConcurrent)),
    wavesAtLimit: ws.filter((w) => w.provenConcurrent === w.limit).length,
  }));
}

export interface SpendCheck {
  subscriberId: string;
  allowanceMicroUsd: number;
  chargedMicroUsd: number;
  refused402: number;
}

export function spendCheck(sub: Subscriber, records: readonly ClientRecord[], events: readonly UsageEvent[]): SpendCheck {
  return {
    subscriberId: sub.id,
    allowanceMicroUsd: sub.plan.allowanceMicroUsd,
    chargedMicroUsd: events.filter((e) => e.subscriberId === sub.id).reduce((s, e) => s + (e.costMicroUsd ?? 0), 0),
    refused402: records.filter((r) => r.subscriberId === sub.id && r.status === 402).length,
  };
}
