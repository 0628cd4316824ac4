/**
 * The request pipeline's contracts: what `serveInference` (src/pipeline/serve.ts) needs from the
 * rest of the gateway, and the plain data that flows between its stages. Nothing here knows
 * HTTP frameworks; the HTTP layer (src/http/) builds `RequestInfo` and `PipelineDeps` and hands
 * the pipeline the parsed JSON body.
 *
 *   decode -> session key -> count prompt (once) -> budget -> admit -> meter -> dispatch -> encode
 *
 * Other work plugs in behind these interfaces: admission grants behind `Admitter`, batched
 * metering behind `UsageSink`, WebAssembly signing behind `Signer`, mid-stream continuation
 * inside dispatch (its outcome type stays the same).
 */
import type { ModelPrice } from "../billing/pricing";
import type { UsageEvent } from "../billing/usage-event";
import type { Config } from "../env";
import type { JsonObject } from "../lib/json";
import type { Sr25519Keypair } from "../protocol/keys";
import type { Miner, MinerSnapshot } from "../routing/directory";
import type { RouteHint } from "../routing/score";
import type { InferenceRequest } from "../validation/requests";

/** What the HTTP layer knows about one authenticated inference request. */
export interface RequestInfo {
  requestId: string;
  subscriberId: string;
  apiKeyId: string | null;
  /** The client's request headers (session ids, budgets, route hint); read only. */
  headers: Headers;
  /** Aborts when the client disconnects. */
  signal: AbortSignal;
}

// ---------------------------------------------------------------------------------------------
// Admission: the subscriber's plan (src/billing/admission.ts).

export interface AdmissionRequest {
  requestId: string;
  subscriberId: string;
  model: string;
  promptTokens: number;
  /** null: the plan's default output reserve; 0 for embeddings. */
  maxOutputTokens: number | null;
  choices: number;
}

/** An admitted request's hold on the plan. Refusals are thrown as GatewayError (429/402/403). */
export interface Admission {
  /** Limit headers for the answer (and for errors raised after admission). */
  readonly headers: Readonly<Record<string, string>>;
  /** The model's price for this subscriber. */
  readonly price: ModelPrice;
  /** Settles the hold with what the request was billed; called once, from the usage event. */
  settle(event: UsageEvent): Promise<void>;
  /** Gives the hold back uncharged (the request failed before any miner answered); idempotent. */
  release(): void;
}

export interface Admitter {
  admit(request: AdmissionRequest): Promise<Admission>;
}

// ---------------------------------------------------------------------------------------------
// Per-task budgets (src/billing/budget.ts).

export interface BudgetStore {
  prices(): Promise<readonly ModelPrice[]>;
  sessionSpent(subscriberId: string, sessionKey: string): Promise<number>;
  addSessionSpend(subscriberId: string, sessionKey: string, costMicroUsd: number): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Metering: exactly one usage event per request that reached admission.

/** Where finished usage events go (a queue, a batcher, a test's array). */
export type UsageSink = (event: UsageEvent) => Promise<void>;

// ---------------------------------------------------------------------------------------------
// Routing: which miners, in what order, and what we learned from each attempt.

export interface MinerDirectory {
  snapshot(): Promise<MinerSnapshot>;
}

export type AttemptFailureKind = "connect" | "status" | "timeout" | "bad_response";

export interface RoutingHealth {
  /** Candidates for one request, best first, at most `maxAttempts`. */
  rank(serving: readonly Miner[], opts: { model: string; maxAttempts: number; hint: RouteHint; affinityKey: string | undefined }): readonly Miner[];
  /** An attempt went out to `hotkey` (in-flight count +1). */
  attemptStarted(hotkey: string): void;
  /** An attempt ended without answering the client (in-flight count -1). */
  attemptEnded(hotkey: string): void;
  /** A miner failed an attempt: counted against it (circuit, success rate). */
  attemptFailed(model: string, hotkey: string, kind: AttemptFailureKind, at: number): void;
  /** The request's final usage event: folds the answering miner's outcome into its measurements. */
  observe(event: UsageEvent, ctx: { responded: boolean; affinityKey: string | undefined }): Promise<void>;
}

/** Signs Epistula requests with the gateway's hotkey. */
export type Signer = () => Sr25519Keypair;

// ---------------------------------------------------------------------------------------------
// Everything the pipeline depends on, as one object (tests pass fakes).

export interface PipelineDeps {
  config: Config;
  admitter: Admitter;
  budgets: BudgetStore;
  miners: MinerDirectory;
  health: RoutingHealth;
  signer: Signer;
  /** The gateway's own prompt token count (src/pipeline/count-prompt.ts); called once per request. */
  countPrompt(request: InferenceRequest): number;
  usage: UsageSink;
  /** Calls one miner; `fetch` in production. */
  fetch: typeof fetch;
  clock: () => number;
  waitUntil(p: Promise<unknown>): void;
}

// ---------------------------------------------------------------------------------------------
// Dispatch outcomes: what the miners produced, before any dialect encodes it.

/** One event of a miner's chat/completions stream as relayed: parsed once, with its wire bytes. */
export type RelayEvent =
  /** `raw` is the exact SSE frame an OpenAI client receives (usage stripped or priced as needed). */
  | { kind: "chunk"; payload: JsonObject; raw: Uint8Array }
  | { kind: "done"; raw: Uint8Array }
  /** The stream failed after its first byte; `raw` is the OpenAI-shaped SSE error event. */
  | { kind: "error"; code: string; message: string; raw: Uint8Array };

export type DispatchOutcome =
  /**
   * A well-formed non-streamed answer (its `usage` already carries the cost when priced). Its
   * meter is still open: serveInference finishes it once the answer is encoded.
   */
  | { kind: "answer"; miner: string; payload: JsonObject }
  /** A stream that reached its first byte; it is read to its end and metered by itself. */
  | { kind: "stream"; miner: string; events: ReadableStream<RelayEvent> }
  /** A miner refused the request itself (400/413/422): the client's fault, passed through. */
  | { kind: "refusal"; miner: string; status: number; body: string }
  /** The client went away before any miner answered. */
  | { kind: "cancelled" };

// ---------------------------------------------------------------------------------------------
// Dialects: decode a client's body into an inference request, encode an outcome back.

export interface Decoded<Ctx> {
  /** The validated chat/completions/embeddings request sent to miners. */
  request: InferenceRequest;
  /** The conversation as chat messages (session key source); undefined when it has none. */
  conversation: unknown;
  /** What the encoder needs later (model name as asked, stop sequences, ...). */
  context: Ctx;
}

export interface EncodeMeta {
  requestId: string;
  /** The gateway's own prompt count, computed once by the pipeline. */
  promptTokens: number;
  /** Headers every answer carries (request id, miner, limits, budget). */
  headers: Headers;
  now: number;
}

export interface Dialect<Ctx> {
  readonly name: "openai" | "anthropic" | "responses";
  /** Translates and validates the body (400 GatewayError naming the field when it is wrong). */
  decode(body: JsonObject, requestId: string): Decoded<Ctx>;
  /** Encodes a miner's outcome for the caller; errors before dispatch are thrown GatewayErrors. */
  encode(outcome: Exclude<DispatchOutcome, { kind: "cancelled" }>, context: Ctx, meta: EncodeMeta): Response;
  /**
   * Dialects that translate streams (not the OpenAI one, which forwards the relay's bytes): the
   * final event a stream ends with when the translation itself fails mid-way (the pipeline then
   * meters internal_error: src/pipeline/stream-guard.ts). It must not depend on the request's data.
   */
  streamFailure?(context: Ctx, meta: EncodeMeta): Uint8Array;
}
