/**
 * Reads a JSON request body under the configured size limit. Refuses a wrong content type (415),
 * an oversized body (413, from Content-Length before reading, or while streaming a chunked body),
 * invalid JSON and non-object JSON (400). Returns the parsed object for validation.
 */
import { invalidRequest, payloadTooLarge, unsupportedMediaType } from "../errors";

export type JsonObject = Record<string, unknown>;

export async function readJsonObject(request: Request, limit: number): Promise<JsonObject> {
  const type = request.headers.get("content-type");
  if (!type || !/^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i.test(type)) throw unsupportedMediaType(type);

  const declared = request.headers.get("content-length");
  if (declared !== null && Number(declared) > limit) throw payloadTooLarge(limit);

  const text = await readLimited(request, limit);
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

async function readLimited(request: Request, limit: number): Promise<string> {
  if (!request.body) return "";
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel();
      throw payloadTooLarge(limit);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return new TextDecoder().decode(chunks[0]);
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
