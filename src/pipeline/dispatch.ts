/**
 * Dispatch: sends one inference request to its ranked miners, failing over before the first
 * byte reaches the client (connection error, 5xx/429, refused signature, timeout, malformed
 * answer), and returns what the miners produced as a DispatchOutcome. It never builds HTTP
 * responses; dialects encode the outcome. The meter it is given is finished exactly once on
 * every path (here, or by the stream relay when a stream ends).
 */
import type { UsageMeter } from "../billing/meter";
import { addCost } from "../billing/usage-cost";
import { upstreamFailure, type GatewayError } from "../errors";
import { isObject, type JsonObject } from "../lib/json";
import { answerText, isWellFormedAnswer } from "../routing/answer-text";
import type { Miner } from "../routing/directory";
import { callMiner, isRedirect } from "../routing/miner-client";
import type { InferenceRequest } from "../validation/requests";
import { requestIsToBlame, statusSignature, type AttemptFailure } from "./blame";
import type { AttemptFailureKind, DispatchOutcome, PipelineDeps } from "./contracts";
import { relayStream } from "./stream";

export interface DispatchInput {
  request: InferenceRequest;
  /** Ranked candidates, best first (src/pipeline/route.ts). */
  candidates: readonly Miner[];
  meter: UsageMeter;
  /** Aborts when the client disconnects. */
  signal: AbortSignal;
  /** Add the cost to `usage` in what the client receives. */
  priced: boolean;
}

const PATHS = { "chat.completions": "/v1/chat/completions", completions: "/v1/completions", embeddings: "/v1/embeddings" } as const;

/** Miner answers passed to the client as they are: the request itself is at fault. */
const CLIENT_FAULT_STATUSES = new Set([400, 413, 422]);

export async function dispatch(deps: PipelineDeps, input: DispatchInput): Promise<DispatchOutcome> {
  const { request, meter, signal } = input;
  const cfg = deps.config;
  const body = new TextEncoder().encode(JSON.stringify(minerBody(request)));
  const failures: AttemptFailure[] = [];
  // One deadline for all attempts before the client's first byte (a whole non-streamed answer).
  const deadlineAt = deps.clock() + (request.stream ? cfg.routingDeadlineMs : cfg.minerTimeoutMs);
  try {
    for (const miner of input.candidates) {
      if (signal.aborted) break;
      if (deps.clock() >= deadlineAt) {
        failures.push({ kind: "timeout", detail: "the routing deadline passed before a miner answered", hotkey: null, signature: null });
        break;
      }
      meter.attempt(miner.hotkey);
      deps.health.attemptStarted(miner.hotkey);
      // Once an attempt answers, the usage event's health hook ends its in-flight count.
      const result = await attempt(deps, input, miner, body, deadlineAt);
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
        const text = await res.text();
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
        payload = JSON.parse(await res.text());
      } catch (err) {
        if (timedOut) return fail("timeout", `${miner.hotkey} timed out`);
        return fail("bad_response", `${miner.hotkey} sent invalid JSON (${errorText(err)})`, "invalid JSON");
      }
      if (!isWellFormedAnswer(request.endpoint, payload)) return fail("bad_response", `${miner.hotkey} sent a malformed answer`, "malformed answer");
      meter.firstByte();
      if (isObject(payload.usage)) meter.reportUsage(payload.usage);
      meter.deliver(answerText(request.endpoint, payload));
      meter.answering();
      const event = meter.finish("ok", 200, null);
      if (input.priced) addCost(payload, event.costMicroUsd ?? 0);
      return { kind: "answer", miner: miner.hotkey, payload };
    }

    const type = res.headers.get("content-type") ?? "";
    if (!type.includes("text/event-stream") || !res.body) {
      await res.body?.cancel();
      return fail("bad_response", `${miner.hotkey} did not stream (content-type '${type}')`);
    }
    const reader = res.body.getReader();
    let first: ReadableStreamReadResult<Uint8Array>;
    try {
      first = await reader.read();
    } catch (err) {
      return timedOut ? fail("timeout", `${miner.hotkey} sent nothing in time`) : fail("connect", `${miner.hotkey}: ${errorText(err)}`);
    }
    if (first.done) return fail("bad_response", `${miner.hotkey} closed the stream before any event`, "empty stream");

    // First byte in hand: from here on the client owns this miner's stream.
    clearTimeout(timer);
    meter.answering();
    const events = relayStream({
      endpoint: request.endpoint,
      first: first.value,
      reader,
      upstream,
      meter,
      includeUsage: request.includeUsage,
      idleTimeoutMs: cfg.streamIdleTimeoutMs,
      clientSignal: signal,
      priced: input.priced,
    });
    return { kind: "stream", miner: miner.hotkey, events };
  } finally {
    clearTimeout(timer);
    signal.removeEventListener("abort", onClientAbort);
  }
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
