/**
 * Reads a JSON request body under the configured size limit. Refuses a wrong content type (415),
 * an oversized body (413, from Content-Length before reading, or while streaming a chunked body),
 * invalid JSON, non-object JSON, and JSON nested too deep or with too many values (400, naming
 * the field). Returns the parsed object for validation. Every dialect reads its body here.
 */
import { invalidRequest, payloadTooLarge, unsupportedMediaType } from "../errors";
import { isObject, type JsonObject } from "../lib/json";
import { readTextLimited } from "../lib/read-limited";
import { checkJsonBounds, fieldOf } from "../validation/json-bounds";

export async function readJsonObject(request: Request, limit: number): Promise<JsonObject> {
  const type = request.headers.get("content-type");
  if (!type || !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) throw unsupportedMediaType(type);

  // "drain": an oversized body is read to its end and discarded, so the connection stays usable.
  const text = await readTextLimited(request, limit, "drain");
  if (text === null) throw payloadTooLarge(limit);
  if (text.trim() === "") throw invalidRequest("Request body is empty; expected a JSON object.", null, "invalid_json");
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    // A RangeError here is the parser running out of stack on extreme nesting: still bad input.
    const why = err instanceof SyntaxError ? err.message : err instanceof RangeError ? "nested too deeply" : "parse error";
    throw invalidRequest(`Request body is not valid JSON (${why}).`, null, "invalid_json");
  }
  if (!isObject(value)) {
    throw invalidRequest("Request body must be a JSON object.", null, "invalid_json");
  }
  const violation = checkJsonBounds(value);
  if (violation) {
    const field = fieldOf(violation);
    const message =
      violation.kind === "depth"
        ? `'${field}' is nested too deeply: objects and arrays may nest at most ${violation.limit} levels (exceeded at '${violation.path.slice(0, 200)}').`
        : `Request body has too many JSON values (more than ${violation.limit}; exceeded at '${violation.path.slice(0, 200)}').`;
    throw invalidRequest(message, field || null, violation.kind === "depth" ? "json_too_deep" : "json_too_large");
  }
  return value;
}
