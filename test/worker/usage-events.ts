/**
 * A complete usage event as the pipeline records one (src/billing/usage-event.ts): a served,
 * non-streamed chat request of 10 prompt and 5 completion tokens costing 7 micro-USD. Tests of the
 * consumer and the rollups override what they look at.
 */
import type { UsageEvent } from "../../src/billing/usage-event";

export const TEST_MINER = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";

export function usageEvent(over: Partial<UsageEvent> & Pick<UsageEvent, "requestId">): UsageEvent {
  return {
    kind: "subscriber",
    subscriberId: "sub_usage_test",
    apiKeyId: "key_usage_test",
    endpoint: "chat.completions",
    model: "usage/model",
    minerHotkey: TEST_MINER,
    status: "ok",
    httpStatus: 200,
    errorCode: null,
    streamed: false,
    attempts: 1,
    promptTokensReported: 10,
    completionTokensReported: 5,
    promptTokensCounted: 10,
    completionTokensCounted: 5,
    ttftMs: 3,
    durationMs: 9,
    createdAt: Date.UTC(2026, 10, 24, 12),
    cachedPromptTokensReported: null,
    costMicroUsd: 7,
    ...over,
  };
}
