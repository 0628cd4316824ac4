/**
 * Reads the miners' chat-completions answers (a whole `chat.completion` or one streamed chunk)
 * into small typed shapes the dialect translators share. The relay has already checked the
 * answer is a JSON object with `choices`; everything inside is read defensively, since miners
 * differ (vLLM, llama.cpp, Ollama, proxies) in which optional fields they send.
 */

import { isObject, type JsonObject } from "../lib/json";

const str = (v: unknown): string | undefined => (typeof v === "string" ? v : undefined);
const count = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v : null);

/** Token usage as a miner reports it, with the optional details coding agents care about. */
export interface ChatUsage {
  promptTokens: number;
  completionTokens: number;
  /** `prompt_tokens_details.cached_tokens`: prompt tokens served from the miner's KV cache. */
  cachedTokens: number | null;
  /** `completion_tokens_details.reasoning_tokens`. */
  reasoningTokens: number | null;
}

export function readUsage(v: unknown): ChatUsage | null {
  if (!isObject(v)) return null;
  const prompt = count(v.prompt_tokens);
  const completion = count(v.completion_tokens);
  if (prompt === null && completion === null) return null;
  return {
    promptTokens: prompt ?? 0,
    completionTokens: completion ?? 0,
    cachedTokens: isObject(v.prompt_tokens_details) ? count(v.prompt_tokens_details.cached_tokens) : null,
    reasoningTokens: isObject(v.completion_tokens_details) ? count(v.completion_tokens_details.reasoning_tokens) : null,
  };
}

/** Reasoning text under either name miners use: `reasoning_content` (DeepSeek, vLLM) or `reasoning`. */
function reasoningOf(m: JsonObject): string | undefined {
  return str(m.reasoning_content) ?? str(m.reasoning);
}

/**
 * vLLM reports which stop string ended the text as the non-standard `stop_reason` on the choice;
 * it is the only way to tell Anthropic's `stop_sequence` apart from a natural end.
 */
function matchedStopOf(choice: JsonObject): string | undefined {
  return str(choice.stop_reason);
}

function firstChoice(payload: JsonObject): JsonObject | undefined {
  const choices = payload.choices;
  if (!Array.isArray(choices)) return undefined;
  // n=1 is all the dialects ask for; the choice with index 0 (or the first one) is the answer.
  const byIndex = choices.find((c) => isObject(c) && (c.index === 0 || c.index === undefined));
  return isObject(byIndex) ? byIndex : undefined;
}

export interface ToolCall {
  id: string;
  name: string;
  arguments: string;
}

export interface ChatAnswer {
  content: string;
  reasoning: string;
  toolCalls: ToolCall[];
  finishReason: string | null;
  matchedStop: string | undefined;
  usage: ChatUsage | null;
}

/** A non-streamed `chat.completion`. */
export function readChatCompletion(payload: JsonObject): ChatAnswer {
  const choice = firstChoice(payload);
  const message = choice && isObject(choice.message) ? choice.message : {};
  const toolCalls: ToolCall[] = [];
  if (Array.isArray(message.tool_calls)) {
    message.tool_calls.forEach((call, i) => {
      if (!isObject(call) || !isObject(call.function)) return;
      toolCalls.push({ id: str(call.id) ?? `call_${i}`, name: str(call.function.name) ?? "", arguments: str(call.function.arguments) ?? "" });
    });
  }
  return {
    content: textOf(message.content),
    reasoning: reasoningOf(message) ?? "",
    toolCalls,
    finishReason: choice ? (str(choice.finish_reason) ?? null) : null,
    matchedStop: choice ? matchedStopOf(choice) : undefined,
    usage: readUsage(payload.usage),
  };
}

function textOf(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content.map((p) => (isObject(p) && typeof p.text === "string" ? p.text : "")).join("");
}

/** One tool-call fragment of a streamed chunk: the first carries id and name, later ones arguments. */
export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments?: string;
}

export interface ChunkDelta {
  content?: string;
  reasoning?: string;
  toolCalls?: ToolCallDelta[];
  finishReason?: string;
  matchedStop?: string;
}

/** The parts of one streamed `chat.completion.chunk` that change the answer (usage is separate). */
export function readChunkDelta(payload: JsonObject): ChunkDelta {
  const choice = firstChoice(payload);
  if (!choice) return {};
  const out: ChunkDelta = {};
  const delta = isObject(choice.delta) ? choice.delta : {};
  const content = textOf(delta.content);
  if (content !== "") out.content = content;
  const reasoning = reasoningOf(delta);
  if (reasoning) out.reasoning = reasoning;
  if (Array.isArray(delta.tool_calls)) {
    const calls: ToolCallDelta[] = [];
    delta.tool_calls.forEach((call, i) => {
      if (!isObject(call)) return;
      const fn = isObject(call.function) ? call.function : {};
      const d: ToolCallDelta = { index: typeof call.index === "number" ? call.index : i };
      const id = str(call.id);
      const name = str(fn.name);
      const args = str(fn.arguments);
      if (id) d.id = id;
      if (name) d.name = name;
      if (args) d.arguments = args;
      calls.push(d);
    });
    if (calls.length > 0) out.toolCalls = calls;
  }
  const finish = str(choice.finish_reason);
  if (finish) out.finishReason = finish;
  const stop = matchedStopOf(choice);
  if (stop) out.matchedStop = stop;
  return out;
}
