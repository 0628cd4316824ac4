/**
 * The relay's events (src/pipeline/stream.ts: already parsed, once) -> typed chat events, one
 * transform step shared by the Anthropic and Responses stream translators. Events flow as they
 * arrive; nothing is held, and nothing is parsed again.
 *
 * The relay guarantees a stream ends with `done` or with one `error` event; a stream that stops
 * without either (it should not happen) still ends here with an error event, so a dialect always
 * gets exactly one terminal event.
 */
import { countTokens } from "../lib/tokens";
import type { RelayEvent } from "../pipeline/contracts";
import { readChunkDelta, readUsage, type ChatUsage, type ChunkDelta } from "./chat-answer";

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

export function chatEvents(): TransformStream<RelayEvent, ChatStreamEvent> {
  let ended = false;
  return new TransformStream<RelayEvent, ChatStreamEvent>({
    transform(ev, out) {
      if (ended) return;
      switch (ev.kind) {
        case "done":
          ended = true;
          out.enqueue({ kind: "done" });
          return;
        case "error":
          ended = true;
          out.enqueue({ kind: "error", code: ev.code, message: ev.message });
          return;
        case "chunk": {
          const delta = readChunkDelta(ev.payload);
          if (Object.keys(delta).length > 0) out.enqueue({ kind: "delta", ...delta });
          const usage = readUsage(ev.payload.usage);
          if (usage) out.enqueue({ kind: "usage", usage });
        }
      }
    },
    flush(out) {
      if (!ended) out.enqueue({ kind: "error", code: "miner_stream_interrupted", message: "The miner's stream ended before completion; the answer is incomplete." });
    },
  });
}

const encoder = new TextEncoder();

/** One named SSE event, as both the Anthropic and the Responses APIs frame them. */
export function sseEvent(name: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${name}\ndata: ${JSON.stringify(data)}\n\n`);
}
