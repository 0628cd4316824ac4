/**
 * Chat stream events -> the Responses API's typed stream:
 *
 *   response.created, response.in_progress,
 *   per output item, one at a time:
 *     message:       output_item.added, content_part.added, output_text.delta*,
 *                    output_text.done, content_part.done, output_item.done
 *     reasoning:     output_item.added, content_part.added (reasoning_text),
 *                    reasoning_text.delta*, reasoning_text.done, content_part.done, output_item.done
 *     function_call: output_item.added, function_call_arguments.delta*,
 *                    function_call_arguments.done, output_item.done
 *   response.completed | response.failed
 *
 * Every stream ends with response.completed or response.failed: Codex treats any other ending as
 * a broken stream and retries it. An answer cut at max_output_tokens therefore ends with
 * response.completed whose response has status "incomplete" and incomplete_details.
 * Each event carries a `sequence_number` from 0.
 */
import type { ChatUsage, ToolCallDelta } from "../chat-answer";
import { deltaTokens, sseEvent, type ChatStreamEvent } from "../chat-stream";
import { envelope, finalStatus, itemId, usageOf, type ResponseContext } from "./response";
import type { FunctionCallItem, MessageItem, OutputItem, OutputText, ReasoningItem, ReasoningText } from "./types";

type Open = { kind: "message"; item: MessageItem; index: number } | { kind: "reasoning"; item: ReasoningItem; index: number } | { kind: "function_call"; item: FunctionCallItem; index: number };

export function responsesStream(ctx: ResponseContext): TransformStream<ChatStreamEvent, Uint8Array> {
  let seq = 0;
  const output: OutputItem[] = [];
  let open: Open | null = null;
  /** Chat tool-call index -> its output item, so late argument fragments find it. */
  const callItems = new Map<number, { index: number; item: FunctionCallItem }>();
  let finish: string | null = null;
  let usage: ChatUsage | null = null;
  let completionCounted = 0;
  let ended = false;

  return new TransformStream<ChatStreamEvent, Uint8Array>({
    start(out) {
      const emit = (type: string, payload: Record<string, unknown>) => out.enqueue(sseEvent(type, { type, sequence_number: seq++, ...payload }));
      const response = envelope(ctx, "in_progress", [], null);
      emit("response.created", { response });
      emit("response.in_progress", { response });
    },

    transform(ev, out) {
      if (ended) return;
      const emit = (type: string, payload: Record<string, unknown>) => out.enqueue(sseEvent(type, { type, sequence_number: seq++, ...payload }));

      const close = (status: "completed" | "incomplete" = "completed") => {
        const o = open;
        if (!o) return;
        open = null;
        const at = { item_id: o.item.id, output_index: o.index };
        if (o.kind === "message") {
          const part = o.item.content[0]!;
          emit("response.output_text.done", { ...at, content_index: 0, text: part.text, logprobs: [] });
          emit("response.content_part.done", { ...at, content_index: 0, part });
          o.item.status = status;
        } else if (o.kind === "reasoning") {
          const part = o.item.content[0]!;
          emit("response.reasoning_text.done", { ...at, content_index: 0, text: part.text });
          emit("response.content_part.done", { ...at, content_index: 0, part });
        } else {
          emit("response.function_call_arguments.done", { ...at, name: o.item.name, arguments: o.item.arguments });
          o.item.status = status;
        }
        emit("response.output_item.done", { output_index: o.index, item: o.item });
      };

      const add = (next: Open) => {
        close();
        open = next;
        output.push(next.item);
        emit("response.output_item.added", { output_index: next.index, item: next.item });
      };

      const message = (delta: string) => {
        let o = open?.kind === "message" ? open : null;
        if (!o) {
          const index = output.length;
          const item: MessageItem = { id: itemId("msg", ctx.requestId, index), type: "message", status: "in_progress", role: "assistant", content: [] };
          o = { kind: "message", index, item };
          add(o);
          const part: OutputText = { type: "output_text", text: "", annotations: [], logprobs: [] };
          item.content.push(part);
          emit("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part });
        }
        o.item.content[0]!.text += delta;
        emit("response.output_text.delta", { item_id: o.item.id, output_index: o.index, content_index: 0, delta, logprobs: [] });
      };

      const reasoning = (delta: string) => {
        let o = open?.kind === "reasoning" ? open : null;
        if (!o) {
          const index = output.length;
          const item: ReasoningItem = { id: itemId("rs", ctx.requestId, index), type: "reasoning", summary: [], content: [] };
          o = { kind: "reasoning", index, item };
          add(o);
          const part: ReasoningText = { type: "reasoning_text", text: "" };
          item.content.push(part);
          emit("response.content_part.added", { item_id: item.id, output_index: index, content_index: 0, part });
        }
        o.item.content[0]!.text += delta;
        emit("response.reasoning_text.delta", { item_id: o.item.id, output_index: o.index, content_index: 0, delta });
      };

      const call = (d: ToolCallDelta) => {
        let entry = callItems.get(d.index);
        if (!entry) {
          const index = output.length;
          const callId = d.id ?? `call_${ctx.requestId.replace(/^req_/, "")}_${d.index}`;
          entry = { index, item: { id: itemId("fc", ctx.requestId, index), type: "function_call", status: "in_progress", call_id: callId, name: d.name ?? "", arguments: "" } };
          callItems.set(d.index, entry);
          add({ kind: "function_call", ...entry });
        }
        if (!d.arguments) return;
        entry.item.arguments += d.arguments;
        emit("response.function_call_arguments.delta", { item_id: entry.item.id, output_index: entry.index, delta: d.arguments });
      };

      switch (ev.kind) {
        case "delta":
          if (ev.reasoning) reasoning(ev.reasoning);
          if (ev.content) message(ev.content);
          for (const d of ev.toolCalls ?? []) call(d);
          completionCounted += deltaTokens(ev);
          if (ev.finishReason) finish = ev.finishReason;
          return;
        case "usage":
          usage = ev.usage;
          return;
        case "done": {
          ended = true;
          const { status, incomplete } = finalStatus(finish);
          close(status === "completed" ? "completed" : "incomplete");
          const response = envelope(ctx, status, output, usageOf(usage, { prompt: ctx.promptTokensCounted, completion: completionCounted }), { incomplete_details: incomplete });
          emit("response.completed", { response });
          return;
        }
        case "error":
          ended = true;
          emit("response.failed", { response: envelope(ctx, "failed", output, null, { error: { code: "server_error", message: ev.message } }) });
          return;
      }
    },
  });
}
