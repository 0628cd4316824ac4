/**
 * One subscriber's live counters as pure logic. The Durable Object (limits-do.ts) owns one
 * instance, feeds it the clock and the subscriber's profile, and persists the keys it reports as
 * changed. Every method is synchronous: the Durable Object runs one call at a time, so a check
 * and the reservation that follows it can never interleave with another request's.
 *
 * - Requests and tokens per minute: a sliding 60 s window of 1 s buckets (exact to the second).
 *   A request counts when admitted; its tokens count as the worst case until it settles, then
 *   as what was billed.
 * - Concurrency: the open reservations (leases). A lease ends when its request settles, is
 *   released, or expires (its isolate stopped renewing it).
 * - Money: the allowance used in the current billing period, then credit. Open leases hold
 *   their worst-case cost, so N parallel requests can never together spend more than is left.
 */
import { modelAllowed } from "./plans";
import { costMicroUsd, priceFor, type ModelPrice } from "./pricing";
import type { SubscriberProfile } from "./profile";

export const WINDOW_MS = 60_000;
const BUCKET_MS = 1_000;
const BUCKETS = WINDOW_MS / BUCKET_MS;
/** Output tokens reserved when a request sets no max_tokens (never more than the plan's TPM leaves). */
export const DEFAULT_OUTPUT_RESERVE = 4096;
/** Retry hint for a concurrency refusal: nobody knows when a running request ends. */
const CONCURRENCY_RETRY_MS = 1_000;
const RECENT_SETTLED = 1_000;

export interface Lease {
  id: string;
  requestId: string;
  /** Worst-case tokens counted in `bucket` until settled. */
  tokens: number;
  costMicroUsd: number;
  bucket: number;
  expiresAt: number;
}

interface Bucket {
  requests: number;
  tokens: number;
}

interface Counters {
  /** Start of the billing period the figures below belong to. */
  periodStart: number;
  allowanceUsedMicroUsd: number;
  /** Everything charged this period (allowance and credit). */
  periodCostMicroUsd: number;
  /** Credit consumed since the beginning (credit does not expire). */
  creditUsedMicroUsd: number;
}

export interface ReserveInput {
  requestId: string;
  model: string;
  promptTokens: number;
  /** max_tokens of the request; null: not set (DEFAULT_OUTPUT_RESERVE); 0 for embeddings. */
  maxOutputTokens: number | null;
  /** `n`: completions asked for. */
  choices: number;
  leaseTtlMs: number;
}

export interface LimitStatus {
  planId: string;
  requests: { limit: number; remaining: number; resetMs: number };
  tokens: { limit: number; remaining: number; resetMs: number };
  concurrency: { limit: number; inFlight: number };
  allowance: {
    limitMicroUsd: number;
    usedMicroUsd: number;
    creditMicroUsd: number;
    reservedMicroUsd: number;
    /** Allowance plus credit, minus what open requests hold. */
    remainingMicroUsd: number;
    resetAt: number;
  };
}

export type Refusal =
  | { kind: "model" }
  | { kind: "allowance"; neededMicroUsd: number; availableMicroUsd: number; resetAt: number }
  | { kind: "too_large"; tokens: number; limit: number }
  | { kind: "concurrency"; limit: number; retryAfterMs: number }
  | { kind: "requests"; limit: number; retryAfterMs: number }
  | { kind: "tokens"; limit: number; needed: number; retryAfterMs: number };

export type ReserveResult =
  | { ok: true; leaseId: string; price: ModelPrice; status: LimitStatus }
  | { ok: false; refusal: Refusal; status: LimitStatus };

export interface StorageChanges {
  put: Record<string, unknown>;
  del: string[];
}

const COUNTERS = "counters";
const bucketKey = (b: number) => `b:${b}`;
const leaseKey = (id: string) => `l:${id}`;
const bucketOf = (now: number) => Math.floor(now / BUCKET_MS);

export class LimitsState {
  private readonly leases = new Map<string, Lease>();
  private readonly buckets = new Map<number, Bucket>();
  private counters: Counters = { periodStart: 0, allowanceUsedMicroUsd: 0, periodCostMicroUsd: 0, creditUsedMicroUsd: 0 };
  /** Settled lease ids, so a repeated settle cannot charge twice. */
  private readonly settled = new Set<string>();
  private readonly dirty = new Set<string>();

  /** Rebuilds the state from the storage entries `takeChanges` wrote. */
  static restore(entries: ReadonlyMap<string, unknown>): LimitsState {
    const s = new LimitsState();
    for (const [key, value] of entries) {
      if (key === COUNTERS) s.counters = value as Counters;
      else if (key.startsWith("b:")) s.buckets.set(Number(key.slice(2)), value as Bucket);
      else if (key.startsWith("l:")) s.leases.set(key.slice(2), value as Lease);
    }
    return s;
  }

