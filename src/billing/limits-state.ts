/**
 * One subscriber's live counters as pure logic. The Durable Object (limits-do.ts) owns one
 * instance, feeds it the clock and the subscriber's profile, and persists the snapshot it
 * reports after every call that changed something. Every method is synchronous: the Durable
 * Object runs one call at a time, so a check and the reservation that follows it can never
 * interleave with another request's.
 *
 * - Requests and tokens per minute: a sliding 60 s window of 1 s buckets (exact to the second).
 *   A request counts when admitted; its tokens count as the worst case until it settles, then
 *   as what was billed.
 * - Concurrency: the open reservations (leases). A lease ends when its request settles, is
 *   released, or expires (its isolate stopped renewing it).
 * - Money: the allowance used in the current billing period, then credit. Open leases hold
 *   their worst-case cost, so N parallel requests can never together spend more than is left.
 * - Grants (docs/admission.md): an isolate's grant book holds slices of all four. A slice's
 *   requests and tokens are counted in the window from the moment it is granted, in the bucket
 *   of its expiry (every use of the slice happens before that, so no sliding window ever sees
 *   fewer than were used); the book's concurrency slots and money are held like leases. Every
 *   check below counts leases and books together, so the sum of what is granted and reserved
 *   never exceeds the plan.
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

/** What the object knows of one isolate's grant book. */
export interface BookRecord {
  id: string;
  expiresAt: number;
  ttlMs: number;
  /** Highest settlement batch applied (batches are resent until acknowledged). */
  seq: number;
  /** Concurrency slots the book holds (free in the book, or in flight there). */
  concurrency: number;
  /** Money the book holds (free in the book, or the worst case of its requests in flight). */
  microUsd: number;
  slices: SliceRecord[];
  /** Slots and money this book holds from grants the escrow covered since the last write (memory only). */
  fromEscrow?: { concurrency: number; microUsd: number };
}

/** A slice of the window: its requests and tokens are counted in `bucket` until it is closed. */
interface SliceRecord {
  id: string;
  bucket: number;
  requests: number;
  tokens: number;
  /** Granted from the escrow since the last write: closing it gives its unused units back to the escrow. */
  fromEscrow?: boolean;
}

/** One request that ended in a book, as reported in a batch. */
export interface SettledRequest {
  requestId: string;
  costMicroUsd: number;
  /**
   * Tokens to give back to a slice the book had already closed when the request ended (its
   * worst case minus what it used). Within an open slice the book refunds them itself.
   */
  refund: { sliceId: string; tokens: number } | null;
}

export interface ExchangeInput {
  bookId: string;
  ttlMs: number;
  /** The profile version the book admits by (null: none yet); another one gets the policy back. */
  version: string | null;
  /** Settlement batches not acknowledged yet, oldest first. */
  batches: { seq: number; settled: SettledRequest[] }[];
  /** What the book still holds once this message is applied (the rest comes back). */
  holding: { concurrency: number; microUsd: number };
  /**
   * Every slice the book still knows, with what is left of it; `keep: false` closes it. A slice
   * the object granted but the book does not list never reached the book and is taken back whole.
   */
  slices: { id: string; requests: number; tokens: number; keep: boolean }[];
  /** A request the book could not admit from what it holds: admitted exactly here, or refused. */
  admit: ReserveInput | null;
  /** Ask for a fresh slice. */
  refill: boolean;
}

export interface GrantSlice {
  id: string;
  requests: number;
  tokens: number;
  concurrency: number;
  microUsd: number;
  expiresAt: number;
}

export type ExchangeAdmission =
  | { ok: true; via: "grant"; price: ModelPrice }
  | { ok: true; via: "lease"; leaseId: string; price: ModelPrice }
  | { ok: false; refusal: Refusal };

export interface ExchangeOutcome {
  slice: GrantSlice | null;
  admission: ExchangeAdmission | null;
  status: LimitStatus;
  /**
   * False when nothing was charged, and nothing granted beyond the escrow: the call needs no
   * write, and what it changed waits for the next one (losing it only makes the object stricter).
   */
  mustPersist: boolean;
}

