// Parses OpenAI request bodies into the typed shapes the built-in model needs, refusing what it
// cannot honour with OpenAI-style 400s (param set) instead of silently ignoring it.
import { badRequest } from "./http";

export type JsonObject = Record<string, unknown>;
export type ChatMessage = { role: string; content: unknown; name?: string; tool_calls?: unknown; tool_call_id?: string };
export type ToolDef = { name: string; parameters: unknown };
export type ToolChoice = { mode: "none" | "auto" | "required" } | { mode: "named"; name: string };
export type ResponseFormat = { type: "text" } | { type: "json_object" } | { type: "json_schema"; schema: unknown };

export type GenParams = {
  model: string;
  stream: boolean;
  includeUsage: boolean;
  maxTokens: number | undefined;
  stop: string[];
  seed: number | undefined;
};
export type ChatRequest = GenParams & {
  messages: ChatMessage[];
  tools: ToolDef[];
  toolChoice: ToolChoice;
  responseFormat: ResponseFormat;
  /**
   * vLLM's `continue_final_message`: the last message is a partial assistant answer to extend,
   * not a turn to answer (how the gateway continues a stream another miner broke).
   */
  continueFinalMessage: boolean;
};
export type CompletionRequest = GenParams & { prompt: string };
export type EmbeddingRequest = {
  model: string;
  inputs: Array<string | number[]>;
  encodingFormat: "float" | "base64";
  dimensions: number;
};

export const isObject = (v: unknown): v is JsonObject => typeof v === "object" && v !== null && !Array.isArray(v);

export function requireModel(body: JsonObject): string {
  if (typeof body.model !== "string" || body.model === "") throw badRequest("you must provide a model parameter", "model");
  return body.model;
}

function optionalPositiveInt(body: JsonObject, key: string): number | undefined {
  const v = body[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v) || v < 1) throw badRequest(`${key} must be an integer >= 1`, key);
  return v;
}

function parseGenParams(body: JsonObject): GenParams {
  const stream = body.stream === true;
  const streamOptions = body.stream_options;
  const includeUsage = stream && isObject(streamOptions) && streamOptions.include_usage === true;
  const n = body.n;
  if (n !== undefined && n !== null && n !== 1) {
    // One deterministic answer per request keeps usage accounting exact; n>1 is not offered.
    throw badRequest("this miner supports only n=1", "n", "unsupported_parameter");
  }
  const stop = body.stop;
  let stops: string[] = [];
  if (typeof stop === "string") stops = [stop];
  else if (Array.isArray(stop) && stop.every((s): s is string => typeof s === "string")) stops = stop;
  else if (stop !== undefined && stop !== null) throw badRequest("stop must be a string or an array of strings", "stop");
  const seed = body.seed;
  if (seed !== undefined && seed !== null && (typeof seed !== "number" || !Number.isInteger(seed))) throw badRequest("seed must be an integer", "seed");
  return {
    model: requireModel(body),
    stream,
    includeUsage,
    // max_completion_tokens supersedes the deprecated max_tokens, as in OpenAI.
    maxTokens: optionalPositiveInt(body, "max_completion_tokens") ?? optionalPositiveInt(body, "max_tokens"),
    stop: stops.filter((s) => s !== ""),
    seed: typeof seed === "number" ? seed : undefined,
  };
}

function parseMessages(raw: unknown): ChatMessage[] {
  if (!Array.isArray(raw) || raw.length === 0) throw badRequest("messages must be a non-empty array", "messages");
  return raw.map((m, i) => {
    if (!isObject(m) || typeof m.role !== "string") throw badRequest(`messages[${i}] must be an object with a string role`, `messages[${i}]`);
    const msg: ChatMessage = { role: m.role, content: m.content ?? null };
    if (typeof m.name === "string") msg.name = m.name;
    if (m.tool_calls !== undefined) msg.tool_calls = m.tool_calls;
    if (typeof m.tool_call_id === "string") msg.tool_call_id = m.tool_call_id;
    return msg;
  });
}

