/**
 * Peeking before committing: a stream counts as started only once it carries content (or a
 * finish other than "error"). Until then nothing has reached the client, so a stream that opens
 * and stays silent, ends empty, or starts with an error event, a `finish_reason: "error"` or a
 * malformed event fails over like a connection error. The bytes read are handed to the relay,
 * which decodes them again (a few events, once per request).
 */
import type { Endpoint } from "../billing/usage-event";
import { SseDecoder, SseEventTooLarge } from "../lib/sse";
import { answerText } from "../routing/answer-text";
import { chunkKind } from "./continuation";
import { parseEvent } from "./stream";

export type PeekResult =
  | { ok: true; consumed: Uint8Array }
  | { ok: false; kind: "bad_response" | "connect"; detail: string };

/** How much of a miner's stream the gateway reads (MINER_MAX_EVENT_BYTES, MINER_MAX_STREAM_BYTES). */
export interface StreamLimits {
  maxEventBytes: number;
  maxStreamBytes: number;
}

/**
 * Reads until the stream has started. A read that rejects (the caller's first-token timer aborts
 * the upstream, or the connection breaks) is thrown to the caller. An event or a start larger
 * than `limits` allow is a bad answer.
 */
export async function peekStream(reader: ReadableStreamDefaultReader<Uint8Array>, endpoint: Endpoint, limits: StreamLimits): Promise<PeekResult> {
  const decoder = new SseDecoder(limits.maxEventBytes);
  const consumed: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const r = await reader.read();
    if (!r.done) {
      size += r.value.byteLength;
      if (size > limits.maxStreamBytes) return { ok: false, kind: "bad_response", detail: `more than ${limits.maxStreamBytes} bytes before any content` };
    }
    let events;
    try {
      events = r.done ? decoder.end() : decoder.push(r.value);
    } catch (err) {
      if (err instanceof SseEventTooLarge) return { ok: false, kind: "bad_response", detail: `${err.message} (MINER_MAX_EVENT_BYTES) before any content` };
      throw err;
    }
    if (!r.done) consumed.push(r.value);
    for (const ev of events) {
      const parsed = parseEvent(ev);
      if (parsed.kind === "done") return { ok: false, kind: "bad_response", detail: "an empty stream ([DONE] before any content)" };
      if (parsed.kind === "malformed") return { ok: false, kind: "bad_response", detail: "a malformed event before any content" };
      if (parsed.kind === "error") return { ok: false, kind: "bad_response", detail: `an error event before any content (${parsed.code})` };
      const kind = chunkKind(parsed.payload, answerText(endpoint, parsed.payload));
      if (kind === "finish_error") return { ok: false, kind: "bad_response", detail: 'finish_reason "error" before any content' };
      if (kind === "content" || kind === "finish") return { ok: true, consumed: concat(consumed) };
    }
    if (r.done) return { ok: false, kind: "connect", detail: "the stream closed before any content" };
  }
}

export function concat(parts: readonly Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
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