/**
 * Grants the object may make without writing, armed by every write that must happen anyway (a
 * charge beyond the slack, a grant the escrow could not cover): a restored object counts the whole
 * escrow as granted until `until` (a placeholder book), since it cannot know how much of it was
 * used. So a restart never forgets a grant, and a subscriber seen every few seconds (its object
 * still in memory) writes about once per escrow, not once per request. Sized in slices
 * (`armEscrow`), lasting `ESCROW_TTLS` book TTLs after the write (a minute by default: the
 * longest a restart's placeholder holds it).
 */
export interface Escrow {
  requests: number;
  tokens: number;
  concurrency: number;
  microUsd: number;
  until: number;
}
const ESCROW_SLICES = 1;
const ESCROW_TTLS = 12;
const ESCROW_HEADROOM = 3;
/** The placeholder book a restore makes of an escrow (its id starts with this). */
export const ESCROW_BOOK = "escrow@";

/**
 * Charges from grant books are not written one by one: metering (the usage queue and its D1
 * rollups) already records every request's cost exactly once, so the object only needs to bound
 * what a restart can forget. Every write arms a **charge slack** of this share of a slice's money
 * (while `ESCROW_HEADROOM` slacks are left; near the money limit it is 0 and every charge writes);
 * charges that fit in it ride with the next write. A restored object holds the slack its last
 * write armed as a placeholder book (`CHARGES_BOOK`), i.e. counts it as spent, until a profile
 * load at least `CHARGE_GRACE_MS` after the restore reads the period's metered spend from D1 and
 * lifts the object's count to it (`liftFromMetering`): by then metering has recorded the charges
 * the restart forgot, unless it is more than that far behind.
 */
const CHARGE_SLACK_SHARE = 0.25;
export const CHARGE_GRACE_MS = 60_000;
/** The placeholder book a restore makes of the charge slack (its id starts with this). */
export const CHARGES_BOOK = "charges@";

/**
 * A slice is this share of the plan's per-minute requests and tokens, concurrency and money
 * (GRANT_SLICE_FRACTION); a plan whose share is below two requests or two concurrent requests is
 * too small to slice and is admitted one request at a time (leases), exactly.
 */
export interface SliceRule {
  fraction: number;
}

export function sliceSize(plan: SubscriberProfile["plan"], creditMicroUsd: number, rule: SliceRule) {
  return {
    requests: Math.floor(plan.requestsPerMinute * rule.fraction),
    tokens: Math.floor(plan.tokensPerMinute * rule.fraction),
    concurrency: Math.floor(plan.concurrentRequests * rule.fraction),
    microUsd: Math.floor((plan.allowanceMicroUsd + Math.max(0, creditMicroUsd)) * rule.fraction),
  };
}

export function sliceable(plan: SubscriberProfile["plan"], rule: SliceRule): boolean {
  const s = sliceSize(plan, 0, rule);
  return s.requests >= 2 && s.concurrency >= 2;
}

export interface StorageChanges {
  put: Record<string, unknown>;
  del: string[];
}

/**
 * The whole state is stored as one value under one key: a call that changed anything writes one
 * storage row (SQLite-backed objects bill per row written), however many buckets, books and
 * leases it touched. The state is small by construction: at most 60 buckets, one book per
 * isolate, and leases only for plans too small to slice (a few concurrent requests). A book is
 * ~200 bytes, so the 2 MB value limit of SQLite-backed objects holds thousands of isolates at once.
 */
const SNAPSHOT = "state";

interface Snapshot {
  counters: Counters;
  buckets: [number, Bucket][];
  leases: Lease[];
  books: BookRecord[];
  closedSlices: [string, { bucket: number; tokens: number }][];
  /** Absent in snapshots written before escrows existed (every grant was written then). */
  escrow?: Escrow | null;
  /** Charges the object may make after this write without writing (absent before charges were coalesced: 0). */
  chargeSlack?: number;
  /** When the snapshot was taken (names a restore's charge placeholder). */
  writtenAt?: number;
}

/** Keys of the earlier layout (one key per bucket, lease and book), read once and then deleted. */
const LEGACY_COUNTERS = "counters";
const bucketOf = (now: number) => Math.floor(now / BUCKET_MS);