  /** Keys written or deleted since the last call. */
  takeChanges(): StorageChanges {
    const out: StorageChanges = { put: {}, del: [] };
    for (const key of this.dirty) {
      const value = key === COUNTERS ? this.counters : key.startsWith("b:") ? this.buckets.get(Number(key.slice(2))) : this.leases.get(key.slice(2));
      if (value === undefined) out.del.push(key);
      else out.put[key] = value;
    }
    this.dirty.clear();
    return out;
  }

  reserve(now: number, profile: SubscriberProfile, input: ReserveInput): ReserveResult {
    this.enterPeriod(profile);
    this.prune(now);
    const plan = profile.plan;
    const price = priceFor(profile.prices, input.model);
    const refuse = (refusal: Refusal): ReserveResult => ({ ok: false, refusal, status: this.status(now, profile) });

    if (!modelAllowed(plan.models, input.model)) return refuse({ kind: "model" });

    const output =
      input.maxOutputTokens === null
        ? Math.min(DEFAULT_OUTPUT_RESERVE, Math.max(0, plan.tokensPerMinute - input.promptTokens)) * input.choices
        : input.maxOutputTokens * input.choices;
    const worstTokens = input.promptTokens + output;
    const worstCost = costMicroUsd(price, { prompt: input.promptTokens, cached: 0, completion: output });
    const available = this.available(profile);
    if (worstCost > available) {
      return refuse({ kind: "allowance", neededMicroUsd: worstCost, availableMicroUsd: Math.max(0, available), resetAt: profile.period.end });
    }
    if (worstTokens > plan.tokensPerMinute) return refuse({ kind: "too_large", tokens: worstTokens, limit: plan.tokensPerMinute });
    if (this.leases.size >= plan.concurrentRequests) {
      return refuse({ kind: "concurrency", limit: plan.concurrentRequests, retryAfterMs: CONCURRENCY_RETRY_MS });
    }
    const window = this.windowTotals(now);
    if (window.requests >= plan.requestsPerMinute) {
      return refuse({ kind: "requests", limit: plan.requestsPerMinute, retryAfterMs: this.freedAfter(now, "requests", window.requests - plan.requestsPerMinute + 1) });
    }
    if (window.tokens + worstTokens > plan.tokensPerMinute) {
      const needed = window.tokens + worstTokens - plan.tokensPerMinute;
      return refuse({ kind: "tokens", limit: plan.tokensPerMinute, needed: worstTokens, retryAfterMs: this.freedAfter(now, "tokens", needed) });
    }

    const lease: Lease = {
      id: crypto.randomUUID(),
      requestId: input.requestId,
      tokens: worstTokens,
      costMicroUsd: worstCost,
      bucket: bucketOf(now),
      expiresAt: now + input.leaseTtlMs,
    };
    this.leases.set(lease.id, lease);
    this.dirty.add(leaseKey(lease.id));
    const bucket = this.buckets.get(lease.bucket) ?? { requests: 0, tokens: 0 };
    bucket.requests += 1;
    bucket.tokens += worstTokens;
    this.buckets.set(lease.bucket, bucket);
    this.dirty.add(bucketKey(lease.bucket));
    return { ok: true, leaseId: lease.id, price, status: this.status(now, profile) };
  }

  /**
   * Ends a request: its lease closes, its window tokens become `tokens`, `costMicroUsd` is
   * charged. A lease that already expired is still charged (the request did run). Returns false
   * for a repeated settle, which changes nothing.
   */
  settle(now: number, profile: SubscriberProfile, leaseId: string, tokens: number, cost: number): boolean {
    if (this.settled.has(leaseId)) return false;
    this.rememberSettled(leaseId);
    this.enterPeriod(profile);
    const lease = this.leases.get(leaseId);
    if (lease) {
      this.leases.delete(leaseId);
      this.dirty.add(leaseKey(leaseId));
      const bucket = this.buckets.get(lease.bucket);
      if (bucket) {
        bucket.tokens = Math.max(0, bucket.tokens - lease.tokens + tokens);
        this.dirty.add(bucketKey(lease.bucket));
      }
    }
    if (cost > 0) this.charge(profile, cost);
    this.prune(now);
    return true;
  }

  /** Extends a running request's lease. False if it is gone (settled or expired). */
  renew(now: number, leaseId: string, ttlMs: number): boolean {
    const lease = this.leases.get(leaseId);
    if (!lease) return false;
    lease.expiresAt = now + ttlMs;
    this.dirty.add(leaseKey(leaseId));
    return true;
  }

  /**
   * Drops leases whose request stopped renewing them (a crashed isolate). Their worst-case
   * tokens stay in the window (the request may have used them); their held cost is released.
   */
  expire(now: number): Lease[] {
    const gone: Lease[] = [];
    for (const lease of this.leases.values()) {
      if (lease.expiresAt <= now) {
        gone.push(lease);
        this.leases.delete(lease.id);
        this.dirty.add(leaseKey(lease.id));
      }
    }
    return gone;
  }

