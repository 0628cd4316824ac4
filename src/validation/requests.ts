/**
 * Validation of the three OpenAI inference request bodies, each by its one definition
 * (src/validation/bodies/openai.ts, also what GET /openapi.json describes). Only the fields the
 * gateway relies on or that a miner would certainly refuse are checked; everything else is passed
 * through untouched, so newer OpenAI parameters keep working without a gateway release.
 */
import type { Endpoint } from "../billing/usage-event";
import type { JsonObject } from "../lib/json";
import { CHAT_BODY, COMPLETION_BODY, EMBEDDINGS_BODY } from "./bodies/openai";
import { parseBody } from "./check";

export { MAX_EMBEDDING_DIMENSIONS, MAX_EMBEDDING_INPUTS } from "./bodies/openai";

export interface InferenceRequest {
  endpoint: Endpoint;
  model: string;
  stream: boolean;
  /** The client asked for the final usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
  maxTokens: number | undefined;
  body: JsonObject;
}

type Maybe<T> = T | null | undefined;

/** What chat and text completions read of the generation fields (checked by the definition). */
function generation(stream: Maybe<boolean>, includeUsage: Maybe<boolean>, maxTokens: Maybe<number>, maxCompletionTokens: Maybe<number>) {
  return { stream: stream ?? false, includeUsage: includeUsage ?? false, maxTokens: maxCompletionTokens ?? maxTokens ?? undefined };
}

export function validateChat(body: JsonObject): InferenceRequest {
  const b = parseBody(CHAT_BODY, body);
  return { endpoint: "chat.completions", model: b.model, ...generation(b.stream, b.stream_options?.include_usage, b.max_tokens, b.max_completion_tokens), body };
}

export function validateCompletion(body: JsonObject): InferenceRequest {
  const b = parseBody(COMPLETION_BODY, body);
  return { endpoint: "completions", model: b.model, ...generation(b.stream, b.stream_options?.include_usage, b.max_tokens, b.max_completion_tokens), body };
}

export function validateEmbeddings(body: JsonObject): InferenceRequest {
  const b = parseBody(EMBEDDINGS_BODY, body);
  return { endpoint: "embeddings", model: b.model, stream: false, includeUsage: false, maxTokens: undefined, body };
}
