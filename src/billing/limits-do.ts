/**
 * SubscriberLimits: one Durable Object per subscriber (`idFromName(subscriberId)`), the single
 * place where that subscriber's limits are counted, wherever in the world its requests land.
 *
 * A Durable Object handles one event at a time, and every decision here runs synchronously
 * between the (shared, awaited) profile load and the reply, so N parallel reservations against
 * a limit of k admit exactly k. Reservations and grant books nobody renews expire lazily: every
 * call drops the expired ones before it decides anything, so no alarm is needed (an alarm is one
 * more billed request and storage row, once per sparse subscriber's request).
 *
 * Two ways in (docs/admission.md): `exchange`, from an isolate's grant book (src/billing/grants.ts),
 * which grants slices of the plan and takes settlements in batches, so most requests never call
 * here; and `reserve`/`settle`, one request at a time, for plans too small to slice.
 *
 * Persistence: state lives in memory and is written as one value. A call writes, and is answered
 * only once the write is durable (the output gate), when it granted beyond the escrow, charged
 * beyond the charge slack, or opened or settled a lease (limits-state.ts). Grants made from the
 * escrow and charges within the slack are covered on restore by placeholders: the whole escrow
 * until it ends, the whole slack until metering (which records every charge) is read back. Any
 * other call (a give-back, a renewal, a report) writes nothing; its changes ride with the next
 * write, and losing them makes the object stricter than it needs to be (returned units stay held
 * until the book's TTL), never looser; every restored book lives one more TTL.
 *
 * Every call and alarm, and the storage rows each wrote, are counted in the isolate the object
 * runs in (src/lib/op-counts.ts), for the benchmark's cost model.
 */
import { DurableObject } from "cloudflare:workers";
import { devFaultsEnabled } from "../dev/faults";
import type { Env } from "../env";
import { countOp, type LimitsObjectCall } from "../lib/op-counts";
import { billingConfig } from "./billing-config";
import { meteredSpend } from "./metered-spend";
import { CHARGE_GRACE_MS, ESCROW_BOOK, LimitsState, type ExchangeAdmission, type ExchangeInput, type GrantSlice, type LimitStatus, type ReserveInput, type ReserveResult } from "./limits-state";
import type { PlanLimits } from "./plans";
import type { ModelPrice } from "./pricing";
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
  /** What each isolate's grant book holds. */
  grants: { bookId: string; concurrency: number; microUsd: number; slices: number; expiresAt: number }[];
}

/** What a grant book needs to admit locally: the plan and prices it was granted under. */
export interface BookPolicy {
  version: string;
  plan: PlanLimits;
  prices: ModelPrice[];
}

export interface ExchangeResult {
  /** The profile version the answer was made under; a book holding another one drops its free units. */
  version: string;
  /** Present when the book's version differs. */
  policy: BookPolicy | null;
  status: LimitStatus;
  slice: GrantSlice | null;
  admission: ExchangeAdmission | null;
}

/** Bounds of a book's TTL as a book may ask for it. */
const MIN_GRANT_TTL_MS = 1_000;
const MAX_GRANT_TTL_MS = 60_000;

export function limitsStub(env: Pick<Env, "LIMITS">, subscriberId: string): DurableObjectStub<SubscriberLimits> {
  return env.LIMITS.get(env.LIMITS.idFromName(subscriberId));
}

