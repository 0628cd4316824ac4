/**
 * Chat stream events -> Anthropic's Messages stream, in its exact order:
 *
 *   message_start, ping,
 *   ( content_block_start, content_block_delta*, content_block_stop )*,
 *   message_delta (stop_reason, stop_sequence, usage), message_stop
 *
 * One block is open at a time: reasoning -> a `thinking` block (thinking_delta), text -> a `text`
 * block (text_delta), each new tool call -> a `tool_use` block (input_json_delta). A change of kind
 * closes the open block first. message_delta waits for [DONE] because the miner's usage chunk
 * arrives after the finish reason. A relay error event ends the stream with Anthropic's
 * `event: error` (no message_stop), which the SDKs raise as an error.
 */
import type { ChatUsage, ToolCallDelta } from "../chat-answer";
import { deltaTokens, sseEvent, type ChatStreamEvent } from "../chat-stream";
import { errorTypeFor } from "./errors";
import { messageId, stopReason, usageOf, type AnswerContext } from "./response";
import type { StreamEvent } from "./types";

type OpenBlock = { kind: "text" | "thinking"; index: number } | { kind: "tool"; index: number; call: number };

export function anthropicStream(ctx: AnswerContext): TransformStream<ChatStreamEvent, Uint8Array> {
  let nextIndex = 0;
  let open: OpenBlock | null = null;
  /** Chat tool-call index -> Anthropic block index, so late argument fragments find their block. */
  const toolBlocks = new Map<number, number>();
  let finish: string | null = null;
  let matchedStop: string | undefined;
  let usage: ChatUsage | null = null;
  let completionCounted = 0;
  let ended = false;

  return new TransformStream<ChatStreamEvent, Uint8Array>({
    start(out) {
      const emit = (e: StreamEvent) => out.enqueue(sseEvent(e.type, e));
      emit({
        type: "message_start",
        message: {
          id: messageId(ctx.requestId),
          type: "message",
          role: "assistant",
          model: ctx.model,
          content: [],
          stop_reason: null,
          stop_sequence: null,
          usage: usageOf(null, { prompt: ctx.promptTokensCounted, completion: 0 }),
        },
      });
      emit({ type: "ping" });
    },

    transform(ev, out) {
      if (ended) return;
      const emit = (e: StreamEvent) => out.enqueue(sseEvent(e.type, e));
      const close = () => {
        if (open) emit({ type: "content_block_stop", index: open.index });
        open = null;
      };
      const openBlock = (block: OpenBlock, start: StreamEvent & { type: "content_block_start" }) => {
        close();
        open = block;
        emit(start);
      };
      const text = (kind: "text" | "thinking", value: string) => {
        let block = open?.kind === kind ? open : null;
        if (!block) {
          block = { kind, index: nextIndex++ };
          const start = kind === "text" ? { type: "text" as const, text: "" } : { type: "thinking" as const, thinking: "", signature: "" };
          openBlock(block, { type: "content_block_start", index: block.index, content_block: start });
        }
        const delta = kind === "text" ? { type: "text_delta" as const, text: value } : { type: "thinking_delta" as const, thinking: value };
        emit({ type: "content_block_delta", index: block.index, delta });
      };
      const tool = (d: ToolCallDelta) => {
        let index = toolBlocks.get(d.index);
        if (index === undefined) {
          index = nextIndex++;
          toolBlocks.set(d.index, index);
          const id = d.id ?? `call_${ctx.requestId.replace(/^req_/, "")}_${d.index}`;
          openBlock({ kind: "tool", index, call: d.index }, { type: "content_block_start", index, content_block: { type: "tool_use", id, name: d.name ?? "", input: {} } });
        }
        // A fragment for an already closed call (miners interleaving calls) still carries its index.
        if (d.arguments) emit({ type: "content_block_delta", index, delta: { type: "input_json_delta", partial_json: d.arguments } });
      };

      switch (ev.kind) {
        case "delta":
          if (ev.reasoning && !ctx.hideThinking) text("thinking", ev.reasoning);
          if (ev.content) text("text", ev.content);
          for (const d of ev.toolCalls ?? []) tool(d);
          completionCounted += deltaTokens(ev);
          if (ev.finishReason) finish = ev.finishReason;
          if (ev.matchedStop) matchedStop = ev.matchedStop;
          return;
        case "usage":
          usage = ev.usage;
          return;
        case "done": {
          ended = true;
          close();
          const stop = stopReason(finish, matchedStop, ctx.stopSequences);
          emit({
            type: "message_delta",
            delta: { stop_reason: stop.reason, stop_sequence: stop.sequence },
            usage: usageOf(usage, { prompt: ctx.promptTokensCounted, completion: completionCounted }),
          });
          emit({ type: "message_stop" });
          return;
        }
        case "error":
          ended = true;
          emit({ type: "error", error: { type: errorTypeFor(ev.code === "miner_timeout" ? 504 : 500), message: ev.message } });
          return;
      }
    },
  });
}
