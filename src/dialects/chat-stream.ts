/**
 * The relay's chat-completions SSE stream (bytes) -> typed events, one transform step shared by
 * the Anthropic and Responses stream translators. Events flow as they arrive; nothing is held.
 *
 * The relay guarantees a stream ends with `[DONE]` or with one `data: {"error":…}` event; a
 * stream that stops without either (it should not happen) still ends here with an error event,
 * so a dialect always gets exactly one terminal event.
 */
import { SseDecoder, type SseEvent } from "../lib/sse";
import { countTokens } from "../lib/tokens";
import { isObj, readChunkDelta, readUsage, type ChatUsage, type ChunkDelta } from "./chat-answer";

export type ChatStreamEvent =
  | ({ kind: "delta" } & ChunkDelta)
  | { kind: "usage"; usage: ChatUsage }
  | { kind: "done" }
  | { kind: "error"; code: string; message: string };

/** Tokens the client received in one delta (reasoning, content, tool-call names and arguments). */
export function deltaTokens(d: ChunkDelta): number {
  const tools = (d.toolCalls ?? []).map((t) => (t.name ?? "") + (t.arguments ?? "")).join("");
  return countTokens((d.reasoning ?? "") + (d.content ?? "") + tools);
}

export function chatStreamEvents(): TransformStream<Uint8Array, ChatStreamEvent> {
  const decoder = new SseDecoder();
  let ended = false;

  const handle = (events: SseEvent[], out: TransformStreamDefaultController<ChatStreamEvent>) => {
    for (const ev of events) {
      if (ended) return;
      if (ev.data === "[DONE]") {
        ended = true;
        out.enqueue({ kind: "done" });
        return;
      }
      let payload: unknown;
      try {
        payload = JSON.parse(ev.data);
      } catch {
        // The relay already refuses malformed events; this is defence in depth.
        ended = true;
        out.enqueue({ kind: "error", code: "bad_miner_response", message: "The miner sent a malformed stream event; the answer is incomplete." });
        return;
      }
      if (!isObj(payload)) continue;
      if ("error" in payload) {
        ended = true;
        const e = isObj(payload.error) ? payload.error : {};
        out.enqueue({
          kind: "error",
          code: typeof e.code === "string" ? e.code : "miner_stream_error",
          message: typeof e.message === "string" ? e.message : "The miner's stream failed; the answer is incomplete.",
        });
        return;
      }
      const delta = readChunkDelta(payload);
      if (Object.keys(delta).length > 0) out.enqueue({ kind: "delta", ...delta });
      const usage = readUsage(payload.usage);
      if (usage) out.enqueue({ kind: "usage", usage });
    }
  };

  return new TransformStream<Uint8Array, ChatStreamEvent>({
    transform(chunk, out) {
      handle(decoder.push(chunk), out);
    },
    flush(out) {
      handle(decoder.end(), out);
      if (!ended) out.enqueue({ kind: "error", code: "miner_stream_interrupted", message: "The miner's stream ended before completion; the answer is incomplete." });
    },
  });
}

const encoder = new TextEncoder();

/** One named SSE event, as both the Anthropic and the Responses APIs frame them. */
export function sseEvent(name: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}
