/**
 * A miner's SSE stream -> the client's stream of RelayEvents, event by event, as it arrives (no
 * buffering of the answer). Each event's `data` is parsed once here: dialects read `payload`,
 * the OpenAI dialect forwards `raw` (the miner's bytes re-framed, so tool-call deltas and unknown
 * fields pass through intact). Along the way it feeds the meter (delivered text, reported usage)
 * and strips the usage chunk the gateway asked for if the client did not.
 *
 * Endings, each metered once: `[DONE]` -> ok; the client going away -> upstream aborted,
 * client_cancelled; a malformed event, an error event, silence past the idle timeout or a
 * connection cut -> a break. With `continuation` a break asks the next miner to continue the
 * answer and splices its chunks into the same stream (src/pipeline/continuation.ts, docs/streams.md);
 * without one, or when none can, a break ends with a final error event (never a stream that
 * just stops).
 *
 * Bounds (`limits`): an event larger than MINER_MAX_EVENT_BYTES is a break like a malformed
 * one; a stream larger in all than MINER_MAX_STREAM_BYTES (continuations included: the meter
 * keeps the delivered text) ends with an error event and is not continued.
 */
import type { UsageMeter } from "../billing/meter";
import { addCost } from "../billing/usage-cost";
import type { Endpoint, UsageStatus } from "../billing/usage-event";
import { isObject } from "../lib/json";
import { sseData, SseDecoder, SseEventTooLarge, type SseEvent } from "../lib/sse";
import { countTokens } from "../lib/tokens";
import { answerText } from "../routing/answer-text";
import { chunkKind, deltaFlags, identityOf, spliceChunk, splicedUsage, type Delivered, type StreamIdentity } from "./continuation";
import type { RelayEvent } from "./contracts";
import type { StreamLimits } from "./stream-peek";

/** A miner's stream that has started (peeked), ready to be relayed or spliced in. */
export interface StreamSource {
  first: Uint8Array;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  upstream: AbortController;
}

/** Why a stream broke, in the terms of attempt failures. */
export type BreakKind = "timeout" | "connect" | "bad_response";

export interface Continuation {
  /** The gateway's prompt count: the prompt a spliced answer's usage reports, once. */
  promptTokens: number;
  /**
   * The stream broke after `delivered` reached the client: the next miner's started stream, or
   * null when none can continue (the break then ends the stream with its error event).
   */
  next(delivered: Delivered, why: BreakKind): Promise<StreamSource | null>;
}

export interface StreamRelayOptions {
  endpoint: Endpoint;
  first: Uint8Array;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  upstream: AbortController;
  meter: UsageMeter;
  includeUsage: boolean;
  idleTimeoutMs: number;
  /** Aborts when the client disconnects (workerd's request signal). */
  clientSignal: AbortSignal;
  /** Add the request's cost to the usage chunk passed to the client. */
  priced: boolean;
  /** Continue a broken stream on another miner; absent: breaks end the stream. */
  continuation?: Continuation;
  limits: StreamLimits;
}

/** A break: how it is metered and what the client sees if nobody continues. */
interface Break {
  kind: BreakKind;
  status: UsageStatus;
  code: string;
  event: RelayEvent;
}

const DONE: RelayEvent = { kind: "done", raw: sseData("[DONE]") };

class IdleTimeout extends Error {}

const ignore = () => {};

/** The relay's own error event, in OpenAI's shape. */
export function errorEvent(code: string, message: string): RelayEvent {
  return { kind: "error", code, message, raw: sseData(JSON.stringify({ error: { message, type: "api_error", code, param: null } })) };
}

/** What the client is told when a miner's stream outgrows MINER_MAX_STREAM_BYTES. */
export const answerTooLargeEvent = (limit: number) =>
  errorEvent("miner_answer_too_large", `The miner's answer exceeded the gateway's limit of ${limit} bytes; the answer is incomplete.`);

/** What the client is told when a miner's event is not a JSON object. */
export const malformedEvent = () => errorEvent("bad_miner_response", "The miner sent a malformed stream event; the answer is incomplete.");

/**
 * One SSE event of a miner's stream as a relay event, parsed once: `[DONE]`, an in-band error
 * (passed on as the miner sent it), a JSON object chunk, or `malformed` for anything else.
 */
export function parseEvent(ev: SseEvent): RelayEvent | { kind: "malformed" } {
  if (ev.data === "[DONE]") return DONE;
  let payload: unknown;
  try {
    payload = JSON.parse(ev.data);
  } catch {
    payload = undefined;
  }
  if (!isObject(payload)) return { kind: "malformed" };
  const raw = sseData(ev.data);
  if ("error" in payload) {
    const e = isObject(payload.error) ? payload.error : {};
    const code = typeof e.code === "string" ? e.code : "miner_stream_error";
    const message = typeof e.message === "string" ? e.message : "The miner's stream failed; the answer is incomplete.";
    return { kind: "error", code, message, raw };
  }
  return { kind: "chunk", payload, raw };
}

