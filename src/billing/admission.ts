/**
 * The request path's entry to plans and limits. One Durable Object call per request
 * (`reserve`) admits it against the worst case (prompt + max output tokens, and their cost) or
 * refuses it (429 / 402 / 403 / 400). An admitted request:
 *   - settles from the relay's `onUsage` hook, after the answer, with what was billed;
 *   - is released unused when it fails before reaching a miner (unknown model, ...);
 *   - renews its reservation while it runs, so a crashed isolate's reservation expires.
 * Every response of an admitted or refused request carries the limit headers.
 */
import type { Context } from "hono";
import { GatewayError, withHeaders } from "../errors";
import type { AppEnv } from "../http/app-env";
import { countPrompt, relay, type RelayContext } from "../routing/relay";
import type { InferenceRequest } from "../validation/requests";
import { billingConfig } from "./billing-config";
import { limitHeaders, refusalError } from "./limit-headers";
import { limitsStub, type SubscriberLimits } from "./limits-do";
import type { ReserveResult } from "./limits-state";
import { billableTokens, type ModelPrice } from "./pricing";
import type { UsageEvent } from "./usage-event";

export interface Admission {
  /** Limit headers for the response (and for errors thrown after admission). */
  readonly headers: Readonly<Record<string, string>>;
  readonly price: ModelPrice;
  readonly promptTokens: number;
  /** The relay's onUsage hook: settles the reservation with the request's billed tokens and cost. */
  readonly onUsage: (event: UsageEvent) => Promise<void>;
  /** Gives the reservation back uncharged; a no-op once the request settled. */
  release(): void;
}

const limitsUnavailable = () =>
  new GatewayError(503, "api_error", "limits_unavailable", "Your plan's limits could not be checked right now; please retry.", null, { "retry-after": "1" });

function choicesOf(req: InferenceRequest): number {
  const n = req.body.n;
  return typeof n === "number" && Number.isInteger(n) && n > 1 ? n : 1;
}

/** Reserves the request's worst case for the authenticated subscriber, or throws the refusal. */
export async function admit(c: Context<AppEnv>, req: InferenceRequest): Promise<Admission> {
  const subscriberId = c.var.principal.subscriberId;
  const { leaseTtlMs } = billingConfig(c.env);
  const stub = limitsStub(c.env, subscriberId);
  const promptTokens = countPrompt(req);
  const started = Date.now();
  let result: ReserveResult;
  try {
    result = await stub.reserve(subscriberId, {
      requestId: c.var.requestId,
      model: req.model,
      promptTokens,
      maxOutputTokens: req.endpoint === "embeddings" ? 0 : (req.maxTokens ?? null),
      choices: choicesOf(req),
      leaseTtlMs,
    });
  } catch (err) {
    console.error(`${c.var.requestId}: limits reservation failed`, err);
    throw limitsUnavailable();
  }
  const headers = { ...limitHeaders(result.status), "server-timing": `admission;dur=${Date.now() - started}` };
  if (!result.ok) throw refusalError(result.refusal, result.status, req.model, headers);
  return lease(c, stub, subscriberId, result.leaseId, leaseTtlMs, { headers, price: result.price, promptTokens });
}

function lease(
  c: Context<AppEnv>,
  stub: DurableObjectStub<SubscriberLimits>,
  subscriberId: string,
  leaseId: string,
  ttlMs: number,
  base: Pick<Admission, "headers" | "price" | "promptTokens">,
): Admission {
  let open = true;
  const heartbeat = setInterval(() => {
    stub.renew(leaseId, ttlMs).then(
      (alive) => {
        if (!alive) close();
      },
      (err: unknown) => console.error(`limits: renewing ${leaseId} failed`, err),
    );
  }, Math.max(1_000, Math.floor(ttlMs / 3)));
  const close = (): boolean => {
    if (!open) return false;
    open = false;
    clearInterval(heartbeat);
    return true;
  };
  return {
    ...base,
    // Runs when the meter emits (synchronously up to the first await), so `release` after it is a no-op.
    async onUsage(event) {
      if (!close()) return;
      const t = billableTokens(event);
      // A non-streamed answer is metered just before it is returned: yield one task so the
      // response leaves first and the settlement stays off the request's latency.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await stub.settle(subscriberId, leaseId, t.prompt + t.completion, event.costMicroUsd ?? 0);
    },
    release() {
      if (!close()) return;
      c.executionCtx.waitUntil(stub.release(subscriberId, leaseId).catch((err: unknown) => console.error(`limits: releasing ${leaseId} failed`, err)));
    },
  };
}

/** Sets headers on a response, copying it first if its headers are immutable. */
function withResponseHeaders(res: Response, headers: Readonly<Record<string, string>>): Response {
  try {
    for (const [k, v] of Object.entries(headers)) res.headers.set(k, v);
    return res;
  } catch {
    const copy = new Response(res.body, res);
    for (const [k, v] of Object.entries(headers)) copy.headers.set(k, v);
    return copy;
  }
}

/**
 * `relay` under the subscriber's plan: admission first, the cost and settlement wired into
 * the relay, the limit headers on whatever comes back, the reservation released if the relay
 * throws before metering.
 */
export async function relayWithLimits(c: Context<AppEnv>, req: InferenceRequest, rc: RelayContext): Promise<Response> {
  const admission = await admit(c, req);
  let res: Response;
  try {
    res = await relay(req, { ...rc, price: admission.price, promptTokens: admission.promptTokens, onUsage: [...(rc.onUsage ?? []), admission.onUsage] });
  } catch (err) {
    admission.release();
    throw err instanceof GatewayError ? withHeaders(err, admission.headers) : err;
  }
  return withResponseHeaders(res, admission.headers);
}
