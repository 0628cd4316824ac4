/**
 * Dispatch: sends one inference request to its ranked miners, failing over before the first
 * byte reaches the client (connection error, 5xx/429, refused signature, timeout, malformed
 * answer), and returns what the miners produced as a DispatchOutcome. It never builds HTTP
 * responses; dialects encode the outcome. The meter it is given is finished exactly once on
 * every path: here, by the stream relay when a stream ends, or, for a non-streamed answer, by
 * the pipeline once the answer is encoded.
 */
import type { UsageMeter } from "../billing/meter";
import { addCost } from "../billing/usage-cost";
import { upstreamFailure, type GatewayError } from "../errors";
import { isObject, type JsonObject } from "../lib/json";
import { readTextLimited } from "../lib/read-limited";
import { answerText, isWellFormedAnswer } from "../routing/answer-text";
import type { Miner } from "../routing/directory";
import { callMiner, isRedirect } from "../routing/miner-client";
import type { InferenceRequest } from "../validation/requests";
import { requestIsToBlame, statusSignature, type AttemptFailure } from "./blame";
import type { AttemptFailureKind, DispatchOutcome, PipelineDeps } from "./contracts";
import { continuationBody } from "./continuation";
import { relayStream, type Continuation, type StreamSource } from "./stream";
import { peekStream, type StreamLimits } from "./stream-peek";

export interface DispatchInput {
  request: InferenceRequest;
  /** Ranked candidates, best first (src/pipeline/route.ts). */
  candidates: readonly Miner[];
  meter: UsageMeter;
  /** Aborts when the client disconnects. */
  signal: AbortSignal;
  /** Add the cost to `usage` in what the client receives. */
  priced: boolean;
  /**
   * A stream that breaks after content reached the client may be continued on the remaining
   * candidates (src/pipeline/continuation.ts: continuationAllowed decides per request).
   */
  continuation?: boolean;
}

const PATHS = { "chat.completions": "/v1/chat/completions", completions: "/v1/completions", embeddings: "/v1/embeddings" } as const;

/** Miner answers passed to the client as they are: the request itself is at fault. */
const CLIENT_FAULT_STATUSES = new Set([400, 413, 422]);
/** A refusal's body is an error message: one larger than this is not passed on (a bad answer). */
const MAX_REFUSAL_BYTES = 64 * 1024;

export async function dispatch(deps: PipelineDeps, input: DispatchInput): Promise<DispatchOutcome> {
  const { request, meter, signal } = input;
  const cfg = deps.config;
  const failures: AttemptFailure[] = [];
  // One deadline for all attempts before the client's first byte (a whole non-streamed answer).
  const deadlineAt = deps.clock() + (request.stream ? cfg.routingDeadlineMs : cfg.minerTimeoutMs);
  try {
    // In the try: if the gateway cannot even serialise the body, that is its own failure, metered as one.
    const body = new TextEncoder().encode(JSON.stringify(minerBody(request)));
    for (const [i, miner] of input.candidates.entries()) {
      if (signal.aborted) break;
      if (deps.clock() >= deadlineAt) {
        failures.push({ kind: "timeout", detail: "the routing deadline passed before a miner answered", hotkey: null, signature: null });
        break;
      }
      meter.attempt(miner.hotkey);
      deps.health.attemptStarted(miner.hotkey);
      // Once an attempt answers, the usage event's health hook ends its in-flight count.
      const result = await attempt(deps, input, miner, body, deadlineAt, input.candidates.slice(i + 1));
      if (!("failure" in result)) {
        // A miner refusing the request as invalid makes the earlier failures the request's too.
        if (result.kind !== "refusal") blameMiners(failures);
        return result;
      }
      deps.health.attemptEnded(miner.hotkey);
      // Not recorded yet: whether this was the miner's fault depends on how the others fare.
      if (!signal.aborted) failures.push(result.failure);
    }
  } catch (err) {
    // A bug, not a miner failure: still exactly one usage event (never billed), then the generic 500.
    meter.finish("internal_error", 500, "internal_error");
    throw err;
  }

  if (signal.aborted) {
    blameMiners(failures);
    meter.finish("client_cancelled", 499, "client_closed_request");
    return { kind: "cancelled" };
  }
  if (requestIsToBlame(failures)) {
    const error = upstreamFailure("request_failed", failures.map((f) => f.detail).join("; "));
    meter.finish("request_error", error.status, error.code);
    throw error;
  }
  blameMiners(failures);
  const error = summarise(failures);
  meter.finish(error.status === 504 ? "timeout" : "miner_error", error.status, error.code);
  throw error;

  /** Counts the request's failed attempts against their miners (circuits, success rates). */
  function blameMiners(list: readonly AttemptFailure[]): void {
    for (const f of list) if (f.hotkey !== null) deps.health.attemptFailed(request.model, f.hotkey, f.kind, deps.clock());
  }
}

