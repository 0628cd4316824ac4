/**
 * Field checks that name the offending field in OpenAI's `param` style (`messages[2].content`).
 * Each returns the narrowed value or throws a 400 GatewayError.
 */
import { invalidRequest } from "../errors";
import { isObject, type JsonObject } from "../lib/json";

export { isObject };

export function typeName(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  return typeof v;
}

export function fail(param: string, expected: string, got: unknown): never {
  throw invalidRequest(`Invalid type for '${param}': expected ${expected}, but got ${typeName(got)}.`, param, "invalid_type");
}

export function requiredString(obj: JsonObject, key: string, param = key): string {
  const v = obj[key];
  if (v === undefined) throw invalidRequest(`Missing required parameter: '${param}'.`, param, "missing_required_parameter");
  if (typeof v !== "string") fail(param, "a string", v);
  if (v === "") throw invalidRequest(`'${param}' must not be empty.`, param, "invalid_value");
  return v;
}

export function optionalBoolean(obj: JsonObject, key: string, param = key): boolean | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "boolean") fail(param, "a boolean", v);
  return v;
}

export function optionalNumber(obj: JsonObject, key: string, min: number, max: number, param = key): number | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isFinite(v)) fail(param, "a number", v);
  if (v < min || v > max) throw invalidRequest(`'${param}' must be between ${min} and ${max}, got ${v}.`, param, "invalid_value");
  return v;
}

export function optionalInteger(obj: JsonObject, key: string, min: number, max: number, param = key): number | undefined {
  const v = optionalNumber(obj, key, min, max, param);
  if (v !== undefined && !Number.isInteger(v)) fail(param, "an integer", v);
  return v;
}

export function optionalString(obj: JsonObject, key: string, param = key): string | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") fail(param, "a string", v);
  return v;
}

export function optionalObject(obj: JsonObject, key: string, param = key): JsonObject | undefined {
  const v = obj[key];
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) fail(param, "an object", v);
  return v;
}

/** `stop`: a string or an array of up to 4 strings. */
export function optionalStop(obj: JsonObject): void {
  const v = obj.stop;
  if (v === undefined || v === null || typeof v === "string") return;
  if (!Array.isArray(v)) fail("stop", "a string or an array of strings", v);
  if (v.length > 4) throw invalidRequest("'stop' may hold at most 4 sequences.", "stop", "invalid_value");
  v.forEach((s, i) => {
    if (typeof s !== "string") fail(`stop[${i}]`, "a string", s);
  });
}

/** The sampling and length fields shared by chat and text completions. */
export function commonGenerationFields(body: JsonObject): { stream: boolean; includeUsage: boolean; maxTokens: number | undefined } {
  const stream = optionalBoolean(body, "stream") ?? false;
  const streamOptions = optionalObject(body, "stream_options");
  const includeUsage = streamOptions ? (optionalBoolean(streamOptions, "include_usage", "stream_options.include_usage") ?? false) : false;
  const maxTokens = optionalInteger(body, "max_tokens", 1, 10_000_000);
  const maxCompletionTokens = optionalInteger(body, "max_completion_tokens", 1, 10_000_000);
  optionalNumber(body, "temperature", 0, 2);
  optionalNumber(body, "top_p", 0, 1);
  optionalNumber(body, "presence_penalty", -2, 2);
  optionalNumber(body, "frequency_penalty", -2, 2);
  optionalInteger(body, "seed", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
  optionalInteger(body, "n", 1, 128);
  optionalString(body, "user");
  optionalStop(body);
  return { stream, includeUsage, maxTokens: maxCompletionTokens ?? maxTokens };
}