export class LimitsState {
  private readonly leases = new Map<string, Lease>();
  private readonly buckets = new Map<number, Bucket>();
  private counters: Counters = { periodStart: 0, allowanceUsedMicroUsd: 0, periodCostMicroUsd: 0, creditUsedMicroUsd: 0 };
  private readonly books = new Map<string, BookRecord>();
  /** Closed slices whose used tokens are still in the window, for refunds that come late. */
  private readonly closedSlices = new Map<string, { bucket: number; tokens: number }>();
  /** Settled lease ids, so a repeated settle cannot charge twice. */
  private readonly settled = new Set<string>();
  /** Something changed since the last `takeChanges`. */
  private changed = false;
  /** Keys of the earlier layout still in storage, deleted with the next write. */
  private legacyKeys: string[] = [];
  /** The escrow as written with the state (null: grants must be written). */
  private escrow: Escrow | null = null;
  /** What is left of it since that write (in memory only). */
  private escrowLeft: Omit<Escrow, "until"> | null = null;
  /** Book charges that may go unwritten, as armed by the last write (0: every charge writes). */
  private chargeSlack = 0;
  /** Book charges applied since the last write (in memory only). */
  private unwrittenCharges = 0;

  /**
   * Rebuilds the state from the storage entries `takeChanges` wrote. `now` given: every book
   * lives at least one more TTL from now, because renewals are not awaited to disk (a restart may
   * have lost the latest one, and the book is still using what it holds).
   */
  static restore(entries: ReadonlyMap<string, unknown>, now?: number, chargeGraceMs = CHARGE_GRACE_MS): LimitsState {
    const s = new LimitsState();
    const snapshot = entries.get(SNAPSHOT) as Snapshot | undefined;
    s.legacyKeys = [...entries.keys()].filter((key) => key !== SNAPSHOT);
    if (snapshot) {
      s.counters = snapshot.counters;
      for (const [b, bucket] of snapshot.buckets) s.buckets.set(b, bucket);
      for (const lease of snapshot.leases) s.leases.set(lease.id, lease);
      for (const book of snapshot.books) {
        // Escrow marks mean nothing to an object without that escrow (a snapshot can carry them
        // when a write that armed none, e.g. a lease's, came between).
        delete book.fromEscrow;
        for (const slice of book.slices) delete slice.fromEscrow;
        s.books.set(book.id, book);
      }
      for (const [id, closed] of snapshot.closedSlices) s.closedSlices.set(id, closed);
      // Grants made from the escrow after this snapshot was written are not in it: count the
      // whole escrow as held by a placeholder book until it ends, its window units in the bucket
      // of its end (no grant from it expires later). The next write makes the placeholder durable.
      if (snapshot.escrow) s.holdEscrow(snapshot.escrow);
      // Charges applied after this snapshot within its slack are not in it: held as spent until
      // metering, which has them, is read (`liftFromMetering`).
      if (snapshot.chargeSlack && snapshot.chargeSlack > 0) s.holdChargeSlack(snapshot.chargeSlack, snapshot.writtenAt ?? 0, (now ?? Date.now()) + chargeGraceMs);
    } else {
      for (const [key, value] of entries) {
        if (key === LEGACY_COUNTERS) s.counters = value as Counters;
        else if (key.startsWith("b:")) s.buckets.set(Number(key.slice(2)), value as Bucket);
        else if (key.startsWith("l:")) s.leases.set(key.slice(2), value as Lease);
        else if (key.startsWith("g:")) s.books.set(key.slice(2), value as BookRecord);
      }
    }
    if (now !== undefined) for (const book of s.books.values()) book.expiresAt = Math.max(book.expiresAt, now + book.ttlMs);
    // The restored object has no escrow of its own: its first grant writes, and that write arms one.
    // Rewritten as one snapshot (and the old keys deleted) with the next write.
    s.changed = s.legacyKeys.length > 0;
    return s;
  }

