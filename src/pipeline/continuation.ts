/**
 * Continuing a broken stream on another miner (docs/streams.md), as plain functions over JSON:
 *
 *   - when a stream may be continued at all (chat completions; not n > 1, logprobs, a client
 *     that opted out with `x-gateway-continuation: off`; never inside a tool call or reasoning);
 *   - the continuation request: the same body, the delivered text as a trailing assistant
 *     message with vLLM's `continue_final_message: true, add_generation_prompt: false`, and
 *     `max_tokens` lowered by what was delivered;
 *   - splicing: the continuation's chunks take the first miner's `id`, `created` and `model`, lose
 *     their role delta, and the final usage chunk says what the client received in total.
 *   - peeking: what counts as a stream having started (content, or a finish other than "error").
 */
import { isObject, type JsonObject } from "../lib/json";
import type { InferenceRequest } from "../validation/requests";

export const CONTINUATION_HEADER = "x-gateway-continuation";

/** Whether this request's stream may be continued on another miner if it breaks. */
export function continuationAllowed(request: InferenceRequest, header: string | null): boolean {
  if (!request.stream || request.endpoint !== "chat.completions") return false;
  if (header !== null && header.trim().toLowerCase() === "off") return false;
  const b = request.body;
  if (typeof b.n === "number" && b.n > 1) return false;
  // Log probabilities of a spliced answer would mix two models' distributions.
  if (b.logprobs === true || (typeof b.top_logprobs === "number" && b.top_logprobs > 0)) return false;
  return Array.isArray(b.messages);
}

/** What the relay saw delivered, as far as continuation cares. */
export interface Delivered {
  text: string;
  tokens: number;
  /** A tool call (or several) was being streamed: its arguments may be cut anywhere. */
  toolCalls: boolean;
  /** Reasoning text reached the client: it cannot be told apart from the answer in a prefix. */
  reasoning: boolean;
}

/**
 * The continuation request, or null when there is nothing sound to ask (a tool call or
 * reasoning was cut, or the token budget is spent).
 */
export function continuationBody(minerBody: JsonObject, d: Delivered): JsonObject | null {
  if (d.toolCalls || d.reasoning) return null;
  const messages = minerBody.messages;
  if (!Array.isArray(messages)) return null;
  const body: JsonObject = {
    ...minerBody,
    messages: [...messages, { role: "assistant", content: d.text }],
    continue_final_message: true,
    add_generation_prompt: false,
  };
  for (const key of ["max_completion_tokens", "max_tokens"] as const) {
    const cap = minerBody[key];
    if (typeof cap !== "number") continue;
    const left = cap - d.tokens;
    if (left < 1) return null;
    body[key] = left;
  }
  return body;
}

/** The first miner's identity of the answer, kept on every spliced chunk. */
export interface StreamIdentity {
  id: string;
  created: number;
  model: string | undefined;
}

export function identityOf(payload: JsonObject): StreamIdentity | null {
  if (typeof payload.id !== "string" || typeof payload.created !== "number") return null;
  return { id: payload.id, created: payload.created, model: typeof payload.model === "string" ? payload.model : undefined };
}

/**
 * A continuation's chunk as the client's stream continues it: same id, created and model; no
 * second role delta. Returns false when nothing is left to send (a bare role chunk).
 */
export function spliceChunk(payload: JsonObject, identity: StreamIdentity): boolean {
  payload.id = identity.id;
  payload.created = identity.created;
  if (identity.model !== undefined) payload.model = identity.model;
  const choices = payload.choices;
  if (!Array.isArray(choices)) return true;
  let keep = choices.length === 0; // a usage chunk
  for (const c of choices) {
    if (!isObject(c)) continue;
    if (isObject(c.delta)) {
      delete c.delta.role;
      if (c.delta.content === "") delete c.delta.content;
      if (c.delta.content === null && c.delta.tool_calls === undefined) delete c.delta.content;
      if (c.delta.refusal === null) delete c.delta.refusal;
      if (Object.keys(c.delta).length > 0) keep = true;
    }
    if (c.finish_reason != null) keep = true;
  }
  return keep || isObject(payload.usage);
}

/** The usage of a spliced answer: the prompt once (the gateway's count), every delivered token. */
export function splicedUsage(usage: JsonObject, promptTokens: number, completionTokens: number): JsonObject {
  return { ...usage, prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens };
}

/** How a chunk bears on peeking and on continuing. */
export type ChunkKind = "content" | "finish" | "finish_error" | "other";

export function chunkKind(payload: JsonObject, text: string): ChunkKind {
  const choice = Array.isArray(payload.choices) ? payload.choices[0] : undefined;
  const finish = isObject(choice) ? choice.finish_reason : undefined;
  if (finish === "error") return "finish_error";
  if (text !== "") return "content";
  if (typeof finish === "string" && finish !== "") return "finish";
  return "other";
}

/** Does the chunk stream a tool call / reasoning (so a prefix of it cannot be continued)? */
export function deltaFlags(payload: JsonObject): { toolCalls: boolean; reasoning: boolean } {
  const choice = Array.isArray(payload.choices) ? payload.choices[0] : undefined;
  const delta = isObject(choice) && isObject(choice.delta) ? choice.delta : undefined;
  if (!delta) return { toolCalls: false, reasoning: false };
  const reasoning = (typeof delta.reasoning_content === "string" && delta.reasoning_content !== "") || (typeof delta.reasoning === "string" && delta.reasoning !== "");
  return { toolCalls: Array.isArray(delta.tool_calls) && delta.tool_calls.length > 0, reasoning };
}