function parseTools(raw: unknown): ToolDef[] {
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw badRequest("tools must be an array", "tools");
  const tools: ToolDef[] = [];
  raw.forEach((t, i) => {
    // Only function tools exist in Chat Completions; other types are refused explicitly.
    if (!isObject(t) || t.type !== "function" || !isObject(t.function) || typeof t.function.name !== "string" || t.function.name === "") {
      throw badRequest(`tools[${i}] must be {type:"function", function:{name, parameters}}`, `tools[${i}]`);
    }
    tools.push({ name: t.function.name, parameters: t.function.parameters });
  });
  return tools;
}

function parseToolChoice(raw: unknown, tools: ToolDef[]): ToolChoice {
  if (raw === undefined || raw === null) return { mode: tools.length > 0 ? "auto" : "none" };
  if (raw === "none" || raw === "auto" || raw === "required") {
    if (raw !== "none" && tools.length === 0) throw badRequest(`tool_choice "${raw}" requires tools`, "tool_choice");
    return { mode: raw };
  }
  if (isObject(raw) && raw.type === "function" && isObject(raw.function) && typeof raw.function.name === "string") {
    const name = raw.function.name;
    if (!tools.some((t) => t.name === name)) throw badRequest(`tool_choice names unknown function ${JSON.stringify(name)}`, "tool_choice");
    return { mode: "named", name };
  }
  throw badRequest('tool_choice must be "none", "auto", "required" or {type:"function",function:{name}}', "tool_choice");
}

function parseResponseFormat(raw: unknown): ResponseFormat {
  if (raw === undefined || raw === null) return { type: "text" };
  if (isObject(raw)) {
    if (raw.type === "text" || raw.type === "json_object") return { type: raw.type };
    if (raw.type === "json_schema" && isObject(raw.json_schema)) return { type: "json_schema", schema: raw.json_schema.schema };
  }
  throw badRequest("response_format must be {type: text|json_object|json_schema}", "response_format");
}

export function parseChatRequest(body: JsonObject): ChatRequest {
  const tools = parseTools(body.tools);
  const messages = parseMessages(body.messages);
  const cont = body.continue_final_message;
  if (cont !== undefined && cont !== null && typeof cont !== "boolean") throw badRequest("continue_final_message must be a boolean", "continue_final_message");
  // As vLLM: continuing needs an assistant message to continue, and no new generation prompt.
  if (cont === true && messages.at(-1)?.role !== "assistant") {
    throw badRequest("continue_final_message requires the last message to be an assistant message", "continue_final_message");
  }
  if (cont === true && body.add_generation_prompt === true) {
    throw badRequest("continue_final_message and add_generation_prompt cannot both be true", "add_generation_prompt");
  }
  return {
    ...parseGenParams(body),
    messages,
    tools,
    toolChoice: parseToolChoice(body.tool_choice, tools),
    responseFormat: parseResponseFormat(body.response_format),
    continueFinalMessage: cont === true,
  };
}

export function parseCompletionRequest(body: JsonObject): CompletionRequest {
  const p = body.prompt;
  let prompt: string;
  if (typeof p === "string") prompt = p;
  else if (Array.isArray(p) && p.length === 1 && typeof p[0] === "string") prompt = p[0];
  else throw badRequest("prompt must be a string or an array of exactly one string", "prompt");
  return { ...parseGenParams(body), prompt };
}

export function parseEmbeddingRequest(body: JsonObject): EmbeddingRequest {
  const raw = body.input;
  const isTokens = (v: unknown): v is number[] => Array.isArray(v) && v.length > 0 && v.every((x) => Number.isInteger(x));
  let inputs: Array<string | number[]>;
  if (typeof raw === "string") inputs = [raw];
  else if (isTokens(raw)) inputs = [raw];
  else if (Array.isArray(raw) && raw.length > 0 && raw.every((x) => typeof x === "string" || isTokens(x))) inputs = raw as Array<string | number[]>;
  else throw badRequest("input must be a string, an array of strings, or token arrays", "input");
  if (inputs.length > 2048) throw badRequest("at most 2048 inputs per request", "input");
  const fmt = body.encoding_format ?? "float";
  if (fmt !== "float" && fmt !== "base64") throw badRequest('encoding_format must be "float" or "base64"', "encoding_format");
  const dims = body.dimensions ?? 64;
  if (typeof dims !== "number" || !Number.isInteger(dims) || dims < 1 || dims > 4096) throw badRequest("dimensions must be an integer in 1..4096", "dimensions");
  return { model: requireModel(body), inputs, encodingFormat: fmt, dimensions: dims };
}