  /** What to write since the last call: the whole state as one value, or nothing. */
  takeChanges(now = Date.now()): StorageChanges {
    if (!this.changed) return { put: {}, del: [] };
    const snapshot: Snapshot = {
      counters: this.counters,
      buckets: [...this.buckets.entries()],
      leases: [...this.leases.values()],
      books: [...this.books.values()],
      closedSlices: [...this.closedSlices.entries()],
      escrow: this.escrow,
      chargeSlack: this.chargeSlack,
      writtenAt: now,
    };
    const out: StorageChanges = { put: { [SNAPSHOT]: snapshot }, del: this.legacyKeys };
    this.changed = false;
    this.legacyKeys = [];
    this.unwrittenCharges = 0;
    return out;
  }

  private touch(): void {
    this.changed = true;
  }

  reserve(now: number, profile: SubscriberProfile, input: ReserveInput): ReserveResult {
    this.enterPeriod(profile);
    this.prune(now);
    const checked = this.check(now, profile, input);
    if (!checked.ok) return { ok: false, refusal: checked.refusal, status: this.status(now, profile) };
    const leaseId = this.openLease(now, input, checked);
    return { ok: true, leaseId, price: checked.price, status: this.status(now, profile) };
  }

  /**
   * One call from a grant book: apply its settlements, take back what it returns, renew it, and
   * admit its request (within a fresh slice when the plan can be sliced, else as a lease) or
   * grant a refill. See docs/admission.md for the protocol.
   */
  exchange(now: number, profile: SubscriberProfile, input: ExchangeInput, rule: SliceRule): ExchangeOutcome {
    this.enterPeriod(profile);
    this.prune(now);
    let mustPersist = false;
    let book = this.books.get(input.bookId);
    if (!book) {
      // New, or expired while its isolate was cut off: count what it says it holds again.
      book = { id: input.bookId, expiresAt: 0, ttlMs: input.ttlMs, seq: 0, concurrency: input.holding.concurrency, microUsd: input.holding.microUsd, slices: [] };
      this.books.set(book.id, book);
      this.touch();
    }
    // A book never holds more than it was given.
    const concurrency = Math.max(0, Math.min(book.concurrency, input.holding.concurrency));
    const microUsd = Math.max(0, Math.min(book.microUsd, input.holding.microUsd));
    this.backToEscrow(book, { concurrency: book.concurrency - concurrency, microUsd: book.microUsd - microUsd });
    if (concurrency !== book.concurrency || microUsd !== book.microUsd) this.touch();
    book.concurrency = concurrency;
    book.microUsd = microUsd;
    const reported = new Map(input.slices.map((sl) => [sl.id, sl]));
    book.slices = book.slices.filter((slice) => {
      const r = reported.get(slice.id);
      if (r?.keep) return true;
      // Unreported: the grant never reached the book, nothing of it was used.
      const usedRequests = r ? slice.requests - clamp(r.requests, 0, slice.requests) : 0;
      const usedTokens = r ? slice.tokens - clamp(r.tokens, 0, slice.tokens) : 0;
      if (slice.fromEscrow && this.escrowLeft) {
        this.escrowLeft.requests += slice.requests - usedRequests;
        this.escrowLeft.tokens += slice.tokens - usedTokens;
      }
      this.addToBucket(slice.bucket, -slice.requests, -slice.tokens);
      // What was used moves to now: every use happened before this message.
      const closedIn = bucketOf(now);
      this.addToBucket(closedIn, usedRequests, usedTokens);
      this.closedSlices.set(slice.id, { bucket: closedIn, tokens: usedTokens });
      this.touch();
      return false;
    });
    // After the slices close, so a refund to one closed by this very message is applied.
    for (const batch of input.batches) {
      if (batch.seq <= book.seq) continue; // a resent batch that was applied already
      book.seq = batch.seq;
      this.touch();
      for (const settled of batch.settled) {
        if (settled.costMicroUsd > 0) {
          this.charge(profile, settled.costMicroUsd);
          this.unwrittenCharges += settled.costMicroUsd;
        }
        if (settled.refund) this.refundClosed(settled.refund.sliceId, settled.refund.tokens);
      }
    }
    // Charges within the slack the last write armed wait for the next write (metering has them).
    if (this.unwrittenCharges > this.chargeSlack) mustPersist = true;
    if (book.ttlMs !== input.ttlMs) this.touch();
    book.ttlMs = input.ttlMs;
    // A renewal alone is not written: a restored book lives one more TTL from the restart anyway
    // (see `restore`), so losing it cannot expire a book early.
    book.expiresAt = now + input.ttlMs;

    let admission: ExchangeAdmission | null = null;
    let slice: GrantSlice | null = null;
    if (input.admit) {
      const checked = this.check(now, profile, input.admit);
      if (!checked.ok) admission = { ok: false, refusal: checked.refusal };
      else if (sliceable(profile.plan, rule)) {
        // A grant with a request may be cut to what is left of the escrow (never below the request
        // itself), so it needs no write; a sparse subscriber's requests then spend the escrow one
        // request at a time. Without room for the request, or with no escrow, it is written.
        const cap = this.escrowRoom(now, book.ttlMs, checked);
        slice = this.grant(now, profile, book, rule, checked, cap);
        admission = { ok: true, via: "grant", price: checked.price };
      } else {
        admission = { ok: true, via: "lease", leaseId: this.openLease(now, input.admit, checked), price: checked.price };
      }
      if (admission.ok && admission.via === "lease") mustPersist = true;
    } else if (input.refill && sliceable(profile.plan, rule)) {
      slice = this.grant(now, profile, book, rule, null);
    }
    if (slice && !this.takeFromEscrow(slice, book)) mustPersist = true;
    // The write this call makes anyway arms a fresh escrow (the grants it replaces are in it)
    // and a fresh charge slack.
    if (mustPersist && sliceable(profile.plan, rule)) this.armEscrow(now, profile, rule, input.ttlMs);
    if (mustPersist) this.armChargeSlack(profile, rule);
    return { slice, admission, status: this.status(now, profile), mustPersist };
  }