export function relayStream(o: StreamRelayOptions): ReadableStream<RelayEvent> {
  let decoder = new SseDecoder(o.limits.maxEventBytes);
  /** Bytes read from miners for this stream so far, every continuation included. */
  let received = 0;
  let pending: Uint8Array | null = o.first;
  let reader = o.reader;
  let upstream = o.upstream;
  let closed = false;
  /** The first miner's id/created/model, kept on spliced chunks; set by the first chunk. */
  let identity: StreamIdentity | null = null;
  /** Chunks now come from a continuing miner. */
  let spliced = false;
  /**
   * The miner sent finish_reason "error" where it cannot be continued: the chunk is relayed as the
   * miner sent it, and the stream, however it then ends, is the miner's failure, not an answer.
   */
  let finishedInError = false;
  const delivered = { toolCalls: false, reasoning: false };

  /** Releases the miner's connection; its pending reads may reject, which is expected here. */
  const stopUpstream = () => {
    reader.cancel().catch(ignore);
    upstream.abort();
  };

  /**
   * Ends the stream once. The meter is settled first: if the client is already gone the runtime
   * may refuse further writes, and metering must not depend on them.
   */
  const end = (ctrl: ReadableStreamDefaultController<RelayEvent>, status: UsageStatus, errorCode: string | null, tail: RelayEvent[]) => {
    if (closed) return;
    closed = true;
    if (o.clientSignal.aborted || status === "client_cancelled") o.meter.finish("client_cancelled", 499, "client_closed_request");
    else o.meter.finish(status, 200, errorCode);
    stopUpstream();
    try {
      for (const t of tail) ctrl.enqueue(t);
      ctrl.close();
    } catch {
      /* the client went away meanwhile; nothing left to tell it */
    }
  };

  const broke = (kind: BreakKind, status: UsageStatus, code: string, event: RelayEvent): Break => ({ kind, status, code, event });

  /** One decoded SSE event: forwarded into `out`, swallowed, the end (null) or a break. */
  const handle = (ctrl: ReadableStreamDefaultController<RelayEvent>, ev: SseEvent, out: RelayEvent[]): "next" | null | Break => {
    const parsed = parseEvent(ev);
    switch (parsed.kind) {
      case "done":
        out.push(parsed);
        if (finishedInError) end(ctrl, "miner_error", "miner_finish_error", out);
        else end(ctrl, "ok", null, out);
        return null;
      case "malformed":
        return broke("bad_response", "bad_response", "malformed_event", malformedEvent());
      case "error":
        return broke("bad_response", "miner_error", "miner_stream_error", parsed);
      case "chunk":
        break;
    }
    const { payload } = parsed;
    const text = answerText(o.endpoint, payload);
    // finish_reason "error" is a break only where it can be continued; otherwise it is relayed as the miner sent it.
    if (chunkKind(payload, text) === "finish_error") {
      if (o.continuation) {
        return broke("bad_response", "miner_error", "miner_finish_error", errorEvent("miner_stream_interrupted", "The miner failed mid-answer; the answer is incomplete."));
      }
      finishedInError = true;
    }
    identity ??= identityOf(payload);
    let rewritten = false;
    if (spliced && identity) {
      if (!spliceChunk(payload, identity)) return "next";
      rewritten = true;
    }
    const flags = deltaFlags(payload);
    delivered.toolCalls ||= flags.toolCalls;
    delivered.reasoning ||= flags.reasoning;
    if (text !== "") {
      o.meter.firstByte();
      o.meter.deliver(text);
    }
    let usage = payload.usage;
    if (spliced && o.continuation && isObject(usage)) {
      // The continuing miner counted the delivered prefix as prompt and only its own part as completion.
      usage = splicedUsage(usage, o.continuation.promptTokens, countTokens(o.meter.deliveredText()));
      payload.usage = usage;
    }
    if (isObject(usage)) o.meter.reportUsage(usage);
    // The gateway always asks for usage; a client that did not gets chunks without it.
    const strip = !o.includeUsage && "usage" in payload;
    if (strip) {
      if (usage != null && Array.isArray(payload.choices) && payload.choices.length === 0) return "next";
      delete payload.usage;
    }
    const priced = !strip && o.priced && isObject(usage);
    if (priced) addCost(payload, o.meter.costSoFar());
    out.push(strip || priced || rewritten ? { kind: "chunk", payload, raw: sseData(JSON.stringify(payload)) } : parsed);
    return "next";
  };


  /** Handles a batch of decoded events: what to forward, and whether the stream ended or broke. */
  const handleAll = (ctrl: ReadableStreamDefaultController<RelayEvent>, events: SseEvent[]): { out: RelayEvent[]; stop: null | "ended" | Break } => {
    const out: RelayEvent[] = [];
    for (const ev of events) {
      const r = handle(ctrl, ev, out);
      if (r === null) return { out, stop: "ended" };
      if (r !== "next") return { out, stop: r };
    }
    return { out, stop: null };
  };

  /**
   * Decodes and handles what a miner sent (null: the end of its stream). An event past
   * MINER_MAX_EVENT_BYTES is a break; the events before it in the same chunk go with it.
   */
  const consume = (ctrl: ReadableStreamDefaultController<RelayEvent>, chunk: Uint8Array | null): { out: RelayEvent[]; stop: null | "ended" | Break } => {
    let events: SseEvent[];
    try {
      events = chunk === null ? decoder.end() : decoder.push(chunk);
    } catch (err) {
      if (!(err instanceof SseEventTooLarge)) throw err;
      return { out: [], stop: broke("bad_response", "bad_response", "event_too_large", errorEvent("miner_event_too_large", `The miner sent ${err.message}; the answer is incomplete.`)) };
    }
    return handleAll(ctrl, events);
  };

  const readWithIdleTimeout = () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new IdleTimeout()), o.idleTimeoutMs);
    });
    const read = reader.read();
    read.catch(ignore); // if the timeout wins, the abandoned read must not surface as unhandled
    return Promise.race([read, timeout]).finally(() => {
      if (timer !== undefined) clearTimeout(timer);
    });
  };

  const clientGone = () => {
    // The client went away: stop the miner's work and meter what was delivered. workerd does
    // not always cancel the body (no pull may be pending), but the request signal always fires.
    if (closed) return;
    closed = true;
    stopUpstream();
    o.meter.finish("client_cancelled", 499, "client_closed_request");
  };
  o.clientSignal.addEventListener("abort", clientGone, { once: true });

  const forward = (ctrl: ReadableStreamDefaultController<RelayEvent>, out: RelayEvent[]): boolean => {
    try {
      for (const ev of out) ctrl.enqueue(ev);
      return true;
    } catch {
      end(ctrl, "client_cancelled", "client_closed_request", []);
      return false;
    }
  };

  /**
   * A break: the next miner continues the answer in this same stream, or the stream ends with
   * the break's error event. Returns true when the pump goes on (with the new miner).
   */
  const onBreak = async (ctrl: ReadableStreamDefaultController<RelayEvent>, b: Break): Promise<boolean> => {
    if (closed) return false;
    if (o.continuation && !o.clientSignal.aborted) {
      stopUpstream();
      const text = o.meter.deliveredText();
      const next = await o.continuation.next({ text, tokens: countTokens(text), ...delivered }, b.kind);
      if (next && closed) {
        next.reader.cancel().catch(ignore);
        next.upstream.abort();
        return false;
      }
      if (next) {
        reader = next.reader;
        upstream = next.upstream;
        pending = next.first;
        decoder = new SseDecoder(o.limits.maxEventBytes);
        spliced = true;
        return true;
      }
      if (closed) return false;
    }
    end(ctrl, b.status, b.code, [b.event]);
    return false;
  };

  /**
   * Reads the miner's stream to its end on its own, not on the client's pulls: when a client
   * vanishes without the body being cancelled (no pull pending), a pull-driven relay would stall
   * and never meter. Answers are small, so the lost backpressure costs little memory.
   */
  const pump = async (ctrl: ReadableStreamDefaultController<RelayEvent>): Promise<void> => {
    while (!closed) {
      let chunk: Uint8Array;
      if (pending) {
        chunk = pending;
        pending = null;
      } else {
        let r: ReadableStreamReadResult<Uint8Array>;
        try {
          r = await readWithIdleTimeout();
        } catch (err) {
          if (closed) return;
          const idle = err instanceof IdleTimeout;
          const b = idle
            ? broke("timeout", "timeout", "stream_idle_timeout", errorEvent("miner_timeout", "The miner stopped sending; the answer is incomplete."))
            : broke("connect", "miner_error", "stream_interrupted", errorEvent("miner_stream_interrupted", "The miner's stream broke; the answer is incomplete."));
          if (await onBreak(ctrl, b)) continue;
          return;
        }
        if (r.done) {
          const { out, stop } = consume(ctrl, null);
          if (stop === "ended" || closed) return;
          if (!forward(ctrl, out)) return;
          const b = stop ?? broke("connect", "miner_error", "stream_interrupted", errorEvent("miner_stream_interrupted", "The miner's stream ended before completion; the answer is incomplete."));
          if (await onBreak(ctrl, b)) continue;
          return;
        }
        chunk = r.value;
      }
      received += chunk.byteLength;
      if (received > o.limits.maxStreamBytes) {
        end(ctrl, "bad_response", "answer_too_large", [answerTooLargeEvent(o.limits.maxStreamBytes)]);
        return;
      }
      const { out, stop } = consume(ctrl, chunk);
      if (stop === "ended" || closed) return;
      if (!forward(ctrl, out)) return;
      if (stop && !(await onBreak(ctrl, stop))) return;
    }
  };

  return new ReadableStream<RelayEvent>({
    start(ctrl) {
      pump(ctrl).catch((err: unknown) => {
        console.error("stream relay failed", err);
        end(ctrl, "miner_error", "relay_error", [errorEvent("miner_stream_interrupted", "The answer could not be relayed; it is incomplete.")]);
      });
    },
    cancel() {
      clientGone();
    },
  });
}
