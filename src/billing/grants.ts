/**
 * An isolate's grant book for one subscriber: it admits requests from slices of the plan that the
 * subscriber's SubscriberLimits object granted earlier, so a request with a slice available is
 * admitted synchronously, without calling the object. The protocol and its invariants are in
 * docs/admission.md; in short:
 *
 * - A request that fits what the book holds (a live slice with a request and its worst-case
 *   tokens, a free concurrency slot, its worst-case cost in free money) is admitted locally.
 * - When what is left runs low, or the book's TTL is half gone, a refill starts in the
 *   background (off the request path) and adds a fresh slice.
 * - A request that does not fit pays one call: the book gives back everything free and asks the
 *   object to admit the request exactly (refusing it, or admitting it inside a fresh slice, or
 *   as a lease when the plan is too small to slice). Other requests wait for that call instead
 *   of making their own, then try the book again.
 * - Settlements are kept and reported in batches: with the next refill, every GRANT_FLUSH_MS
 *   while requests run, and with the give-back after GRANT_IDLE_MS without requests.
 * - Plans too small to slice are admitted one request at a time (reserve / settle), exactly.
 *
 * The book is plain data and logic: the clock, the calls to the object (`LimitsTransport`) and
 * the way to run work off the request path (`BookContext.defer`) come from outside, so tests
 * can run several books against one real object, each on its own clock.
 */
import type { BookPolicy, ExchangeResult } from "./limits-do";
import { sliceable, sliceSize, worstCase, type ExchangeInput, type LimitStatus, type Refusal, type ReserveInput, type ReserveResult, type SettledRequest, type SliceRule } from "./limits-state";
import { modelAllowed } from "./plans";
import { costMicroUsd, priceFor, type ModelPrice } from "./pricing";

/** The subscriber's SubscriberLimits object, as a grant book calls it. */
export interface LimitsTransport {
  exchange(input: ExchangeInput): Promise<ExchangeResult>;
  reserve(input: ReserveInput): Promise<ReserveResult>;
  settleLease(leaseId: string, tokens: number, costMicroUsd: number): Promise<void>;
  releaseLease(leaseId: string): Promise<void>;
  renewLease(leaseId: string, ttlMs: number): Promise<boolean>;
}

/** What the request at hand lends the book: its way to the object, its way to work in the background. */
/** Polling delays (ms) while another request's exchange is under way: quick at first, then calmer. */
const EXCHANGE_POLL_MS = [1, 1, 2, 4, 8] as const;
const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export interface BookContext {
  transport: LimitsTransport;
  /** Runs `task` after `ms` without holding up the request (a Worker: setTimeout under waitUntil). */
  defer(task: () => Promise<void>, ms: number): void;
}

export interface BookSettings extends SliceRule {
  ttlMs: number;
  idleMs: number;
  flushMs: number;
  /** TTL of a lease (plans too small to slice). */
  leaseTtlMs: number;
}

/** Refill when less than this share of a slice is left in any dimension. */
const REFILL_BELOW = 0.5;
/** A book stops using what it holds this share of its TTL before the object could expire it. */
const EXPIRY_MARGIN = 0.1;

export type BookRequest = Omit<ReserveInput, "leaseTtlMs">;

export interface BookAdmission {
  via: "grant" | "lease";
  price: ModelPrice;
  /** The limits as this isolate sees them once the request is admitted (for the headers). */
  status: LimitStatus;
  /** The request ended; `tokens` and `costMicroUsd` are what it was billed. Once. */
  settle(tokens: number, costMicroUsd: number, ctx: BookContext): Promise<void>;
  /** The request never reached a miner: nothing is charged (it still counts as a request). Idempotent. */
  release(ctx: BookContext): void;
  /** Keeps what the request holds alive; call every third of the TTL while it runs. */
  keepAlive(ctx: BookContext): void;
  /** Milliseconds between keepAlive calls. */
  readonly keepAliveMs: number;
}

export interface BookRefusal {
  refusal: Refusal;
  status: LimitStatus;
}