/** One miner: its answer as an outcome (it then owns the meter), or why it failed. */
async function attempt(
  deps: PipelineDeps,
  input: DispatchInput,
  miner: Miner,
  body: Uint8Array,
  deadlineAt: number,
  remaining: readonly Miner[],
): Promise<DispatchOutcome | { failure: AttemptFailure }> {
  const { request, meter, signal } = input;
  const cfg = deps.config;
  const fail = (kind: AttemptFailureKind, detail: string, signature: string | null = null) => ({ failure: { kind, detail, hotkey: miner.hotkey, signature } });
  const upstream = new AbortController();
  const onClientAbort = () => upstream.abort();
  signal.addEventListener("abort", onClientAbort);
  let timedOut = false;
  const limit = request.stream ? cfg.firstByteTimeoutMs : cfg.minerTimeoutMs;
  const timer = setTimeout(
    () => {
      timedOut = true;
      upstream.abort();
    },
    Math.min(limit, Math.max(0, deadlineAt - deps.clock())),
  );

  try {
    let res: Response;
    try {
      res = await callMiner(miner, PATHS[request.endpoint], body, deps.signer(), upstream.signal, deps.fetch);
    } catch (err) {
      return timedOut ? fail("timeout", `${miner.hotkey} timed out`) : fail("connect", `${miner.hotkey}: ${errorText(err)}`);
    }

    if (!res.ok) {
      if (CLIENT_FAULT_STATUSES.has(res.status)) {
        let text: string | null;
        try {
          text = await readTextLimited(res, MAX_REFUSAL_BYTES);
        } catch (err) {
          return timedOut ? fail("timeout", `${miner.hotkey} timed out`) : fail("connect", `${miner.hotkey}: ${errorText(err)}`);
        }
        if (text === null) return fail("bad_response", `${miner.hotkey} refused the request (${res.status}) with a body larger than ${MAX_REFUSAL_BYTES} bytes`, "refusal too large");
        meter.answering();
        meter.finish("miner_error", res.status, "rejected_by_miner");
        return { kind: "refusal", miner: miner.hotkey, status: res.status, body: text };
      }
      await discard(res);
      if (isRedirect(res.status)) return fail("status", `${miner.hotkey} answered a redirect (${res.status}), which is never followed`);
      return fail("status", `${miner.hotkey} answered ${res.status}`, statusSignature(res.status));
    }

    if (!request.stream) {
      let payload: unknown;
      try {
        // Read under MINER_MAX_ANSWER_BYTES: past it the connection is closed, nothing more is buffered.
        const text = await readTextLimited(res, cfg.maxAnswerBytes);
        if (text === null) {
          return fail("bad_response", `${miner.hotkey} sent an answer larger than ${cfg.maxAnswerBytes} bytes (MINER_MAX_ANSWER_BYTES)`, "answer too large");
        }
        payload = JSON.parse(text);
      } catch (err) {
        if (timedOut) return fail("timeout", `${miner.hotkey} timed out`);
        return fail("bad_response", `${miner.hotkey} sent invalid JSON (${errorText(err)})`, "invalid JSON");
      }
      if (!isWellFormedAnswer(request.endpoint, payload)) return fail("bad_response", `${miner.hotkey} sent a malformed answer`, "malformed answer");
      meter.firstByte();
      if (isObject(payload.usage)) meter.reportUsage(payload.usage);
      meter.deliver(answerText(request.endpoint, payload));
      meter.answering();
      // The meter stays open: the pipeline finishes it once the answer is encoded, so a failure
      // there is metered as the gateway's own and never billed. costSoFar is what "ok" will cost.
      if (input.priced) addCost(payload, meter.costSoFar());
      return { kind: "answer", miner: miner.hotkey, payload };
    }

    const started = await startedStream(res, request.endpoint, miner, streamLimits(cfg), () => timedOut);
    if ("failure" in started) {
      upstream.abort();
      return started;
    }

    // The stream has started (content in hand, peeked): from here on the client owns it.
    clearTimeout(timer);
    meter.answering();
    const events = relayStream({
      endpoint: request.endpoint,
      first: started.first,
      reader: started.reader,
      upstream,
      meter,
      includeUsage: request.includeUsage,
      idleTimeoutMs: cfg.streamIdleTimeoutMs,
      clientSignal: signal,
      priced: input.priced,
      continuation: input.continuation ? continueOn(deps, input, miner, remaining) : undefined,
      limits: streamLimits(cfg),
    });
    return { kind: "stream", miner: miner.hotkey, events };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onClientAbort);
  }
}

/**
 * An opened SSE response, peeked until it has started (content, or a finish other than
 * "error"): its reader and the bytes read, or why it failed before anything reached the client.
 */
