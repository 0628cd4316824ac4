/**
 * The meter stage: one UsageMeter per request that reached routing. Its single usage event goes
 * to the usage sink and, in the same breath, settles admission, the session budget and routing's
 * measurements; a failing hook is logged and never stops the others.
 */
import { UsageMeter } from "../billing/meter";
import type { UsageEvent } from "../billing/usage-event";
import type { InferenceRequest } from "../validation/requests";
import type { Admission, PipelineDeps, RequestInfo } from "./contracts";

export interface MeterInput {
  info: RequestInfo;
  request: InferenceRequest;
  promptTokens: number;
  admission: Admission;
  /** The session budget's settlement, when the request has one. */
  settleBudget: ((event: UsageEvent) => Promise<void>) | undefined;
  sessionKey: string | undefined;
}

export function openMeter(deps: PipelineDeps, m: MeterInput): UsageMeter {
  const hooks: ((event: UsageEvent) => Promise<void>)[] = [m.admission.settle];
  if (m.settleBudget) hooks.push(m.settleBudget);
  hooks.push((event) => deps.health.observe(event, { responded: meter.hasAnswer, affinityKey: m.sessionKey }));

  const meter: UsageMeter = new UsageMeter(
    {
      requestId: m.info.requestId,
      kind: "subscriber",
      subscriberId: m.info.subscriberId,
      apiKeyId: m.info.apiKeyId,
      endpoint: m.request.endpoint,
      model: m.request.model,
      streamed: m.request.stream,
      promptTokensCounted: m.promptTokens,
      price: m.admission.price,
    },
    async (event) => {
      // Hooks are called synchronously here (admission's settle closes its lease before any await).
      const results = await Promise.allSettled([deps.usage(event), ...hooks.map((h) => h(event))]);
      for (const r of results) if (r.status === "rejected") console.error(`usage hook failed for ${event.requestId}`, r.reason);
    },
  );
  // A client that disconnects ends the request; only a promise registered while it was alive
  // keeps the Worker running long enough to emit the event.
  deps.waitUntil(meter.settled);
  return meter;
}
