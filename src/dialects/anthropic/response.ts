/**
 * Chat-completions answer -> Anthropic Message (non-streamed), plus the mappings the stream
 * translator shares: stop reason, usage, ids.
 */
import { isObject } from "../../lib/json";
import { countTokens } from "../../lib/tokens";
import type { ChatAnswer, ChatUsage } from "../chat-answer";
import type { ContentBlock, Message, StopReason, Usage } from "./types";

export interface AnswerContext {
  /** The gateway's request id (`req_<hex>`); the message id reuses its hex so logs correlate. */
  requestId: string;
  model: string;
  stopSequences: readonly string[];
  hideThinking: boolean;
  /** The gateway's own count of the prompt, used when the miner reports no usage. */
  promptTokensCounted: number;
}

export const messageId = (requestId: string) => `msg_${requestId.replace(/^req_/, "")}`;

/**
 * OpenAI finish reasons -> Anthropic stop reasons. A "stop" is `stop_sequence` only when the miner
 * says which stop string matched (vLLM's `stop_reason`); otherwise it is a natural `end_turn`.
 */
export function stopReason(finish: string | null, matchedStop: string | undefined, stops: readonly string[]): { reason: StopReason; sequence: string | null } {
  switch (finish) {
    case "length":
      return { reason: "max_tokens", sequence: null };
    case "tool_calls":
    case "function_call":
      return { reason: "tool_use", sequence: null };
    case "content_filter":
      return { reason: "refusal", sequence: null };
    default:
      if (matchedStop !== undefined && stops.includes(matchedStop)) return { reason: "stop_sequence", sequence: matchedStop };
      return { reason: "end_turn", sequence: null };
  }
}

/** Anthropic's input_tokens excludes cache reads, which are reported on their own. */
export function usageOf(usage: ChatUsage | null, fallback: { prompt: number; completion: number }): Usage {
  const prompt = usage?.promptTokens ?? fallback.prompt;
  const cached = Math.min(usage?.cachedTokens ?? 0, prompt);
  return {
    input_tokens: prompt - cached,
    output_tokens: usage?.completionTokens ?? fallback.completion,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

/** Tool arguments as an object: miners send a JSON string; a truncated one becomes `{}`. */
export function toolInput(args: string): unknown {
  if (args.trim() === "") return {};
  try {
    const v: unknown = JSON.parse(args);
    return isObject(v) ? v : {};
  } catch {
    return {};
  }
}

export function chatAnswerToMessage(answer: ChatAnswer, ctx: AnswerContext): Message {
  const content: ContentBlock[] = [];
  if (answer.reasoning !== "" && !ctx.hideThinking) content.push({ type: "thinking", thinking: answer.reasoning, signature: "" });
  if (answer.content !== "") content.push({ type: "text", text: answer.content });
  for (const call of answer.toolCalls) content.push({ type: "tool_use", id: call.id, name: call.name, input: toolInput(call.arguments) });
  const stop = stopReason(answer.finishReason, answer.matchedStop, ctx.stopSequences);
  const completion = countTokens(answer.reasoning + answer.content + answer.toolCalls.map((c) => c.name + c.arguments).join(""));
  return {
    id: messageId(ctx.requestId),
    type: "message",
    role: "assistant",
    model: ctx.model,
    content,
    stop_reason: stop.reason,
    stop_sequence: stop.sequence,
    usage: usageOf(answer.usage, { prompt: ctx.promptTokensCounted, completion }),
  };
}