export type BookOutcome = ({ ok: true } & BookAdmission) | ({ ok: false } & BookRefusal);

interface LocalSlice {
  id: string;
  requests: number;
  tokens: number;
  /** By the book's clock. */
  usableUntil: number;
}

interface ExchangeMode {
  admit: BookRequest | null;
  /** Give back everything free (and close every slice) before asking. */
  giveBack: boolean;
  refill: boolean;
}

export class GrantBook {
  readonly id = crypto.randomUUID();
  private policy: BookPolicy | null = null;
  private status: LimitStatus | null = null;
  private statusAt = 0;
  private slices: LocalSlice[] = [];
  /** Slices this book stopped using, to report with what was left of them. */
  private closing: { id: string; requests: number; tokens: number }[] = [];
  private freeConcurrency = 0;
  private freeMicroUsd = 0;
  /** Free slots and money are usable until then (book clock): the object keeps them a TTL after the last call. */
  private usableUntil = 0;
  private running = 0;
  private runningCost = 0;
  private pending: SettledRequest[] = [];
  private unacked: { seq: number; settled: SettledRequest[] }[] = [];
  private seq = 0;
  private exchanging: Promise<void> | null = null;
  private flushArmed = false;
  private idleArmed = false;
  private lastActivity = 0;
  /** A refill that brought nothing is not retried before then. */
  private refillQuietUntil = 0;
  /** The last slice's concurrency and money: the size of "one share" when credit makes it larger than the plan's. */
  private lastSlice = { concurrency: 0, microUsd: 0 };

  constructor(
    private readonly settings: BookSettings,
    private readonly clock: () => number,
  ) {}

  /** Admits the request (locally when it can), or says why not. Throws when the object cannot be reached. */
  async admit(req: BookRequest, ctx: BookContext): Promise<BookOutcome> {
    this.lastActivity = this.clock();
    for (;;) {
      // A plan too small to slice: one reservation per request, in parallel, as before grants.
      if (this.policy && !sliceable(this.policy.plan, this.settings)) return this.reserveLease(req, ctx);
      const local = this.tryLocal(req, ctx);
      if (local) return local;
      if (!this.exchanging) break;
      await this.exchangeDone();
    }
    let taken: BookOutcome | null = null;
    const res = await this.runExchange(ctx, { admit: req, giveBack: true, refill: false }, (r) => {
      // Synchronously with the answer, before any waiter looks at the new slice.
      const a = r.admission;
      if (!a) return;
      if (!a.ok) taken = { ok: false, refusal: a.refusal, status: this.view() };
      else if (a.via === "grant") taken = this.take(req, a.price, ctx);
    });
    const a = res.admission;
    if (a?.ok && a.via === "lease") return this.leaseAdmission(a.leaseId, a.price, res.status);
    if (taken) return taken;
    throw new Error("limits: the object neither admitted nor refused the request");
  }

  /** What the book holds, for tests and reports. */
  holdings(): { slices: number; requests: number; tokens: number; concurrency: number; microUsd: number; running: number; pending: number } {
    const now = this.clock();
    const live = this.slices.filter((s) => s.usableUntil > now);
    return {
      slices: live.length,
      requests: live.reduce((n, s) => n + s.requests, 0),
      tokens: live.reduce((n, s) => n + s.tokens, 0),
      concurrency: this.freeConcurrency,
      microUsd: this.freeMicroUsd,
      running: this.running,
      pending: this.pending.length + this.unacked.reduce((n, b) => n + b.settled.length, 0),
    };
  }

  /** Reports settlements now (also the timer's and the refill's job). */
  async flush(ctx: BookContext): Promise<void> {
    await this.exchangeDone();
    if (this.pending.length === 0 && this.unacked.length === 0 && this.closing.length === 0) return;
    await this.runExchange(ctx, { admit: null, giveBack: this.clock() >= this.usableUntil, refill: false });
  }

