/**
 * The usage event: one per request that reached routing, whatever happened to it. It travels
 * through the USAGE_QUEUE to the consumer, which writes it to D1 keyed by `requestId`.
 */

/**
 * How a request ended. Two statuses blame no miner and are never billed:
 * - request_error: every miner tried (at least two) failed on it the same way, so the request
 *   is at fault (it must not open circuits or count against miners in settlement);
 * - internal_error: the gateway itself failed (a bug) after a miner answered.
 */
export type UsageStatus = "ok" | "miner_error" | "no_miner" | "client_cancelled" | "timeout" | "bad_response" | "request_error" | "internal_error";

export type Endpoint = "chat.completions" | "completions" | "embeddings";

export interface UsageEvent {
  requestId: string;
  kind: "subscriber" | "canary";
  subscriberId: string | null;
  apiKeyId: string | null;
  endpoint: Endpoint;
  model: string;
  minerHotkey: string | null;
  status: UsageStatus;
  httpStatus: number;
  errorCode: string | null;
  streamed: boolean;
  attempts: number;
  /** What the miner claimed in `usage` (null when it said nothing). */
  promptTokensReported: number | null;
  completionTokensReported: number | null;
  /** What the gateway counted itself over the bytes it relayed. */
  promptTokensCounted: number;
  completionTokensCounted: number;
  ttftMs: number | null;
  durationMs: number;
  /** Unix ms when the request reached routing. */
  createdAt: number;
  /**
   * `usage.prompt_tokens_details.cached_tokens` as the miner reported it. Optional, like
   * `costMicroUsd`, so events queued by an older deployment still parse.
   */
  cachedPromptTokensReported?: number | null;
  /** What the subscriber is charged, integer micro-USD (src/billing/pricing.ts); 0 when unpriced. */
  costMicroUsd?: number;
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
