/**
 * Anthropic's error shape `{"type":"error","error":{"type","message"},"request_id"}` for every
 * refusal on the Messages routes, with the same status the OpenAI-shaped error would have.
 * The gateway keeps one error model (GatewayError, shaped by app.onError); this middleware only
 * reshapes the finished error response on these routes, so auth, body-limit and relay errors
 * all come out the way Anthropic SDKs and Claude Code parse them.
 */
import type { MiddlewareHandler } from "hono";
import { GatewayError, internalError } from "../../errors";
import type { AppEnv } from "../../http/app-env";
import { isObj } from "../chat-answer";
import type { ErrorBody, ErrorType } from "./types";

/** Anthropic's documented error types by HTTP status. */
export function errorTypeFor(status: number): ErrorType {
  switch (status) {
    case 400:
    case 405:
    case 415:
    case 422:
      return "invalid_request_error";
    case 401:
      return "authentication_error";
    case 402:
      return "billing_error";
    case 403:
      return "permission_error";
    case 404:
      return "not_found_error";
    case 413:
      return "request_too_large";
    case 429:
      return "rate_limit_error";
    case 503:
    case 529:
      return "overloaded_error";
    case 504:
      return "timeout_error";
    default:
      return "api_error";
  }
}

export function errorBody(status: number, message: string, requestId: string | undefined): ErrorBody {
  const body: ErrorBody = { type: "error", error: { type: errorTypeFor(status), message } };
  if (requestId) body.request_id = requestId;
  return body;
}

/** Rewrites any error the routes below it raised into Anthropic's shape; headers are kept. */
export function anthropicErrors(): MiddlewareHandler<AppEnv> {
  return async function anthropicErrorsMiddleware(c, next) {
    await next();
    if (c.error === undefined) return;
    const e = c.error instanceof GatewayError ? c.error : internalError();
    const headers = new Headers(c.res.headers);
    headers.set("content-type", "application/json");
    headers.delete("content-length");
    c.res = undefined;
    c.res = new Response(JSON.stringify(errorBody(e.status, e.message, c.var.requestId)), { status: e.status, headers });
  };
}

/**
 * A miner's own refusal (400/413/422, passed through by the relay in OpenAI's shape) in
 * Anthropic's shape, with the relay's headers (request id, miner hotkey).
 */
export async function reshapeMinerError(res: Response, requestId: string): Promise<Response> {
  const text = await res.text();
  let message = `The miner refused the request (HTTP ${res.status}).`;
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObj(parsed) && isObj(parsed.error) && typeof parsed.error.message === "string") message = `The miner refused the request: ${parsed.error.message}`;
  } catch {
    /* keep the generic message */
  }
  const headers = new Headers(res.headers);
  headers.set("content-type", "application/json");
  headers.delete("content-length");
  return new Response(JSON.stringify(errorBody(res.status, message, requestId)), { status: res.status, headers });
}