  /** Gives back everything free and reports every settlement (the book goes idle). */
  async giveBack(ctx: BookContext): Promise<void> {
    await this.exchangeDone();
    if (!this.holdsAnything()) return;
    await this.runExchange(ctx, { admit: null, giveBack: true, refill: false });
  }

  /** True when the object should hear from this book: something held, or something to report. */
  holdsAnything(): boolean {
    return (
      this.running > 0 ||
      this.freeConcurrency > 0 ||
      this.freeMicroUsd > 0 ||
      this.slices.length > 0 ||
      this.closing.length > 0 ||
      this.pending.length > 0 ||
      this.unacked.length > 0
    );
  }

  // ---- local admission ----

  private tryLocal(req: BookRequest, ctx: BookContext): BookOutcome | null {
    const policy = this.policy;
    const now = this.clock();
    if (!policy || now >= this.usableUntil) return null;
    if (!modelAllowed(policy.plan.models, req.model)) return { ok: false, refusal: { kind: "model" }, status: this.view() };
    const price = priceFor(policy.prices, req.model);
    const worst = this.worst(req, price);
    if (this.freeConcurrency < 1 || this.freeMicroUsd < worst.cost) return null;
    this.dropExpiredSlices(now);
    if (!this.slices.some((s) => s.requests >= 1 && s.tokens >= worst.tokens)) return null;
    return this.take(req, price, ctx);
  }

  /** Takes the request's worst case from the book (the caller checked it fits). */
  private take(req: BookRequest, price: ModelPrice, ctx: BookContext): BookOutcome {
    const worst = this.worst(req, price);
    // Oldest slice first: it expires first.
    const slice = this.slices.find((s) => s.requests >= 1 && s.tokens >= worst.tokens);
    if (!slice) throw new Error("limits: no slice fits a request the object admitted");
    slice.requests -= 1;
    slice.tokens -= worst.tokens;
    this.freeConcurrency -= 1;
    this.freeMicroUsd -= worst.cost;
    this.running += 1;
    this.runningCost += worst.cost;
    const status = this.view();
    this.maybeRefill(ctx);
    let open = true;
    const end = (tokens: number, cost: number, bctx: BookContext) => {
      if (!open) return false;
      open = false;
      this.lastActivity = this.clock();
      this.running -= 1;
      this.runningCost -= worst.cost;
      this.freeConcurrency += 1;
      this.freeMicroUsd += worst.cost - cost;
      // Negative when more was billed than the worst case (a miner's count above ours, capped):
      // the slice pays for it while it is open.
      const refundTokens = worst.tokens - tokens;
      const live = this.slices.find((s) => s.id === slice.id);
      const closing = this.closing.find((s) => s.id === slice.id);
      let refund: SettledRequest["refund"] = null;
      if (live) live.tokens = Math.max(0, live.tokens + refundTokens);
      else if (closing) closing.tokens = Math.max(0, closing.tokens + refundTokens);
      else if (refundTokens > 0) refund = { sliceId: slice.id, tokens: refundTokens };
      if (cost > 0 || refund) this.pending.push({ requestId: req.requestId, costMicroUsd: cost, refund });
      this.schedule(bctx);
      return true;
    };
    return {
      ok: true,
      via: "grant",
      price,
      status,
      keepAliveMs: Math.max(250, Math.floor(this.settings.ttlMs / 3)),
      settle: async (tokens, cost, bctx) => {
        end(tokens, cost, bctx);
      },
      release: (bctx) => {
        end(0, 0, bctx);
      },
      keepAlive: (bctx) => this.keepAlive(bctx),
    };
  }

  private worst(req: BookRequest, price: ModelPrice): { tokens: number; cost: number } {
    const plan = this.policy?.plan;
    const w = worstCase(plan ? plan.tokensPerMinute : 0, req);
    return { tokens: w.tokens, cost: costMicroUsd(price, { prompt: req.promptTokens, cached: 0, completion: w.output }) };
  }