async function startedStream(
  res: Response,
  endpoint: InferenceRequest["endpoint"],
  miner: Miner,
  limits: StreamLimits,
  timedOut: () => boolean,
): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; first: Uint8Array } | { failure: AttemptFailure }> {
  const fail = (kind: AttemptFailureKind, detail: string, signature: string | null = null) => ({ failure: { kind, detail, hotkey: miner.hotkey, signature } });
  const type = res.headers.get("content-type") ?? "";
  if (!type.includes("text/event-stream") || !res.body) {
    await res.body?.cancel();
    return fail("bad_response", `${miner.hotkey} did not stream (content-type '${type}')`, "not a stream");
  }
  const reader = res.body.getReader();
  try {
    const peek = await peekStream(reader, endpoint, limits);
    if (peek.ok) return { reader, first: peek.consumed };
    reader.cancel().catch(() => {});
    return fail(peek.kind, `${miner.hotkey} sent ${peek.detail}`, peek.kind === "bad_response" ? peek.detail : null);
  } catch (err) {
    return timedOut() ? fail("timeout", `${miner.hotkey} sent no content in time`) : fail("connect", `${miner.hotkey}: ${errorText(err)}`);
  }
}

/**
 * The relay's continuation for a stream answered by `first`: when it breaks, the broken miner's
 * failure is counted against it, and the remaining candidates are asked in turn to continue the
 * delivered answer (each peeked like a first attempt). The meter lists every attempt.
 */
function continueOn(deps: PipelineDeps, input: DispatchInput, first: Miner, remaining: readonly Miner[]): Continuation {
  const { request, meter, signal } = input;
  let current = first;
  const left = [...remaining];
  return {
    promptTokens: meter.promptTokens,
    async next(delivered, why) {
      const body = continuationBody(minerBody(request), delivered);
      // Not sound to continue (a tool call or reasoning was cut, the budget is spent): the break
      // ends the stream, and the usage event's health hook counts it against `current`.
      if (!body || left.length === 0) return null;
      deps.health.attemptEnded(current.hotkey);
      deps.health.attemptFailed(request.model, current.hotkey, why, deps.clock());
      meter.attemptBroke();
      const bytes = new TextEncoder().encode(JSON.stringify(body));
      for (let miner = left.shift(); miner !== undefined && !signal.aborted; miner = left.shift()) {
        meter.attempt(miner.hotkey);
        deps.health.attemptStarted(miner.hotkey);
        const source = await openContinuation(deps, miner, request.endpoint, bytes, signal);
        if (!("failure" in source)) {
          current = miner;
          return source;
        }
        meter.attemptFailed();
        deps.health.attemptEnded(miner.hotkey);
        if (!signal.aborted) deps.health.attemptFailed(request.model, miner.hotkey, source.failure.kind, deps.clock());
      }
      return null;
    },
  };
}

/** Calls a miner to continue an answer: its started stream, or why it failed (nothing reached the client). */
async function openContinuation(
  deps: PipelineDeps,
  miner: Miner,
  endpoint: InferenceRequest["endpoint"],
  body: Uint8Array,
  signal: AbortSignal,
): Promise<StreamSource | { failure: AttemptFailure }> {
  const upstream = new AbortController();
  const onClientAbort = () => upstream.abort();
  signal.addEventListener("abort", onClientAbort);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    upstream.abort();
  }, deps.config.firstByteTimeoutMs);
  try {
    let res: Response;
    try {
      res = await callMiner(miner, PATHS[endpoint], body, deps.signer(), upstream.signal, deps.fetch);
    } catch (err) {
      return { failure: { kind: timedOut ? "timeout" : "connect", detail: `${miner.hotkey}: ${errorText(err)}`, hotkey: miner.hotkey, signature: null } };
    }
    if (!res.ok) {
      // Even a 400 is the miner's: the client's request was already accepted by another.
      await discard(res);
      return { failure: { kind: "status", detail: `${miner.hotkey} answered ${res.status} to a continuation`, hotkey: miner.hotkey, signature: null } };
    }
    const started = await startedStream(res, endpoint, miner, streamLimits(deps.config), () => timedOut);
    if ("failure" in started) {
      upstream.abort();
      return started;
    }
    return { ...started, upstream };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onClientAbort);
  }
}

function streamLimits(cfg: PipelineDeps["config"]): StreamLimits {
  return { maxEventBytes: cfg.maxEventBytes, maxStreamBytes: cfg.maxStreamBytes };
}

/** The body sent to miners: the client's, plus a usage chunk request on streams for metering. */
function minerBody(req: InferenceRequest): JsonObject {
  if (!req.stream) return req.body;
  const options = isObject(req.body.stream_options) ? req.body.stream_options : {};
  return { ...req.body, stream_options: { ...options, include_usage: true } };
}

function summarise(failures: readonly AttemptFailure[]): GatewayError {
  const detail = failures.map((f) => f.detail).join("; ") || "no attempt was made";
  if (failures.length > 0 && failures.every((f) => f.kind === "timeout")) return upstreamFailure("timeout", detail);
  if (failures.length > 0 && failures.every((f) => f.kind === "connect")) return upstreamFailure("unavailable", detail);
  return upstreamFailure("bad_gateway", detail);
}

/**
 * Drains a small error body so the connection can be reused; cancelling instead makes workerd
 * drop the connection and report it as lost. Large or unsized bodies are cancelled.
 */
async function discard(res: Response): Promise<void> {
  const size = Number(res.headers.get("content-length") ?? "-1");
  try {
    if (size >= 0 && size <= 64 * 1024) await res.arrayBuffer();
    else await res.body?.cancel();
  } catch {
    /* the connection is gone either way */
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