  /**
   * What a write arms: room for `ESCROW_SLICES` slice granted with a request (the request's worst
   * case up to half a share of tokens and money), for `ESCROW_TTLS` TTLs; grants from it that come
   * back unused return to it (`takeFromEscrow`). Never more than `1 / ESCROW_HEADROOM` of what is
   * left in any limit, so a restart holds at most a third of what the subscriber has left; near a
   * limit the escrow shrinks with it, and with less than a request and a slot of room there is
   * none (every grant is written, as before).
   */
  private armEscrow(now: number, profile: SubscriberProfile, rule: SliceRule, ttlMs: number): void {
    const share = sliceSize(profile.plan, profile.creditGrantedMicroUsd - this.counters.creditUsedMicroUsd, rule);
    const size = {
      requests: ESCROW_SLICES * (share.requests + 1),
      tokens: Math.ceil(ESCROW_SLICES * 1.5 * share.tokens),
      concurrency: ESCROW_SLICES * (share.concurrency + 1),
      microUsd: Math.ceil(ESCROW_SLICES * 1.5 * share.microUsd),
    };
    const window = this.windowTotals(now);
    const left = {
      requests: profile.plan.requestsPerMinute - window.requests,
      tokens: profile.plan.tokensPerMinute - window.tokens,
      concurrency: profile.plan.concurrentRequests - this.heldConcurrency(),
      microUsd: this.available(profile),
    };
    for (const k of Object.keys(size) as (keyof typeof size)[]) size[k] = Math.min(size[k], Math.floor(Math.max(0, left[k]) / ESCROW_HEADROOM));
    const roomy = size.requests >= 1 && size.concurrency >= 1 && size.tokens > 0 && size.microUsd > 0;
    // Everything granted so far is in this write: no longer the escrow's.
    for (const book of this.books.values()) {
      delete book.fromEscrow;
      for (const slice of book.slices) delete slice.fromEscrow;
    }
    this.escrow = roomy ? { ...size, until: now + ESCROW_TTLS * ttlMs } : null;
    this.escrowLeft = roomy ? { ...size } : null;
    this.touch();
  }

  /** What is left of the escrow when it can hold a slice of `ttlMs` with this request in it; else null. */
  private escrowRoom(now: number, ttlMs: number, need: { worstTokens: number; worstCost: number }): Omit<Escrow, "until"> | null {
    const left = this.escrowLeft;
    if (!left || !this.escrow || now + ttlMs > this.escrow.until) return null;
    if (left.requests < 1 || left.concurrency < 1 || left.tokens < need.worstTokens || left.microUsd < need.worstCost) return null;
    return left;
  }

