/**
 * Admission against the subscriber's plan, as the pipeline's `Admitter`, over grant books: one
 * book per subscriber in this isolate (src/billing/grants.ts, docs/admission.md) admits from
 * slices of the plan granted earlier by the subscriber's SubscriberLimits object, and calls the
 * object only when it has to (a cold isolate's first request, a request the book cannot cover, a
 * plan too small to slice). Refusals (429 / 402 / 403 / 400) are thrown as GatewayError; admitted
 * and refused answers carry the limit headers. An admitted request:
 *   - settles from its usage event with what was billed (reported to the object in batches);
 *   - is released unused when it fails before reaching a miner (unknown model, ...);
 *   - keeps its book (or lease) alive while it runs, so a vanished isolate's hold expires.
 */
import type { Env } from "../env";
import { GatewayError } from "../errors";
import { countOp } from "../lib/op-counts";
import type { Admission, AdmissionRequest, Admitter } from "../pipeline/contracts";
import { billingConfig } from "./billing-config";
import { GrantBook, type BookContext, type BookSettings, type LimitsTransport } from "./grants";
import { limitHeaders, refusalError } from "./limit-headers";
import { limitsStub, type SubscriberLimits } from "./limits-do";
import { billableTokens } from "./pricing";

/** Books of idle subscribers are dropped past this many (a book holding nothing costs nothing to recreate). */
const MAX_IDLE_BOOKS = 10_000;

const limitsUnavailable = () =>
  new GatewayError(503, "api_error", "limits_unavailable", "Your plan's limits could not be checked right now; please retry.", null, { "retry-after": "1" });

/** The subscriber's object, bound to its id, as a book's transport (each call counted: one billed DO request). */
export function stubTransport(stub: DurableObjectStub<SubscriberLimits>, subscriberId: string): LimitsTransport {
  return {
    exchange: (input) => (countOp("limits.exchange"), stub.exchange(subscriberId, input)),
    reserve: (input) => (countOp("limits.reserve"), stub.reserve(subscriberId, input)),
    settleLease: (leaseId, tokens, cost) => (countOp("limits.settle"), stub.settle(subscriberId, leaseId, tokens, cost)),
    releaseLease: (leaseId) => (countOp("limits.release"), stub.release(subscriberId, leaseId)),
    renewLease: (leaseId, ttlMs) => (countOp("limits.renew"), stub.renew(leaseId, ttlMs)),
  };
}

/**
 * The subscriber's object as a transport that gets its stub only when a call is made: most
 * admissions come from the book and make none, and a stub costs a SHA-256 of the subscriber id
 * (`idFromName`) per request otherwise.
 */
export function lazyTransport(env: Pick<Env, "LIMITS">, subscriberId: string): LimitsTransport {
  let transport: LimitsTransport | null = null;
  const t = () => (transport ??= stubTransport(limitsStub(env, subscriberId), subscriberId));
  return {
    exchange: (input) => t().exchange(input),
    reserve: (input) => t().reserve(input),
    settleLease: (leaseId, tokens, cost) => t().settleLease(leaseId, tokens, cost),
    releaseLease: (leaseId) => t().releaseLease(leaseId),
    renewLease: (leaseId, ttlMs) => t().renewLease(leaseId, ttlMs),
  };
}

export function bookSettings(env: Env): BookSettings {
  const cfg = billingConfig(env);
  return { ttlMs: cfg.grantTtlMs, idleMs: cfg.grantIdleMs, flushMs: cfg.grantFlushMs, leaseTtlMs: cfg.leaseTtlMs, fraction: cfg.grantSliceFraction };
}

/** This isolate's books, one per subscriber. */
export class GrantBooks {
  private readonly books = new Map<string, GrantBook>();

  constructor(
    private readonly settings: BookSettings,
    private readonly clock: () => number = Date.now,
  ) {}

  of(subscriberId: string): GrantBook {
    let book = this.books.get(subscriberId);
    if (!book) {
      if (this.books.size >= MAX_IDLE_BOOKS) {
        for (const [id, b] of this.books) if (!b.holdsAnything()) this.books.delete(id);
      }
      book = new GrantBook(this.settings, this.clock);
      this.books.set(subscriberId, book);
    }
    return book;
  }
}

/**
 * This isolate's books: module state, so every request the isolate serves shares them (the
 * `env` object is not guaranteed to be the same one across requests). Settings that differ
 * (another deployment's configuration in the same isolate, as in tests) get their own set.
 */
const isolateBooks = new Map<string, GrantBooks>();

export function booksFor(env: Env): GrantBooks {
  const settings = bookSettings(env);
  const key = JSON.stringify(settings);
  let books = isolateBooks.get(key);
  if (!books) {
    books = new GrantBooks(settings);
    isolateBooks.set(key, books);
  }
  return books;
}

export interface GrantAdmitterDeps {
  env: Env;
  waitUntil(p: Promise<unknown>): void;
  /** Defaults to this isolate's books. */
  books?: GrantBooks;
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** An Admitter for one request's deps (its waitUntil carries the book's background work). */
export function grantAdmitter(deps: GrantAdmitterDeps): Admitter {
  const books = deps.books ?? booksFor(deps.env);
  return {
    async admit(req: AdmissionRequest): Promise<Admission> {
      const book = books.of(req.subscriberId);
      const ctx: BookContext = {
        transport: lazyTransport(deps.env, req.subscriberId),
        defer(task, ms) {
          deps.waitUntil(
            (ms > 0 ? sleep(ms) : Promise.resolve()).then(task).catch((err: unknown) => console.error("limits: background work failed", err)),
          );
        },
      };
      const started = performance.now();
      let outcome;
      try {
        outcome = await book.admit(
          { requestId: req.requestId, model: req.model, promptTokens: req.promptTokens, maxOutputTokens: req.maxOutputTokens, choices: req.choices },
          ctx,
        );
      } catch (err) {
        console.error(`${req.requestId}: limits admission failed`, err);
        throw limitsUnavailable();
      }
      const headers = { ...limitHeaders(outcome.status), "server-timing": `admission;dur=${Math.round(performance.now() - started)}` };
      if (!outcome.ok) throw refusalError(outcome.refusal, outcome.status, req.model, headers);
      const admitted = outcome;
      // Keeps the book (or the lease) alive while a long request runs.
      const heartbeat = setInterval(() => admitted.keepAlive(ctx), admitted.keepAliveMs);
      let open = true;
      const close = () => {
        if (!open) return false;
        open = false;
        clearInterval(heartbeat);
        return true;
      };
      return {
        headers,
        price: admitted.price,
        async settle(event) {
          if (!close()) return;
          const t = billableTokens(event);
          // A lease settles with a call: let the answer leave first.
          if (admitted.via === "lease") await sleep(0);
          await admitted.settle(t.prompt + t.completion, event.costMicroUsd ?? 0, ctx);
        },
        release() {
          if (!close()) return;
          admitted.release(ctx);
        },
      };
    },
  };
}