  private dropExpiredSlices(now: number): void {
    if (!this.slices.some((s) => s.usableUntil <= now)) return;
    for (const s of this.slices) if (s.usableUntil <= now) this.closing.push({ id: s.id, requests: s.requests, tokens: s.tokens });
    this.slices = this.slices.filter((s) => s.usableUntil > now);
  }

  /** The object's last status, with what this book holds free counted as available. */
  private view(): LimitStatus {
    const s = this.status;
    if (!s) throw new Error("limits: no status before the first call");
    const now = this.clock();
    const elapsed = Math.max(0, now - this.statusAt);
    const live = this.slices.filter((sl) => sl.usableUntil > now);
    const usable = now < this.usableUntil;
    const freeRequests = live.reduce((n, sl) => n + sl.requests, 0);
    const freeTokens = live.reduce((n, sl) => n + sl.tokens, 0);
    const freeSlots = usable ? this.freeConcurrency : 0;
    const freeMoney = usable ? Math.max(0, this.freeMicroUsd) : 0;
    return {
      planId: s.planId,
      requests: { limit: s.requests.limit, remaining: Math.min(s.requests.limit, s.requests.remaining + freeRequests), resetMs: Math.max(0, s.requests.resetMs - elapsed) },
      tokens: { limit: s.tokens.limit, remaining: Math.min(s.tokens.limit, s.tokens.remaining + freeTokens), resetMs: Math.max(0, s.tokens.resetMs - elapsed) },
      concurrency: { limit: s.concurrency.limit, inFlight: Math.max(0, s.concurrency.inFlight - freeSlots) },
      allowance: {
        ...s.allowance,
        reservedMicroUsd: Math.max(0, s.allowance.reservedMicroUsd - freeMoney),
        remainingMicroUsd: s.allowance.remainingMicroUsd + freeMoney,
      },
    };
  }

  // ---- background work ----

  private maybeRefill(ctx: BookContext): void {
    const policy = this.policy;
    const now = this.clock();
    if (!policy || this.exchanging || now < this.refillQuietUntil) return;
    const share = this.share(policy);
    const live = this.slices.filter((s) => s.usableUntil > now);
    const low =
      live.reduce((n, s) => n + s.requests, 0) < share.requests * REFILL_BELOW ||
      live.reduce((n, s) => n + s.tokens, 0) < share.tokens * REFILL_BELOW ||
      this.freeConcurrency < share.concurrency * REFILL_BELOW ||
      this.freeMicroUsd < share.microUsd * REFILL_BELOW ||
      this.usableUntil - now < this.settings.ttlMs / 2;
    if (!low) return;
    ctx.defer(async () => {
      if (this.exchanging) return;
      try {
        const res = await this.runExchange(ctx, { admit: null, giveBack: this.clock() >= this.usableUntil, refill: true });
        if (!res.slice) this.refillQuietUntil = this.clock() + this.settings.ttlMs / 4;
      } catch (err) {
        console.error("limits: grant refill failed", err);
        this.refillQuietUntil = this.clock() + this.settings.ttlMs / 4;
      }
    }, 0);
  }

  private keepAlive(ctx: BookContext): void {
    const now = this.clock();
    if (this.exchanging || this.usableUntil - now >= this.settings.ttlMs / 2) return;
    ctx.defer(async () => {
      if (this.exchanging) return;
      await this.runExchange(ctx, { admit: null, giveBack: this.clock() >= this.usableUntil, refill: false }).catch((err: unknown) => console.error("limits: grant renewal failed", err));
    }, 0);
  }

  /** After a request ends: report soon while others run, give everything back once idle. */
  private schedule(ctx: BookContext): void {
    if (this.running === 0) {
      if (this.idleArmed) return;
      this.idleArmed = true;
      const wait = (ms: number): void =>
        ctx.defer(async (): Promise<void> => {
          const quiet = this.clock() - this.lastActivity;
          if (this.running === 0 && quiet < this.settings.idleMs) return wait(this.settings.idleMs - quiet);
          this.idleArmed = false;
          try {
            if (this.running === 0) await this.giveBack(ctx);
            else await this.flush(ctx);
          } catch (err) {
            console.error("limits: grant give-back failed", err);
          }
        }, ms);
      wait(this.settings.idleMs);
      return;
    }
    if (this.flushArmed || this.pending.length === 0) return;
    this.flushArmed = true;
    ctx.defer(async () => {
      this.flushArmed = false;
      await this.flush(ctx).catch((err: unknown) => console.error("limits: settlement report failed", err));
    }, this.settings.flushMs);
  }

