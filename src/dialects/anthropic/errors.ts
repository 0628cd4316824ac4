/**
 * Anthropic's error shape `{"type":"error","error":{"type","message"},"request_id"}`, with the
 * same status the OpenAI-shaped error would have. The gateway keeps one error model
 * (GatewayError); src/http/anthropic-errors.ts reshapes errors on the Messages routes with these.
 */
import { isObject } from "../../lib/json";
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

/** A miner's own refusal (OpenAI-shaped text, passed through by dispatch) in Anthropic's shape. */
export function minerRefusalBody(status: number, text: string, requestId: string): ErrorBody {
  let message = `The miner refused the request (HTTP ${status}).`;
  try {
    const parsed: unknown = JSON.parse(text);
    if (isObject(parsed) && isObject(parsed.error) && typeof parsed.error.message === "string") message = `The miner refused the request: ${parsed.error.message}`;
  } catch {
    /* keep the generic message */
  }
  return errorBody(status, message, requestId);
}
