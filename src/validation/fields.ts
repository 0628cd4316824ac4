/**
 * Field checks that name the offending field in OpenAI's `param` style (`messages[2].content`),
 * for what the dialect translators read inside content blocks and items as they convert them.
 * Request bodies themselves are checked by their definitions (schema.ts, bodies/, check.ts).
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