export class SubscriberLimits extends DurableObject<Env> {
  private state = new LimitsState();
  private profile: { value: SubscriberProfile; version: string; loadedAt: number } | null = null;
  private loading: Promise<SubscriberProfile> | null = null;
  /** Bumped by `refresh`: a load that started before it must not be cached. */
  private generation = 0;
  /** A read of the metered spend under way (see `liftFromMetering`); one at a time. */
  private lifting = false;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      this.state = LimitsState.restore(await ctx.storage.list(), Date.now(), chargeGraceMs(env));
    });
  }

  /** Admits the request or says why not; either way with the status its headers report. */
  async reserve(subscriberId: string, input: ReserveInput): Promise<ReserveResult> {
    this.called("reserve");
    const profile = await this.profileOf(subscriberId);
    const now = Date.now();
    this.expire(now);
    const result = this.state.reserve(now, profile, input);
    this.persist("reserve");
    return result;
  }

  /** A grant book's call: settlements, give-backs, renewal, and a request or a refill (see LimitsState.exchange). */
  async exchange(subscriberId: string, input: ExchangeInput): Promise<ExchangeResult> {
    this.called("exchange");
    const profile = await this.profileOf(subscriberId);
    const version = this.profile?.value === profile ? this.profile.version : profileVersion(profile);
    const now = Date.now();
    this.expire(now);
    this.liftWhenDue(subscriberId, profile, now);
    const ttlMs = Math.min(MAX_GRANT_TTL_MS, Math.max(MIN_GRANT_TTL_MS, Math.floor(input.ttlMs)));
    const outcome = this.state.exchange(now, profile, { ...input, ttlMs }, { fraction: billingConfig(this.env).grantSliceFraction });
    // Nothing charged beyond the charge slack and nothing granted beyond the escrow: no write; what
    // changed (give-backs, closed slices, renewals, charges within the slack) rides with the next one.
    if (outcome.mustPersist) this.persist("exchange");
    return {
      version,
      policy: input.version === version ? null : { version, plan: profile.plan, prices: profile.prices },
      status: outcome.status,
      slice: outcome.slice,
      admission: outcome.admission,
    };
  }

  /** The request ended: `tokens` replace its worst case in the window, `costMicroUsd` is charged. */
  async settle(subscriberId: string, leaseId: string, tokens: number, costMicroUsd: number): Promise<void> {
    this.called("settle");
    await this.settleLease("settle", subscriberId, leaseId, tokens, costMicroUsd);
  }

  /** The request never reached a miner (e.g. unknown model): nothing is charged. */
  async release(subscriberId: string, leaseId: string): Promise<void> {
    this.called("release");
    await this.settleLease("release", subscriberId, leaseId, 0, 0);
  }

  /** Heartbeat of a running request. False: the lease is gone, stop renewing. */
  renew(leaseId: string, ttlMs: number): boolean {
    this.called("renew");
    const alive = this.state.renew(Date.now(), leaseId, ttlMs);
    this.persist("renew");
    return alive;
  }

  /** The subscriber's plan, credit or subscription changed: read D1 again on the next call. */
  refresh(): void {
    this.called("refresh");
    this.generation++;
    this.profile = null;
    this.loading = null;
  }

  /**
   * Dev-only fault injection (src/dev/faults.ts): the object restarts as after a crash, losing its
   * memory and keeping its storage; calls under way at that moment fail. Does nothing ("off") unless the switch is on.
   */
  async devRestart(): Promise<"off" | "restarting"> {
    if (!devFaultsEnabled(this.env)) return "off";
    this.ctx.abort("dev fault injection: restart");
    return "restarting";
  }

  async report(subscriberId: string): Promise<LimitsReport> {
    this.called("report");
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
      grants: this.state.openBooks().map((b) => ({ bookId: b.id, concurrency: b.concurrency, microUsd: b.microUsd, slices: b.slices.length, expiresAt: b.expiresAt })),
    };
    // A report writes nothing (dropping expired books can wait for the next write).
    return report;
  }

  /** Only alarms an earlier version set still arrive here; nothing sets one now (expiry is lazy). */
  override async alarm(): Promise<void> {
    this.called("alarm");
    this.expire(Date.now());
    this.persist("alarm", false);
  }

  private async settleLease(kind: LimitsObjectCall, subscriberId: string, leaseId: string, tokens: number, costMicroUsd: number): Promise<void> {
    const profile = await this.profileOf(subscriberId);
    this.state.settle(Date.now(), profile, leaseId, tokens, costMicroUsd);
    this.persist(kind);
  }

  /**
   * After a restart the object holds the charges its last incarnation may not have written as a
   * placeholder (limits-state.ts, "charge slack"); once it is old enough, the period's metered
   * spend is read from D1 in the background (never on the request path) and replaces it. The
   * result is not written by itself: it rides with the next write, and if a restart loses it the
   * placeholder, still in storage, is lifted again.
   */
  private liftWhenDue(subscriberId: string, profile: SubscriberProfile, now: number): void {
    if (this.lifting || !this.state.wantsMetering(now)) return;
    this.lifting = true;
    countOp("limits.object.metered_read");
    void meteredSpend(this.env.DB, subscriberId, profile.period)
      .then((metered) => {
        countOp("limits.object.metered_rows_read", metered.rowsRead);
        this.state.liftFromMetering(Date.now(), profile, metered.microUsd);
      })
      .catch((err: unknown) => console.error(`limits: reading the metered spend of ${subscriberId} failed; the charge placeholder stays`, err))
      .finally(() => {
        this.lifting = false;
      });
  }

  /** Counted in the isolate this object runs in (src/lib/op-counts.ts): one billed DO request. */
  private called(kind: LimitsObjectCall): void {
    countOp(`limits.object.${kind}`);
  }

  private expire(now: number): void {
    for (const lease of this.state.expire(now)) {
      console.warn(`limits: reservation of ${lease.requestId} expired without a heartbeat; released`);
    }
    for (const book of this.state.expireBooks(now)) {
      // A restore's escrow placeholder (limits-state.ts) ends by design: nothing to report.
      if (book.id.startsWith(ESCROW_BOOK)) continue;
      if (book.concurrency > 0 || book.microUsd > 0) console.warn(`limits: grant book ${book.id} expired without a renewal; its ${book.concurrency} slots and ${book.microUsd} micro-USD released`);
    }
  }

  private async profileOf(subscriberId: string): Promise<SubscriberProfile> {
    const cached = this.profile;
    if (cached && Date.now() - cached.loadedAt < PROFILE_TTL_MS) return cached.value;
    if (!this.loading) {
      const generation = this.generation;
      const load = loadProfile(this.env.DB, subscriberId, billingConfig(this.env).defaultPlanId).then((value) => {
        if (generation === this.generation) this.profile = { value, version: profileVersion(value), loadedAt: Date.now() };
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

  /**
   * Writes what changed, counting the rows for `kind`. `confirm` false: the reply does not wait
   * for the write (only for calls whose loss makes the object stricter, see the header).
   */
  private persist(kind: LimitsObjectCall, confirm = true): void {
    const { put, del } = this.state.takeChanges(Date.now());
    const opts = { allowUnconfirmed: !confirm };
    const entries = Object.entries(put);
    for (let i = 0; i < entries.length; i += STORAGE_BATCH) {
      this.ctx.storage.put(Object.fromEntries(entries.slice(i, i + STORAGE_BATCH)), opts).catch(logStorageError);
    }
    for (let i = 0; i < del.length; i += STORAGE_BATCH) this.ctx.storage.delete(del.slice(i, i + STORAGE_BATCH), opts).catch(logStorageError);
    const rows = entries.length + del.length;
    // Each key put or deleted is one storage row written (the KV API keeps one SQLite row per key;
    // the state is one key, see limits-state.ts).
    if (rows > 0) countOp(`limits.object.rows.${kind}`, rows);
  }
}

/** A short fingerprint of everything a book admits by: a change of plan, period, credit or price changes it. */
export function profileVersion(p: SubscriberProfile): string {
  const text = JSON.stringify([p.plan, p.period, p.creditGrantedMicroUsd, p.prices]);
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return `${(h >>> 0).toString(16)}:${text.length}`;
}

/** The configured grace, or the default while the configuration is invalid (every route says so then). */
function chargeGraceMs(env: Env): number {
  try {
    return billingConfig(env).chargeGraceMs;
  } catch {
    return CHARGE_GRACE_MS;
  }
}

function logStorageError(err: unknown): void {
  console.error("limits: storage write failed", err);
}