  // ---- calls to the object ----

  /**
   * Resolves once no exchange is under way, polling on this request's own timer. Never by
   * awaiting the exchange itself: it belongs to whichever request started it, and in workerd a
   * request that awaits another request's promise resumes inside that other request's context,
   * where its next touch of its own I/O (its abort signal, its stub, its queue send) fails with
   * "Cannot perform I/O on behalf of a different request" (found under load by the benchmark).
   * An exchange is one call to the object; the wait costs a few timer turns.
   */
  private async exchangeDone(): Promise<void> {
    for (let i = 0; this.exchanging; i++) await sleep(EXCHANGE_POLL_MS[Math.min(i, EXCHANGE_POLL_MS.length - 1)] as number);
  }

  /** One exchange at a time; `onResult` runs with the answer before anyone waiting sees the book. */
  private runExchange(ctx: BookContext, mode: ExchangeMode, onResult?: (res: ExchangeResult) => void): Promise<ExchangeResult> {
    const call = this.send(ctx, mode, onResult);
    const done = call.then(
      () => {},
      () => {},
    );
    // Other requests may be waiting for this call: it must finish even if its own client goes away.
    ctx.defer(() => done, 0);
    this.exchanging = done;
    void done.then(() => {
      if (this.exchanging === done) this.exchanging = null;
    });
    return call;
  }

  private async send(ctx: BookContext, mode: ExchangeMode, onResult?: (res: ExchangeResult) => void): Promise<ExchangeResult> {
    const sentAt = this.clock();
    // Past its TTL the object may have let everything free go: claim only what is running.
    const giveBack = mode.giveBack || sentAt >= this.usableUntil;
    if (this.pending.length > 0) {
      this.unacked.push({ seq: ++this.seq, settled: this.pending });
      this.pending = [];
    }
    this.dropExpiredSlices(sentAt);
    if (giveBack) {
      for (const s of this.slices) this.closing.push({ id: s.id, requests: s.requests, tokens: s.tokens });
      this.slices = [];
      this.freeConcurrency = 0;
      this.freeMicroUsd = 0;
    } else if (this.policy) {
      // Keep at most one share free; the rest goes back to the plan.
      const share = this.share(this.policy);
      this.freeConcurrency = Math.min(this.freeConcurrency, share.concurrency);
      this.freeMicroUsd = Math.min(this.freeMicroUsd, share.microUsd);
    }
    const closingSent = [...this.closing];
    const batchesSent = [...this.unacked];
    const input: ExchangeInput = {
      bookId: this.id,
      ttlMs: this.settings.ttlMs,
      version: this.policy?.version ?? null,
      batches: batchesSent,
      holding: { concurrency: this.running + this.freeConcurrency, microUsd: this.runningCost + Math.max(0, this.freeMicroUsd) },
      slices: [...this.slices.map((s) => ({ id: s.id, requests: s.requests, tokens: s.tokens, keep: true })), ...closingSent.map((s) => ({ ...s, keep: false }))],
      admit: mode.admit ? { ...mode.admit, leaseTtlMs: this.settings.leaseTtlMs } : null,
      refill: mode.refill,
    };
    // A failed call keeps its batches and closings: they are sent again (batches by seq, once).
    const sentTokens = closingSent.map((c) => c.tokens);
    const res = await ctx.transport.exchange(input);
    this.unacked = this.unacked.filter((b) => !batchesSent.includes(b));
    this.closing = this.closing.filter((c) => !closingSent.includes(c));
    // Refunds that reached a closing slice while the call was under way go back as refunds.
    closingSent.forEach((c, i) => {
      const late = c.tokens - (sentTokens[i] ?? c.tokens);
      if (late > 0) this.pending.push({ requestId: `refund:${c.id}`, costMicroUsd: 0, refund: { sliceId: c.id, tokens: late } });
    });
    this.apply(res, sentAt, ctx);
    onResult?.(res);
    return res;
  }

