/**
 * Chat-completions answer -> Responses API `response` object (non-streamed), and the builders
 * the stream translator shares: ids, items, usage, status, the response envelope.
 */
import { countTokens } from "../../lib/tokens";
import type { ChatAnswer, ChatUsage } from "../chat-answer";
import type { RequestEcho } from "./request";
import type { FunctionCallItem, MessageItem, OutputItem, ReasoningItem, ResponseObject, ResponseStatus, ResponseUsage } from "./types";

export interface ResponseContext {
  /** `req_<hex>`: the response and item ids reuse its hex so logs correlate. */
  requestId: string;
  model: string;
  createdAt: number;
  echo: RequestEcho;
  promptTokensCounted: number;
}

const hex = (requestId: string) => requestId.replace(/^req_/, "");
export const responseId = (requestId: string) => `resp_${hex(requestId)}`;
/** Item ids: a prefix by kind, the request's hex, and the item's position. */
export const itemId = (prefix: "msg" | "fc" | "rs", requestId: string, outputIndex: number) => `${prefix}_${hex(requestId)}_${outputIndex}`;

export function usageOf(usage: ChatUsage | null, fallback: { prompt: number; completion: number }): ResponseUsage {
  const input = usage?.promptTokens ?? fallback.prompt;
  const output = usage?.completionTokens ?? fallback.completion;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: Math.min(usage?.cachedTokens ?? 0, input) },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage?.reasoningTokens ?? 0 },
    total_tokens: input + output,
  };
}

/** A cut answer is `incomplete` (max_output_tokens / content_filter); anything else completed. */
export function finalStatus(finish: string | null): { status: ResponseStatus; incomplete: ResponseObject["incomplete_details"] } {
  if (finish === "length") return { status: "incomplete", incomplete: { reason: "max_output_tokens" } };
  if (finish === "content_filter") return { status: "incomplete", incomplete: { reason: "content_filter" } };
  return { status: "completed", incomplete: null };
}

export function envelope(
  ctx: ResponseContext,
  status: ResponseStatus,
  output: OutputItem[],
  usage: ResponseUsage | null,
  extra: Pick<Partial<ResponseObject>, "error" | "incomplete_details"> = {},
): ResponseObject {
  const e = ctx.echo;
  return {
    id: responseId(ctx.requestId),
    object: "response",
    created_at: ctx.createdAt,
    status,
    error: extra.error ?? null,
    incomplete_details: extra.incomplete_details ?? null,
    model: ctx.model,
    output,
    usage,
    instructions: e.instructions,
    max_output_tokens: e.maxOutputTokens,
    parallel_tool_calls: e.parallelToolCalls,
    previous_response_id: null,
    reasoning: e.reasoning,
    // Nothing is stored, whatever the request asked.
    store: false,
    temperature: e.temperature,
    text: e.text,
    tool_choice: e.toolChoice,
    tools: e.tools,
    top_p: e.topP,
    truncation: "disabled",
    user: e.user,
    metadata: e.metadata,
  };
}

export function chatAnswerToResponse(answer: ChatAnswer, ctx: ResponseContext): ResponseObject {
  const output: OutputItem[] = [];
  const { status, incomplete } = finalStatus(answer.finishReason);
  const itemStatus = status === "completed" ? "completed" : "incomplete";
  if (answer.reasoning !== "") {
    const item: ReasoningItem = { id: itemId("rs", ctx.requestId, output.length), type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: answer.reasoning }] };
    output.push(item);
  }
  if (answer.content !== "") {
    const item: MessageItem = {
      id: itemId("msg", ctx.requestId, output.length),
      type: "message",
      status: itemStatus,
      role: "assistant",
      content: [{ type: "output_text", text: answer.content, annotations: [], logprobs: [] }],
    };
    output.push(item);
  }
  for (const call of answer.toolCalls) {
    const item: FunctionCallItem = { id: itemId("fc", ctx.requestId, output.length), type: "function_call", status: itemStatus, call_id: call.id, name: call.name, arguments: call.arguments };
    output.push(item);
  }
  const completion = countTokens(answer.reasoning + answer.content + answer.toolCalls.map((c) => c.name + c.arguments).join(""));
  return envelope(ctx, status, output, usageOf(answer.usage, { prompt: ctx.promptTokensCounted, completion }), { incomplete_details: incomplete });
}