  nextExpiry(): number | null {
    let next: number | null = null;
    for (const l of this.leases.values()) if (next === null || l.expiresAt < next) next = l.expiresAt;
    return next;
  }

  openLeases(): Lease[] {
    return [...this.leases.values()];
  }

  periodCost(profile: SubscriberProfile): number {
    this.enterPeriod(profile);
    return this.counters.periodCostMicroUsd;
  }

  status(now: number, profile: SubscriberProfile): LimitStatus {
    this.enterPeriod(profile);
    const plan = profile.plan;
    const window = this.windowTotals(now);
    return {
      planId: plan.id,
      requests: { limit: plan.requestsPerMinute, remaining: Math.max(0, plan.requestsPerMinute - window.requests), resetMs: this.resetMs(now, "requests") },
      tokens: { limit: plan.tokensPerMinute, remaining: Math.max(0, plan.tokensPerMinute - window.tokens), resetMs: this.resetMs(now, "tokens") },
      concurrency: { limit: plan.concurrentRequests, inFlight: this.leases.size },
      allowance: {
        limitMicroUsd: plan.allowanceMicroUsd,
        usedMicroUsd: this.counters.allowanceUsedMicroUsd,
        creditMicroUsd: profile.creditGrantedMicroUsd - this.counters.creditUsedMicroUsd,
        reservedMicroUsd: this.reservedCost(),
        remainingMicroUsd: Math.max(0, this.available(profile)),
        resetAt: profile.period.end,
      },
    };
  }

  // ---- internals ----

  /** A new billing period starts with a fresh allowance; unused credit carries over. */
  private enterPeriod(profile: SubscriberProfile): void {
    if (this.counters.periodStart === profile.period.start) return;
    this.counters = { ...this.counters, periodStart: profile.period.start, allowanceUsedMicroUsd: 0, periodCostMicroUsd: 0 };
    this.dirty.add(COUNTERS);
  }

  private reservedCost(): number {
    let sum = 0;
    for (const l of this.leases.values()) sum += l.costMicroUsd;
    return sum;
  }

  private available(profile: SubscriberProfile): number {
    const allowanceLeft = Math.max(0, profile.plan.allowanceMicroUsd - this.counters.allowanceUsedMicroUsd);
    const creditLeft = profile.creditGrantedMicroUsd - this.counters.creditUsedMicroUsd;
    return allowanceLeft + creditLeft - this.reservedCost();
  }

  /** The allowance pays first, credit pays the rest (and goes negative if a request overran). */
  private charge(profile: SubscriberProfile, cost: number): void {
    const allowanceLeft = Math.max(0, profile.plan.allowanceMicroUsd - this.counters.allowanceUsedMicroUsd);
    const fromAllowance = Math.min(cost, allowanceLeft);
    this.counters = {
      ...this.counters,
      allowanceUsedMicroUsd: this.counters.allowanceUsedMicroUsd + fromAllowance,
      creditUsedMicroUsd: this.counters.creditUsedMicroUsd + cost - fromAllowance,
      periodCostMicroUsd: this.counters.periodCostMicroUsd + cost,
    };
    this.dirty.add(COUNTERS);
  }

  private prune(now: number): void {
    const oldest = bucketOf(now) - BUCKETS + 1;
    for (const b of this.buckets.keys()) {
      if (b < oldest) {
        this.buckets.delete(b);
        this.dirty.add(bucketKey(b));
      }
    }
  }

  private inWindow(now: number): [number, Bucket][] {
    const oldest = bucketOf(now) - BUCKETS + 1;
    return [...this.buckets.entries()].filter(([b]) => b >= oldest).sort((x, y) => x[0] - y[0]);
  }

  private windowTotals(now: number): Bucket {
    const total = { requests: 0, tokens: 0 };
    for (const [, b] of this.inWindow(now)) {
      total.requests += b.requests;
      total.tokens += b.tokens;
    }
    return total;
  }

  /** Milliseconds until `needed` units of `field` have left the window. */
  private freedAfter(now: number, field: keyof Bucket, needed: number): number {
    let freed = 0;
    for (const [b, bucket] of this.inWindow(now)) {
      freed += bucket[field];
      if (freed >= needed) return (b + BUCKETS) * BUCKET_MS - now;
    }
    return WINDOW_MS;
  }

  /** Milliseconds until the window holds none of `field` (OpenAI's "reset"). */
  private resetMs(now: number, field: keyof Bucket): number {
    const used = this.inWindow(now).filter(([, bucket]) => bucket[field] > 0);
    const newest = used.at(-1);
    return newest ? (newest[0] + BUCKETS) * BUCKET_MS - now : 0;
  }

  private rememberSettled(id: string): void {
    this.settled.add(id);
    if (this.settled.size > RECENT_SETTLED) {
      const oldest = this.settled.values().next().value;
      if (oldest !== undefined) this.settled.delete(oldest);
    }
  }
}
