/**
 * SubscriberLimits: one Durable Object per subscriber (`idFromName(subscriberId)`), the single
 * place where that subscriber's limits are counted, wherever in the world its requests land.
 *
 * A Durable Object handles one event at a time, and every decision here runs synchronously
 * between the (shared, awaited) profile load and the reply, so N parallel reservations against
 * a limit of k admit exactly k. State lives in memory and is written through to the object's
 * storage (the output gate holds each reply until its writes are durable), so an evicted or
 * restarted object resumes with the same counters. An alarm expires reservations whose request
 * stopped renewing them.
 */
import { DurableObject } from "cloudflare:workers";
import type { Env } from "../env";
import { billingConfig } from "./billing-config";
import { LimitsState, type LimitStatus, type ReserveInput, type ReserveResult } from "./limits-state";
import type { PlanLimits } from "./plans";
import { loadProfile, type BillingPeriod, type SubscriberProfile } from "./profile";

/** How long a loaded profile (plan, period, credit, prices) is used before D1 is read again. */
export const PROFILE_TTL_MS = 30_000;
/** Storage batch limit of put/delete. */
const STORAGE_BATCH = 128;

export interface LimitsReport {
  subscriberId: string;
  plan: PlanLimits;
  planSource: SubscriberProfile["planSource"];
  period: BillingPeriod;
  status: LimitStatus;
  periodCostMicroUsd: number;
  leases: { requestId: string; tokens: number; costMicroUsd: number; expiresAt: number }[];
}

export function limitsStub(env: Env, subscriberId: string): DurableObjectStub<SubscriberLimits> {
  return env.LIMITS.get(env.LIMITS.idFromName(subscriberId));
}

export class SubscriberLimits extends DurableObject<Env> {
  private state = new LimitsState();
  private profile: { value: SubscriberProfile; loadedAt: number } | null = null;
  private loading: Promise<SubscriberProfile> | null = null;
  /** Bumped by `refresh`: a load that started before it must not be cached. */
  private generation = 0;
  private alarmAt: number | null = null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      this.state = LimitsState.restore(await ctx.storage.list());
      this.alarmAt = await ctx.storage.getAlarm();
    });
  }

  /** Admits the request or says why not; either way with the status its headers report. */
  async reserve(subscriberId: string, input: ReserveInput): Promise<ReserveResult> {
    const profile = await this.profileOf(subscriberId);
    const now = Date.now();
    this.expire(now);
    const result = this.state.reserve(now, profile, input);
    this.persist();
    return result;
  }

  /** The request ended: `tokens` replace its worst case in the window, `costMicroUsd` is charged. */
  async settle(subscriberId: string, leaseId: string, tokens: number, costMicroUsd: number): Promise<void> {
    const profile = await this.profileOf(subscriberId);
    this.state.settle(Date.now(), profile, leaseId, tokens, costMicroUsd);
    this.persist();
  }

  /** The request never reached a miner (e.g. unknown model): nothing is charged. */
  async release(subscriberId: string, leaseId: string): Promise<void> {
    await this.settle(subscriberId, leaseId, 0, 0);
  }

  /** Heartbeat of a running request. False: the lease is gone, stop renewing. */
  renew(leaseId: string, ttlMs: number): boolean {
    const alive = this.state.renew(Date.now(), leaseId, ttlMs);
    this.persist();
    return alive;
  }

  /** The subscriber's plan, credit or subscription changed: read D1 again on the next call. */
  refresh(): void {
    this.generation++;
    this.profile = null;
    this.loading = null;
  }

  async report(subscriberId: string): Promise<LimitsReport> {
    const profile = await this.profileOf(subscriberId);
    const now = Date.now();
    this.expire(now);
    const status = this.state.status(now, profile);
    const report: LimitsReport = {
      subscriberId,
      plan: profile.plan,
      planSource: profile.planSource,
      period: profile.period,
      status,
      periodCostMicroUsd: this.state.periodCost(profile),
      leases: this.state.openLeases().map((l) => ({ requestId: l.requestId, tokens: l.tokens, costMicroUsd: l.costMicroUsd, expiresAt: l.expiresAt })),
    };
    this.persist();
    return report;
  }

  override async alarm(): Promise<void> {
    this.alarmAt = null;
    this.expire(Date.now());
    this.persist();
  }

  private expire(now: number): void {
    for (const lease of this.state.expire(now)) {
      console.warn(`limits: reservation of ${lease.requestId} expired without a heartbeat; released`);
    }
  }

  private async profileOf(subscriberId: string): Promise<SubscriberProfile> {
    const cached = this.profile;
    if (cached && Date.now() - cached.loadedAt < PROFILE_TTL_MS) return cached.value;
    if (!this.loading) {
      const generation = this.generation;
      const load = loadProfile(this.env.DB, subscriberId, billingConfig(this.env).defaultPlanId).then((value) => {
        if (generation === this.generation) this.profile = { value, loadedAt: Date.now() };
        return value;
      });
      this.loading = load;
      void load.finally(() => {
        if (this.loading === load) this.loading = null;
      }).catch(() => {});
    }
    try {
      return await this.loading;
    } catch (err) {
      // D1 hiccup: keep enforcing the last known plan rather than refusing everyone.
      if (cached) {
        console.error(`limits: profile reload for ${subscriberId} failed; using the previous one`, err);
        return cached.value;
      }
      throw err;
    }
  }

  private persist(): void {
    const { put, del } = this.state.takeChanges();
    const entries = Object.entries(put);
    for (let i = 0; i < entries.length; i += STORAGE_BATCH) {
      this.ctx.storage.put(Object.fromEntries(entries.slice(i, i + STORAGE_BATCH))).catch(logStorageError);
    }
    for (let i = 0; i < del.length; i += STORAGE_BATCH) this.ctx.storage.delete(del.slice(i, i + STORAGE_BATCH)).catch(logStorageError);
    const next = this.state.nextExpiry();
    if (next !== null && (this.alarmAt === null || next < this.alarmAt)) {
      this.alarmAt = next;
      this.ctx.storage.setAlarm(next).catch(logStorageError);
    }
  }
}

function logStorageError(err: unknown): void {
  console.error("limits: storage write failed", err);
}
