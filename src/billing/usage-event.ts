/**
 * The usage event: one per request that reached routing, whatever happened to it. Isolates send
 * them in batches through the USAGE_QUEUE; the consumer archives every batch whole (R2 NDJSON) and
 * folds it into the D1 rollups exactly once (docs/metering.md).
 */
import { isObject } from "../lib/json";

/**
 * How a request ended. Two statuses blame no miner and are never billed:
 * - request_error: every miner tried (at least two) failed on it the same way, so the request
 *   is at fault (it must not open circuits or count against miners in settlement);
 * - internal_error: the gateway itself failed (a bug) after a miner answered.
 */
export type UsageStatus = "ok" | "miner_error" | "no_miner" | "client_cancelled" | "timeout" | "bad_response" | "request_error" | "internal_error";

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

/**
 * Whether a parsed value has the fields every reader relies on. Extra fields (added by later
 * versions) are kept: events travel and are archived as whole JSON.
 */
export function isUsageEvent(v: unknown): v is UsageEvent {
  if (!isObject(v)) return false;
  const nullableString = (x: unknown) => x === null || typeof x === "string";
  const nullableCount = (x: unknown) => x === undefined || x === null || (typeof x === "number" && Number.isFinite(x));
  return (
    typeof v.requestId === "string" &&
    (v.kind === "subscriber" || v.kind === "canary") &&
    nullableString(v.subscriberId) &&
    nullableString(v.apiKeyId) &&
    typeof v.endpoint === "string" &&
    typeof v.model === "string" &&
    nullableString(v.minerHotkey) &&
    typeof v.status === "string" &&
    typeof v.httpStatus === "number" &&
    typeof v.createdAt === "number" &&
    Number.isInteger(v.createdAt) &&
    v.createdAt >= 0 &&
    v.createdAt <= 8.64e15 &&
    typeof v.durationMs === "number" &&
    typeof v.promptTokensCounted === "number" &&
    typeof v.completionTokensCounted === "number" &&
    nullableCount(v.promptTokensReported) &&
    nullableCount(v.completionTokensReported) &&
    nullableCount(v.cachedPromptTokensReported) &&
    (v.costMicroUsd === undefined || (typeof v.costMicroUsd === "number" && Number.isInteger(v.costMicroUsd)))
  );
}