  /**
   * True when the escrow covers `slice` (it is then taken from it): the grant needs no write. The
   * slice and its book remember it, so what comes back unused before the next write (a closed
   * slice's unused requests and tokens, slots and money the book returns) goes back to the escrow:
   * at any moment the unwritten grants still held, plus the units they used, stay within it,
   * which is all the placeholder of a restart has to cover. A subscriber seen every few seconds
   * thus spends one request (and its tokens) of the escrow per request, not a whole slice.
   */
  private takeFromEscrow(slice: GrantSlice, book: BookRecord): boolean {
    const left = this.escrowLeft;
    if (!left || !this.escrow || slice.expiresAt > this.escrow.until) return false;
    if (slice.requests > left.requests || slice.tokens > left.tokens || slice.concurrency > left.concurrency || slice.microUsd > left.microUsd) return false;
    left.requests -= slice.requests;
    left.tokens -= slice.tokens;
    left.concurrency -= slice.concurrency;
    left.microUsd -= slice.microUsd;
    const record = book.slices.find((s) => s.id === slice.id);
    if (record) record.fromEscrow = true;
    const held = book.fromEscrow ?? { concurrency: 0, microUsd: 0 };
    book.fromEscrow = { concurrency: held.concurrency + slice.concurrency, microUsd: held.microUsd + slice.microUsd };
    return true;
  }

  /** Slots and money a book returns go back to the escrow, up to what it took from it since the last write. */
  private backToEscrow(book: BookRecord, returned: { concurrency: number; microUsd: number }): void {
    const held = book.fromEscrow;
    const left = this.escrowLeft;
    if (!held || !left) return;
    const concurrency = clamp(returned.concurrency, 0, held.concurrency);
    const microUsd = clamp(returned.microUsd, 0, held.microUsd);
    held.concurrency -= concurrency;
    held.microUsd -= microUsd;
    left.concurrency += concurrency;
    left.microUsd += microUsd;
  }

  /** A restored escrow: held whole by a placeholder book until it ends. */
  private holdEscrow(escrow: Escrow): void {
    const id = `${ESCROW_BOOK}${escrow.until}`;
    if (this.books.has(id)) return;
    const bucket = bucketOf(escrow.until);
    this.books.set(id, { id, expiresAt: escrow.until, ttlMs: 0, seq: 0, concurrency: escrow.concurrency, microUsd: escrow.microUsd, slices: [{ id, bucket, requests: escrow.requests, tokens: escrow.tokens }] });
    this.addToBucket(bucket, escrow.requests, escrow.tokens);
  }

  /**
   * What a write arms for the charges after it: a quarter of a slice's money, provided
   * `ESCROW_HEADROOM` times that is left (counting every placeholder as spent); else 0.
   */
  private armChargeSlack(profile: SubscriberProfile, rule: SliceRule): void {
    const share = sliceSize(profile.plan, profile.creditGrantedMicroUsd - this.counters.creditUsedMicroUsd, rule);
    const slack = sliceable(profile.plan, rule) ? Math.floor(CHARGE_SLACK_SHARE * share.microUsd) : 0;
    const next = this.available(profile) >= ESCROW_HEADROOM * slack ? slack : 0;
    if (next !== this.chargeSlack) this.touch();
    this.chargeSlack = next;
  }

  /**
   * A restored charge slack: held as spent by a placeholder book named after the write that armed
   * it (restoring the same snapshot again makes no second one), liftable from `liftableAt` (its
   * `expiresAt`, which for this book means "metering may be read", not "ends").
   */
  private holdChargeSlack(slack: number, writtenAt: number, liftableAt: number): void {
    const id = `${CHARGES_BOOK}${writtenAt}`;
    if (this.books.has(id)) return;
    this.books.set(id, { id, expiresAt: liftableAt, ttlMs: 0, seq: 0, concurrency: 0, microUsd: slack, slices: [] });
  }

  /** True when a charge placeholder may be lifted: the caller should read the metered spend. */
  wantsMetering(now: number): boolean {
    for (const book of this.books.values()) if (book.id.startsWith(CHARGES_BOOK) && book.expiresAt <= now) return true;
    return false;
  }

