/**
 * Validation of the three inference request bodies. Only the fields the gateway relies on or that
 * a miner would certainly refuse are checked; everything else is passed through untouched, so
 * newer OpenAI parameters keep working without a gateway release.
 */
import { invalidRequest } from "../errors";
import type { JsonObject } from "../lib/json";
import type { Endpoint } from "../billing/usage-event";
import { commonGenerationFields, fail, isObject, optionalBoolean, optionalInteger, optionalObject, requiredString } from "./fields";

export interface InferenceRequest {
  endpoint: Endpoint;
  model: string;
  stream: boolean;
  /** The client asked for the final usage chunk (`stream_options.include_usage`). */
  includeUsage: boolean;
  maxTokens: number | undefined;
  body: JsonObject;
}

/** Inputs in one embeddings request (OpenAI's own limit). */
export const MAX_EMBEDDING_INPUTS = 2048;
/**
 * Largest `dimensions` asked of an embeddings model (OpenAI's largest model has 3072). With
 * MAX_EMBEDDING_INPUTS it bounds what a request can make a miner produce; the answer itself is
 * read under MINER_MAX_ANSWER_BYTES (base64 answers are about a quarter of the size of floats).
 */
export const MAX_EMBEDDING_DIMENSIONS = 4096;

const ROLES = new Set(["system", "developer", "user", "assistant", "tool", "function"]);

export function validateChat(body: JsonObject): InferenceRequest {
  const model = requiredString(body, "model");
  const messages = body.messages;
  if (messages === undefined) throw invalidRequest("Missing required parameter: 'messages'.", "messages", "missing_required_parameter");
  if (!Array.isArray(messages)) fail("messages", "an array", messages);
  if (messages.length === 0) throw invalidRequest("'messages' must contain at least one message.", "messages", "invalid_value");
  messages.forEach((m, i) => validateMessage(m, `messages[${i}]`));
  validateTools(body);
  const format = optionalObject(body, "response_format");
  if (format) {
    const type = requiredString(format, "type", "response_format.type");
    if (!["text", "json_object", "json_schema"].includes(type)) {
      throw invalidRequest(`'response_format.type' must be one of text, json_object, json_schema.`, "response_format.type", "invalid_value");
    }
  }
  return { endpoint: "chat.completions", model, ...commonGenerationFields(body), body };
}

function validateMessage(m: unknown, param: string): void {
  if (!isObject(m)) fail(param, "an object", m);
  const role = m.role;
  if (typeof role !== "string") fail(`${param}.role`, "a string", role);
  if (!ROLES.has(role)) throw invalidRequest(`'${param}.role' must be one of ${[...ROLES].join(", ")}, got '${role}'.`, `${param}.role`, "invalid_value");
  const content = m.content;
  const mayBeEmpty = role === "assistant" && (m.tool_calls !== undefined || m.function_call !== undefined);
  if (content === undefined || content === null) {
    if (!mayBeEmpty) throw invalidRequest(`Missing required parameter: '${param}.content'.`, `${param}.content`, "missing_required_parameter");
  } else if (typeof content !== "string" && !Array.isArray(content)) {
    fail(`${param}.content`, "a string or an array of content parts", content);
  } else if (Array.isArray(content)) {
    content.forEach((part, j) => {
      if (!isObject(part) || typeof part.type !== "string") fail(`${param}.content[${j}]`, "a content part object with a 'type'", part);
    });
  }
  if (role === "tool" && typeof m.tool_call_id !== "string") fail(`${param}.tool_call_id`, "a string", m.tool_call_id);
  if (m.tool_calls !== undefined && !Array.isArray(m.tool_calls)) fail(`${param}.tool_calls`, "an array", m.tool_calls);
}

function validateTools(body: JsonObject): void {
  const tools = body.tools;
  if (tools !== undefined && tools !== null) {
    if (!Array.isArray(tools)) fail("tools", "an array", tools);
    tools.forEach((t, i) => {
      if (!isObject(t)) fail(`tools[${i}]`, "an object", t);
      if (t.type !== "function") throw invalidRequest(`'tools[${i}].type' must be 'function'.`, `tools[${i}].type`, "invalid_value");
      if (!isObject(t.function)) fail(`tools[${i}].function`, "an object", t.function);
      requiredString(t.function, "name", `tools[${i}].function.name`);
    });
  }
  const choice = body.tool_choice;
  if (choice === undefined || choice === null) return;
  if (typeof choice === "string") {
    if (!["none", "auto", "required"].includes(choice)) {
      throw invalidRequest(`'tool_choice' must be none, auto, required or a function choice.`, "tool_choice", "invalid_value");
    }
    return;
  }
  if (!isObject(choice) || !isObject(choice.function)) fail("tool_choice", "a string or {type:'function', function:{name}}", choice);
  requiredString(choice.function, "name", "tool_choice.function.name");
}

export function validateCompletion(body: JsonObject): InferenceRequest {
  const model = requiredString(body, "model");
  const prompt = body.prompt;
  if (prompt === undefined) throw invalidRequest("Missing required parameter: 'prompt'.", "prompt", "missing_required_parameter");
  const ok =
    typeof prompt === "string" ||
    (Array.isArray(prompt) && prompt.every((p) => typeof p === "string" || typeof p === "number" || Array.isArray(p)));
  if (!ok) fail("prompt", "a string or an array of strings or token arrays", prompt);
  return { endpoint: "completions", model, ...commonGenerationFields(body), body };
}

export function validateEmbeddings(body: JsonObject): InferenceRequest {
  const model = requiredString(body, "model");
  const input = body.input;
  if (input === undefined) throw invalidRequest("Missing required parameter: 'input'.", "input", "missing_required_parameter");
  const ok = typeof input === "string" || (Array.isArray(input) && input.length > 0);
  if (!ok) fail("input", "a string or a non-empty array", input);
  if (Array.isArray(input) && input.length > MAX_EMBEDDING_INPUTS) throw invalidRequest(`'input' may hold at most ${MAX_EMBEDDING_INPUTS} items.`, "input", "invalid_value");
  optionalInteger(body, "dimensions", 1, MAX_EMBEDDING_DIMENSIONS);
  // Embeddings are never streamed: refuse rather than silently answer JSON to a client expecting SSE.
  const stream = optionalBoolean(body, "stream");
  if (stream === true) throw invalidRequest("Embeddings cannot be streamed: remove 'stream' or set it to false.", "stream", "invalid_value");
  const format = body.encoding_format;
  if (format !== undefined && format !== "float" && format !== "base64") {
    throw invalidRequest("'encoding_format' must be 'float' or 'base64'.", "encoding_format", "invalid_value");
  }
  return { endpoint: "embeddings", model, stream: false, includeUsage: false, maxTokens: undefined, body };
}
