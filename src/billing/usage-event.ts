/**
 * The usage event: one per request that reached routing, whatever happened to it. It travels
 * through the USAGE_QUEUE to the consumer, which writes it to D1 keyed by `requestId`.
 */

export type UsageStatus = "ok" | "miner_error" | "no_miner" | "client_cancelled" | "timeout" | "bad_response";

export type Endpoint = "chat.completions" | "completions" | "embeddings";

/** How one attempt of a request ended. */
export type AttemptOutcome =
  /** Delivered the end of the answer (or the whole of it). */
  | "answered"
  /** Failed before anything reached the client (the request moved on). */
  | "failed"
  /** Broke mid-stream after delivering `completionTokens`; another miner continued. */
  | "broken"
  /** The request ended on it without a complete answer (error event, client gone, refusal). */
  | "ended";

export interface AttemptRecord {
  minerHotkey: string;
  outcome: AttemptOutcome;
  /** Completion tokens the gateway counted from this miner's part of the answer. */
  completionTokens: number;
}

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
  /**
   * Every miner tried, in order, and what each delivered: several answering miners when a broken
   * stream was continued on another (`minerHotkey` is the last one). Optional: older events
   * have none.
   */
  attemptLog?: AttemptRecord[];
}

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}
