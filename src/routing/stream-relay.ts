/**
 * Relays a miner's SSE stream to the client event by event, as it arrives (no buffering of the
 * answer). Each event's `data` is checked to be JSON and re-emitted verbatim, so tool-call deltas
 * and unknown fields pass through intact. Along the way it feeds the meter (delivered text,
 * reported usage) and strips the usage chunk the gateway asked for if the client did not.
 *
 * Endings, each metered once: `[DONE]` -> ok; the client going away -> upstream aborted,
 * client_cancelled; a malformed event, an error event, silence past the idle timeout or a
 * connection cut -> the client gets a final SSE error event (never a stream that just stops).
 */
import type { UsageMeter } from "../billing/meter";
import type { Endpoint, UsageStatus } from "../billing/usage-event";
import { sseData, SseDecoder } from "../lib/sse";
import { addCost } from "../billing/usage-cost";
import { answerText } from "./answer-text";

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
  priced?: boolean;
}

const DONE = sseData("[DONE]");

class IdleTimeout extends Error {}

const ignore = () => {};

export function relayStream(o: StreamRelayOptions): ReadableStream<Uint8Array> {
  const decoder = new SseDecoder();
  let pending: Uint8Array | null = o.first;
  let closed = false;

  /**
   * Ends the stream once. The meter is settled first: if the client is already gone the runtime
   * may refuse further writes, and metering must not depend on them.
   */
  const end = (ctrl: ReadableStreamDefaultController<Uint8Array>, status: UsageStatus, errorCode: string | null, tail: Uint8Array[]) => {
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

  /** Releases the miner's connection; its pending reads may reject, which is expected here. */
  const stopUpstream = () => {
    o.reader.cancel().catch(ignore);
    o.upstream.abort();
  };

  const errorEvent = (code: string, message: string) =>
    sseData(JSON.stringify({ error: { message, type: "api_error", code, param: null } }));

  /** Handles decoded events; returns bytes to forward, or ends the stream. */
  const handle = (ctrl: ReadableStreamDefaultController<Uint8Array>, events: ReturnType<SseDecoder["push"]>): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (const ev of events) {
      if (ev.data === "[DONE]") {
        out.push(DONE);
        end(ctrl, "ok", null, out);
        return [];
      }
      let payload: unknown;
      try {
        payload = JSON.parse(ev.data);
      } catch {
        out.push(errorEvent("bad_miner_response", "The miner sent a malformed stream event; the answer is incomplete."));
        end(ctrl, "bad_response", "malformed_event", out);
        return [];
      }
      if (payload === null || typeof payload !== "object" || Array.isArray(payload)) {
        out.push(errorEvent("bad_miner_response", "The miner sent a malformed stream event; the answer is incomplete."));
        end(ctrl, "bad_response", "malformed_event", out);
        return [];
      }
      const obj = payload as Record<string, unknown>;
      if ("error" in obj) {
        out.push(sseData(ev.data));
        end(ctrl, "miner_error", "miner_stream_error", out);
        return [];
      }
      const usage = obj.usage;
      if (usage && typeof usage === "object") o.meter.reportUsage(usage);
      // The gateway always asks for usage; a client that did not gets chunks without it.
      const strip = !o.includeUsage && "usage" in obj;
      if (strip) {
        const choices = obj.choices;
        if (usage != null && Array.isArray(choices) && choices.length === 0) continue;
        delete obj.usage;
      }
      const text = answerText(o.endpoint, obj);
      if (text !== "") {
        o.meter.firstByte();
        o.meter.deliver(text);
      }
      const priced = !strip && o.priced === true && usage !== null && typeof usage === "object";
      if (priced) addCost(obj, o.meter.costSoFar());
      out.push(strip || priced ? sseData(JSON.stringify(obj)) : sseData(ev.data));
    }
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
  const pump = async (ctrl: ReadableStreamDefaultController<Uint8Array>): Promise<void> => {
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
              errorEvent(
                idle ? "miner_timeout" : "miner_stream_interrupted",
                idle ? "The miner stopped sending; the answer is incomplete." : "The miner's stream broke; the answer is incomplete.",
              ),
            ]);
            return;
          }
          if (r.done) {
            const out = handle(ctrl, decoder.end());
            if (closed) return;
            out.push(errorEvent("miner_stream_interrupted", "The miner's stream ended before completion; the answer is incomplete."));
            end(ctrl, "miner_error", "stream_interrupted", out);
            return;
          }
          chunk = r.value;
        }
        const out = handle(ctrl, decoder.push(chunk));
        if (closed) return;
        if (out.length > 0) {
          try {
            ctrl.enqueue(out.length === 1 ? (out[0] as Uint8Array) : concat(out));
          } catch {
            end(ctrl, "client_cancelled", "client_closed_request", []);
            return;
          }
        }
      }
  };

  return new ReadableStream<Uint8Array>({
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

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.byteLength;
  const all = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    all.set(p, at);
    at += p.byteLength;
  }
  return all;
}
