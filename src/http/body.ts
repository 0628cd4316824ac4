/**
 * Reads a JSON request body under the configured size limit. Refuses a wrong content type (415),
 * an oversized body (413, from Content-Length before reading, or while streaming a chunked body),
 * invalid JSON and non-object JSON (400). Returns the parsed object for validation.
 */
import { invalidRequest, payloadTooLarge, unsupportedMediaType } from "../errors";
import type { JsonObject } from "../lib/json";
import { readTextLimited } from "../lib/read-limited";

export async function readJsonObject(request: Request, limit: number): Promise<JsonObject> {
  const type = request.headers.get("content-type");
  if (!type || !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) throw unsupportedMediaType(type);

  const text = await readTextLimited(request, limit);
  if (text === null) throw payloadTooLarge(limit);
  if (text.trim() === "") throw invalidRequest("Request body is empty; expected a JSON object.", null, "invalid_json");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    const why = err instanceof SyntaxError ? err.message : "parse error";
    throw invalidRequest(`Request body is not valid JSON (${why}).`, null, "invalid_json");
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw invalidRequest("Request body must be a JSON object.", null, "invalid_json");
  }
  return value as JsonObject;
}
