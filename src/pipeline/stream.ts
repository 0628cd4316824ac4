/**
 * A miner's SSE stream -> the client's stream of RelayEvents, event by event, as it arrives (no
 * buffering of the answer). Each event's `data` is parsed once here: dialects read `payload`,
 * the OpenAI dialect forwards `raw` (the miner's bytes re-framed, so tool-call deltas and unknown
 * fields pass through intact). Along the way it feeds the meter (delivered text, reported usage)
 * and strips the usage chunk the gateway asked for if the client did not.
 *
 * Endings, each metered once: `[DONE]` -> ok; the client going away -> upstream aborted,
 * client_cancelled; a malformed event, an error event, silence past the idle timeout or a
 * connection cut -> a final error event (never a stream that just stops).
 */
import type { UsageMeter } from "../billing/meter";
import { addCost } from "../billing/usage-cost";
import type { Endpoint, UsageStatus } from "../billing/usage-event";
import { isObject } from "../lib/json";
import { sseData, SseDecoder, type SseEvent } from "../lib/sse";
import { answerText } from "../routing/answer-text";
import type { RelayEvent } from "./contracts";

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
}

const DONE: RelayEvent = { kind: "done", raw: sseData("[DONE]") };

class IdleTimeout extends Error {}

const ignore = () => {};

/** The relay's own error event, in OpenAI's shape. */
export function errorEvent(code: string, message: string): RelayEvent {
  return { kind: "error", code, message, raw: sseData(JSON.stringify({ error: { message, type: "api_error", code, param: null } })) };
}

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
  const decoder = new SseDecoder();
  let pending: Uint8Array | null = o.first;
  let closed = false;

  /** Releases the miner's connection; its pending reads may reject, which is expected here. */
  const stopUpstream = () => {
    o.reader.cancel().catch(ignore);
    o.upstream.abort();
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

  /** One decoded SSE event -> forwarded (pushed to `out`) or swallowed (true), or ends the stream (false). */
  const handle = (ctrl: ReadableStreamDefaultController<RelayEvent>, ev: SseEvent, out: RelayEvent[]): boolean => {
    const parsed = parseEvent(ev);
    switch (parsed.kind) {
      case "done":
        out.push(parsed);
        end(ctrl, "ok", null, out);
        return false;
      case "malformed":
        out.push(malformedEvent());
        end(ctrl, "bad_response", "malformed_event", out);
        return false;
      case "error":
        out.push(parsed);
        end(ctrl, "miner_error", "miner_stream_error", out);
        return false;
      case "chunk":
        break;
    }
    const { payload } = parsed;
    const usage = payload.usage;
    if (isObject(usage)) o.meter.reportUsage(usage);
    // The gateway always asks for usage; a client that did not gets chunks without it.
    const strip = !o.includeUsage && "usage" in payload;
    if (strip) {
      if (usage != null && Array.isArray(payload.choices) && payload.choices.length === 0) return true;
      delete payload.usage;
    }
    const text = answerText(o.endpoint, payload);
    if (text !== "") {
      o.meter.firstByte();
      o.meter.deliver(text);
    }
    const priced = !strip && o.priced && isObject(usage);
    if (priced) addCost(payload, o.meter.costSoFar());
    out.push(strip || priced ? { kind: "chunk", payload, raw: sseData(JSON.stringify(payload)) } : parsed);
    return true;
  };

  /** Handles a batch of decoded events; returns what to forward, or null once the stream ended. */
  const handleAll = (ctrl: ReadableStreamDefaultController<RelayEvent>, events: SseEvent[]): RelayEvent[] | null => {
    const out: RelayEvent[] = [];
    for (const ev of events) if (!handle(ctrl, ev, out)) return null;
    return out;
  };

  const readWithIdleTimeout = () => {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new IdleTimeout()), o.idleTimeoutMs);
    });
    const read = o.reader.read();
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
          end(ctrl, idle ? "timeout" : "miner_error", idle ? "stream_idle_timeout" : "stream_interrupted", [
            idle
              ? errorEvent("miner_timeout", "The miner stopped sending; the answer is incomplete.")
              : errorEvent("miner_stream_interrupted", "The miner's stream broke; the answer is incomplete."),
          ]);
          return;
        }
        if (r.done) {
          const out = handleAll(ctrl, decoder.end());
          if (out === null || closed) return;
          out.push(errorEvent("miner_stream_interrupted", "The miner's stream ended before completion; the answer is incomplete."));
          end(ctrl, "miner_error", "stream_interrupted", out);
          return;
        }
        chunk = r.value;
      }
      const out = handleAll(ctrl, decoder.push(chunk));
      if (out === null || closed) return;
      try {
        for (const ev of out) ctrl.enqueue(ev);
      } catch {
        end(ctrl, "client_cancelled", "client_closed_request", []);
        return;
      }
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