  private apply(res: ExchangeResult, sentAt: number, ctx: BookContext): void {
    this.status = res.status;
    this.statusAt = this.clock();
    if (res.policy) {
      if (this.policy && this.policy.version !== res.policy.version) {
        // The plan, credit or prices changed: nothing granted under the old ones is used again.
        for (const s of this.slices) this.closing.push({ id: s.id, requests: s.requests, tokens: s.tokens });
        this.slices = [];
        this.freeConcurrency = 0;
        this.freeMicroUsd = 0;
        ctx.defer(() => this.flush(ctx).catch((err: unknown) => console.error("limits: grant give-back failed", err)), 0);
      }
      this.policy = res.policy;
    }
    const until = sentAt + Math.floor(this.settings.ttlMs * (1 - EXPIRY_MARGIN));
    this.usableUntil = until;
    const slice = res.slice;
    if (slice) {
      this.slices.push({ id: slice.id, requests: slice.requests, tokens: slice.tokens, usableUntil: until });
      this.freeConcurrency += slice.concurrency;
      this.freeMicroUsd += slice.microUsd;
      this.lastSlice = { concurrency: slice.concurrency, microUsd: slice.microUsd };
    }
  }

  /** One share of the plan, as the object sizes slices (money grows with credit, hence the last slice). */
  private share(policy: BookPolicy): { requests: number; tokens: number; concurrency: number; microUsd: number } {
    const s = sliceSize(policy.plan, 0, this.settings);
    return { ...s, concurrency: Math.max(s.concurrency, this.lastSlice.concurrency), microUsd: Math.max(s.microUsd, this.lastSlice.microUsd) };
  }

  // ---- plans too small to slice: one request at a time ----

  private async reserveLease(req: BookRequest, ctx: BookContext): Promise<BookOutcome> {
    const r = await ctx.transport.reserve({ ...req, leaseTtlMs: this.settings.leaseTtlMs });
    const plan = this.policy?.plan;
    // The plan changed under us (the answer says so): ask with an exchange next time.
    if (plan && (r.status.planId !== plan.id || r.status.requests.limit !== plan.requestsPerMinute || r.status.concurrency.limit !== plan.concurrentRequests || r.status.tokens.limit !== plan.tokensPerMinute)) {
      this.policy = null;
    }
    if (!r.ok) return { ok: false, refusal: r.refusal, status: r.status };
    return this.leaseAdmission(r.leaseId, r.price, r.status);
  }

  private leaseAdmission(leaseId: string, price: ModelPrice, status: LimitStatus): BookOutcome {
    let open = true;
    const close = () => {
      const was = open;
      open = false;
      return was;
    };
    return {
      ok: true,
      via: "lease",
      price,
      status,
      keepAliveMs: Math.max(1_000, Math.floor(this.settings.leaseTtlMs / 3)),
      settle: async (tokens, cost, ctx) => {
        if (!close()) return;
        await ctx.transport.settleLease(leaseId, tokens, cost);
      },
      release: (ctx) => {
        if (!close()) return;
        ctx.defer(() => ctx.transport.releaseLease(leaseId).catch((err: unknown) => console.error(`limits: releasing ${leaseId} failed`, err)), 0);
      },
      keepAlive: (ctx) => {
        if (!open) return;
        ctx.defer(async () => {
          const alive = await ctx.transport.renewLease(leaseId, this.settings.leaseTtlMs).catch((err: unknown) => {
            console.error(`limits: renewing ${leaseId} failed`, err);
            return true;
          });
          if (!alive) open = false;
        }, 0);
      },
    };
  }
}
