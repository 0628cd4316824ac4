// Small node:http helpers: bounded body reading and OpenAI-shaped JSON / error responses.
import type { IncomingMessage, ServerResponse } from "node:http";

export type OpenAiErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "server_error";

/** Error thrown by handlers and turned into `{"error":{message,type,code,param}}` in one place. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly type: OpenAiErrorType,
    readonly code: string | null,
    readonly param: string | null = null,
  ) {
    super(message);
  }
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null): HttpError =>
  new HttpError(400, message, "invalid_request_error", code, param);

export function sendJson(res: ServerResponse, status: number, body: unknown, extraHeaders: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(text)),
    ...extraHeaders,
  });
  res.end(text);
}

export function sendError(res: ServerResponse, err: HttpError, extraHeaders: Record<string, string> = {}): void {
  if (res.headersSent) {
    // Too late for a status line: the only honest signal left is an abrupt end.
    res.destroy();
    return;
  }
  sendJson(res, err.status, { error: { message: err.message, type: err.type, param: err.param, code: err.code } }, extraHeaders);
}

/** Reads the whole body, refusing (413) past `maxBytes` without buffering the excess. */
export function readBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(req.headers["content-length"] ?? "0");
  if (declared > maxBytes) return Promise.reject(tooLarge(maxBytes));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        req.removeAllListeners("data");
        req.pause();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(chunk);
    });
    req.on("end", () => resolve(chunks.length === 1 && chunks[0] ? chunks[0] : Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function tooLarge(maxBytes: number): HttpError {
  return new HttpError(413, `request body exceeds ${maxBytes} bytes`, "invalid_request_error", "request_too_large");
}

/** Parses a JSON object body; OpenAI answers malformed JSON with a 400 invalid_request_error. */
export function parseJsonObject(body: Uint8Array): Record<string, unknown> {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
  } catch {
    throw badRequest("We could not parse the JSON body of your request: expected a JSON object.", null, "invalid_json");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw badRequest("The request body must be a JSON object.", null, "invalid_json");
  }
  return value as Record<string, unknown>;
}
