// What a backend handler gets for one verified request, and the counters it updates.
import type { IncomingMessage, ServerResponse } from "node:http";
import type { MinerBehaviour } from "./options";

export type Endpoint = "chat" | "completions" | "embeddings";

export type MinerStats = {
  /** Every HTTP request received, signed or not. */
  requests: number;
  /** Refused by the Epistula check. */
  rejected: number;
  /** Answered with the simulated failRate 500. */
  simulatedFailures: number;
  /** Other 4xx/5xx answers (bad JSON, unknown model, upstream down...). */
  errors: number;
  /** Inference answers fully delivered. */
  completed: number;
  /** Streams cut on purpose by dropAfterTokens. */
  dropped: number;
  /** Answers abandoned because the client went away. */
  clientClosed: number;
  /** Streams that stopped sending on purpose (stallAfterTokens), ended in-band errors (errorEventAfterTokens, finishErrorAfterTokens), or ended with the miner (exitAfterTokens). */
  stalled: number;
  streamErrors: number;
  exited: number;
  /** Inference requests holding a slot now, and the most ever at once (see maxConcurrency). */
  inflight: number;
  peakInflight: number;
  /** Inference requests that had to wait for a slot. */
  queued: number;
  /** Milliseconds from a request's arrival (queueing included) to its first token, the last 1000. */
  firstTokenMs: number[];
  byEndpoint: Record<Endpoint | "models", number>;
  /** Usage as reported (after overReport). */
  promptTokens: number;
  completionTokens: number;
  lastSignedBy: string | undefined;
};

export function emptyStats(): MinerStats {
  return {
    requests: 0,
    rejected: 0,
    simulatedFailures: 0,
    errors: 0,
    completed: 0,
    dropped: 0,
    clientClosed: 0,
    stalled: 0,
    streamErrors: 0,
    exited: 0,
    inflight: 0,
    peakInflight: 0,
    queued: 0,
    firstTokenMs: [],
    byEndpoint: { chat: 0, completions: 0, embeddings: 0, models: 0 },
    promptTokens: 0,
    completionTokens: 0,
    lastSignedBy: undefined,
  };
}

export type RequestContext = {
  req: IncomingMessage;
  res: ServerResponse;
  body: Uint8Array;
  /** Aborts when the client disconnects before the answer is complete. */
  signal: AbortSignal;
  /** Snapshot taken when the request arrived, so a setBehaviour mid-stream cannot tear it. */
  behaviour: Readonly<MinerBehaviour>;
  stats: MinerStats;
  /** performance.now() when the request arrived. */
  arrivedAt: number;
  /** The miner dies (exitAfterTokens). */
  exit: () => void;
};

/** Records one request's time to first token (bounded history). */
export function noteFirstToken(ctx: Pick<RequestContext, "arrivedAt" | "stats">): void {
  const list = ctx.stats.firstTokenMs;
  list.push(performance.now() - ctx.arrivedAt);
  if (list.length > 1000) list.splice(0, list.length - 1000);
}

export interface Backend {
  /** Model ids for GET /v1/models. */
  models(signal: AbortSignal): Promise<readonly string[]>;
  handle(ctx: RequestContext, endpoint: Endpoint): Promise<void>;
}