  /**
   * The period's spend as metering recorded it (whole hours inside the period, so never more than
   * was charged in it): what the object counts rises to it, and every charge placeholder old enough
   * (`CHARGE_GRACE_MS` since its restore) is dropped, the charges it stood for being in the figure.
   * Both counts are lower bounds of what was really charged, so their maximum is too.
   */
  liftFromMetering(now: number, profile: SubscriberProfile, meteredMicroUsd: number): number {
    this.enterPeriod(profile);
    const lifted = Math.max(0, Math.floor(meteredMicroUsd) - this.counters.periodCostMicroUsd);
    if (lifted > 0) this.charge(profile, lifted);
    for (const book of [...this.books.values()]) {
      if (book.id.startsWith(CHARGES_BOOK) && book.expiresAt <= now) {
        this.books.delete(book.id);
        this.touch();
      }
    }
    return lifted;
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
      this.touch();
      const bucket = this.buckets.get(lease.bucket);
      if (bucket) {
        bucket.tokens = Math.max(0, bucket.tokens - lease.tokens + tokens);
        this.touch();
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
    this.touch();
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
        this.touch();
      }
    }
    return gone;
  }

  /**
   * Drops books nobody renewed within their TTL (the isolate went away, or has been cut off and
   * stopped using them): their slots and money come back; their open slices stay counted in the
   * window until their buckets slide out, since the isolate may have used them.
   */
  expireBooks(now: number): BookRecord[] {
    const gone: BookRecord[] = [];
    for (const book of this.books.values()) {
      // A charge placeholder ends only when metering is read (liftFromMetering), not with time.
      if (book.expiresAt <= now && !book.id.startsWith(CHARGES_BOOK)) {
        gone.push(book);
        this.books.delete(book.id);
        this.touch();
      }
    }
    return gone;
  }

  openLeases(): Lease[] {
    return [...this.leases.values()];
  }

  openBooks(): BookRecord[] {
    return [...this.books.values()];
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
      concurrency: { limit: plan.concurrentRequests, inFlight: this.heldConcurrency() },
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
    this.touch();
  }

  private reservedCost(): number {
    let sum = 0;
    for (const l of this.leases.values()) sum += l.costMicroUsd;
    for (const b of this.books.values()) sum += b.microUsd;
    return sum;
  }

  /** Open leases plus the slots grant books hold. */
  private heldConcurrency(): number {
    let sum = this.leases.size;
    for (const b of this.books.values()) sum += b.concurrency;
    return sum;
  }

  /** The checks of a reservation, counting every lease and grant; nothing changes. */
  private check(now: number, profile: SubscriberProfile, input: ReserveInput): { ok: true; price: ModelPrice; worstTokens: number; worstCost: number } | { ok: false; refusal: Refusal } {
    const plan = profile.plan;
    const price = priceFor(profile.prices, input.model);
    const refuse = (refusal: Refusal) => ({ ok: false as const, refusal });
    if (!modelAllowed(plan.models, input.model)) return refuse({ kind: "model" });
    const { tokens: worstTokens, output } = worstCase(plan.tokensPerMinute, input);
    const worstCost = costMicroUsd(price, { prompt: input.promptTokens, cached: 0, completion: output });
    const available = this.available(profile);
    if (worstCost > available) {
      return refuse({ kind: "allowance", neededMicroUsd: worstCost, availableMicroUsd: Math.max(0, available), resetAt: profile.period.end });
    }
    if (worstTokens > plan.tokensPerMinute) return refuse({ kind: "too_large", tokens: worstTokens, limit: plan.tokensPerMinute });
    if (this.heldConcurrency() >= plan.concurrentRequests) {
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
    return { ok: true, price, worstTokens, worstCost };
  }

  private openLease(now: number, input: ReserveInput, worst: { worstTokens: number; worstCost: number }): string {
    const lease: Lease = {
      id: crypto.randomUUID(),
      requestId: input.requestId,
      tokens: worst.worstTokens,
      costMicroUsd: worst.worstCost,
      bucket: bucketOf(now),
      expiresAt: now + input.leaseTtlMs,
    };
    this.leases.set(lease.id, lease);
    this.touch();
    this.addToBucket(lease.bucket, 1, worst.worstTokens);
    return lease.id;
  }

  /**
   * A fresh slice for `book`: the admitted request's worst case (if any) plus up to one share of
   * the plan, never more than the plan has left after every other lease and grant.
   */
  private grant(now: number, profile: SubscriberProfile, book: BookRecord, rule: SliceRule, need: { worstTokens: number; worstCost: number } | null, cap: Omit<Escrow, "until"> | null = null): GrantSlice | null {
    const plan = profile.plan;
    const share = sliceSize(plan, profile.creditGrantedMicroUsd - this.counters.creditUsedMicroUsd, rule);
    const window = this.windowTotals(now);
    const base = need ? { requests: 1, tokens: need.worstTokens, concurrency: 1, microUsd: need.worstCost } : { requests: 0, tokens: 0, concurrency: 0, microUsd: 0 };
    const left = {
      requests: plan.requestsPerMinute - window.requests - base.requests,
      tokens: plan.tokensPerMinute - window.tokens - base.tokens,
      concurrency: plan.concurrentRequests - this.heldConcurrency() - base.concurrency,
      microUsd: this.available(profile) - base.microUsd,
    };
    // Beyond the request itself, up to a share, within what is left (and within `cap`).
    const extra = (k: keyof typeof share) => clamp(Math.min(left[k], cap ? cap[k] - base[k] : Number.POSITIVE_INFINITY), 0, share[k]);
    const slice: GrantSlice = {
      id: crypto.randomUUID(),
      requests: base.requests + extra("requests"),
      tokens: base.tokens + extra("tokens"),
      concurrency: base.concurrency + extra("concurrency"),
      microUsd: base.microUsd + extra("microUsd"),
      expiresAt: now + book.ttlMs,
    };
    if (slice.requests === 0 && slice.tokens === 0 && slice.concurrency === 0 && slice.microUsd === 0) return null;
    const bucket = bucketOf(slice.expiresAt);
    book.slices.push({ id: slice.id, bucket, requests: slice.requests, tokens: slice.tokens });
    this.addToBucket(bucket, slice.requests, slice.tokens);
    book.concurrency += slice.concurrency;
    book.microUsd += slice.microUsd;
    return slice;
  }

  private refundClosed(sliceId: string, tokens: number): void {
    const closed = this.closedSlices.get(sliceId);
    if (!closed || tokens <= 0) return;
    const back = Math.min(tokens, closed.tokens);
    closed.tokens -= back;
    this.addToBucket(closed.bucket, 0, -back);
  }

  private addToBucket(b: number, requests: number, tokens: number): void {
    if (requests === 0 && tokens === 0) return;
    const bucket = this.buckets.get(b) ?? { requests: 0, tokens: 0 };
    bucket.requests = Math.max(0, bucket.requests + requests);
    bucket.tokens = Math.max(0, bucket.tokens + tokens);
    this.buckets.set(b, bucket);
    this.touch();
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
    this.touch();
  }

  private prune(now: number): void {
    const oldest = bucketOf(now) - BUCKETS + 1;
    for (const b of this.buckets.keys()) {
      if (b < oldest) {
        this.buckets.delete(b);
        this.touch();
      }
    }
    for (const [id, closed] of this.closedSlices) if (closed.bucket < oldest) this.closedSlices.delete(id);
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

const clamp = (v: number, lo: number, hi: number) => Math.min(hi, Math.max(lo, v));

/**
 * The most tokens a request can use (prompt plus max output, for every choice) and the output
 * part of it. No max_tokens: DEFAULT_OUTPUT_RESERVE, never more than the plan's TPM leaves.
 * Shared by the object and the grant books, so both hold the same worst case.
 */
export function worstCase(tokensPerMinute: number, input: Pick<ReserveInput, "promptTokens" | "maxOutputTokens" | "choices">): { tokens: number; output: number } {
  const output =
    input.maxOutputTokens === null
      ? Math.min(DEFAULT_OUTPUT_RESERVE, Math.max(0, tokensPerMinute - input.promptTokens)) * input.choices
      : input.maxOutputTokens * input.choices;
  return { tokens: input.promptTokens + output, output };
}
