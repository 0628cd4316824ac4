/**
 * Admission against the subscriber's plan, as the pipeline's `Admitter`. One Durable Object call
 * per request (`reserve`) admits it against the worst case (prompt + max output tokens, and their
 * cost) or refuses it (429 / 402 / 403 / 400, thrown as GatewayError with the limit headers).
 * An admitted request:
 *   - settles from its usage event, after the answer, with what was billed;
 *   - is released unused when it fails before reaching a miner (unknown model, ...);
 *   - renews its reservation while it runs, so a crashed isolate's reservation expires.
 */
import type { Admission, AdmissionRequest, Admitter } from "../pipeline/contracts";
import { GatewayError } from "../errors";
import { limitHeaders, refusalError } from "./limit-headers";
import type { SubscriberLimits } from "./limits-do";
import type { ReserveResult } from "./limits-state";
import { billableTokens, type ModelPrice } from "./pricing";
import type { UsageEvent } from "./usage-event";

export interface LimitsAdmitterOptions {
  limits: DurableObjectNamespace<SubscriberLimits>;
  leaseTtlMs: number;
  waitUntil(p: Promise<unknown>): void;
  clock(): number;
}

const limitsUnavailable = () =>
  new GatewayError(503, "api_error", "limits_unavailable", "Your plan's limits could not be checked right now; please retry.", null, { "retry-after": "1" });

/** Admits each request with one reservation in the subscriber's SubscriberLimits object. */
export function limitsAdmitter(o: LimitsAdmitterOptions): Admitter {
  return {
    async admit(req: AdmissionRequest): Promise<Admission> {
      const stub = o.limits.get(o.limits.idFromName(req.subscriberId));
      const started = o.clock();
      let result: ReserveResult;
      try {
        result = await stub.reserve(req.subscriberId, {
          requestId: req.requestId,
          model: req.model,
          promptTokens: req.promptTokens,
          maxOutputTokens: req.maxOutputTokens,
          choices: req.choices,
          leaseTtlMs: o.leaseTtlMs,
        });
      } catch (err) {
        console.error(`${req.requestId}: limits reservation failed`, err);
        throw limitsUnavailable();
      }
      const headers = { ...limitHeaders(result.status), "server-timing": `admission;dur=${o.clock() - started}` };
      if (!result.ok) throw refusalError(result.refusal, result.status, req.model, headers);
      return lease(o, stub, req.subscriberId, result.leaseId, headers, result.price);
    },
  };
}

function lease(
  o: LimitsAdmitterOptions,
  stub: DurableObjectStub<SubscriberLimits>,
  subscriberId: string,
  leaseId: string,
  headers: Readonly<Record<string, string>>,
  price: ModelPrice,
): Admission {
  let open = true;
  const heartbeat = setInterval(() => {
    stub.renew(leaseId, o.leaseTtlMs).then(
      (alive) => {
        if (!alive) close();
      },
      (err: unknown) => console.error(`limits: renewing ${leaseId} failed`, err),
    );
  }, Math.max(1_000, Math.floor(o.leaseTtlMs / 3)));
  const close = (): boolean => {
    if (!open) return false;
    open = false;
    clearInterval(heartbeat);
    return true;
  };
  return {
    headers,
    price,
    // Runs when the meter emits (synchronously up to the first await), so `release` after it is a no-op.
    async settle(event: UsageEvent) {
      if (!close()) return;
      const t = billableTokens(event);
      // A non-streamed answer is metered just before it is returned: yield one task so the
      // response leaves first and the settlement stays off the request's latency.
      await new Promise((resolve) => setTimeout(resolve, 0));
      await stub.settle(subscriberId, leaseId, t.prompt + t.completion, event.costMicroUsd ?? 0);
    },
    release() {
      if (!close()) return;
      o.waitUntil(stub.release(subscriberId, leaseId).catch((err: unknown) => console.error(`limits: releasing ${leaseId} failed`, err)));
    },
  };
}
