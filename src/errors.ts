/**
 * The one error model. Everything the gateway refuses is a GatewayError; `app.onError` turns it
 * into the OpenAI shape `{error:{message,type,code,param}}`. Anything else becomes a generic 500
 * whose detail goes to the log, never to the client.
 */

export type OpenAIErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  | "insufficient_quota"
  | "api_error"
  | "server_error";

export interface OpenAIErrorBody {
  error: { message: string; type: OpenAIErrorType; code: string | null; param: string | null };
}

export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly type: OpenAIErrorType,
    readonly code: string,
    message: string,
    readonly param: string | null = null,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.name = "GatewayError";
  }

  toBody(): OpenAIErrorBody {
    return { error: { message: this.message, type: this.type, code: this.code, param: this.param } };
  }
}

export const invalidRequest = (message: string, param: string | null = null, code = "invalid_request") =>
  new GatewayError(400, "invalid_request_error", code, message, param);

export const unauthorized = (message: string, code = "invalid_api_key") =>
  new GatewayError(401, "authentication_error", code, message, null, { "www-authenticate": 'Bearer realm="gateway"' });

export const notFound = (message: string, code = "not_found", param: string | null = null) =>
  new GatewayError(404, "not_found_error", code, message, param);

export const modelNotFound = (model: string) =>
  new GatewayError(404, "not_found_error", "model_not_found", `The model '${model}' does not exist or no miner serves it right now.`, "model");

export const methodNotAllowed = (method: string, allowed: readonly string[]) =>
  new GatewayError(405, "invalid_request_error", "method_not_allowed", `Method ${method} is not allowed here. Allowed: ${allowed.join(", ")}.`, null, {
    allow: allowed.join(", "),
  });

export const payloadTooLarge = (limit: number) =>
  new GatewayError(413, "invalid_request_error", "request_too_large", `Request body exceeds the limit of ${limit} bytes.`);

export const unsupportedMediaType = (got: string | null) =>
  new GatewayError(
    415,
    "invalid_request_error",
    "unsupported_media_type",
    `Content-Type must be application/json${got ? `, got '${got}'` : ""}.`,
  );

/** No miner produced a usable answer. `kind` picks the status a client can act on. */
export const upstreamFailure = (kind: "bad_gateway" | "unavailable" | "timeout" | "request_failed", detail: string) => {
  switch (kind) {
    case "request_failed":
      return new GatewayError(
        502,
        "api_error",
        "request_failed_on_every_miner",
        `Every miner tried failed on this request in the same way, so the request itself is the likely cause (check unusual or very large fields): ${detail}`,
      );
    case "bad_gateway":
      return new GatewayError(502, "api_error", "miner_error", `No miner returned a valid answer: ${detail}`);
    case "unavailable":
      return new GatewayError(503, "api_error", "no_miner_available", `No miner is available: ${detail}`, null, { "retry-after": "1" });
    case "timeout":
      return new GatewayError(504, "api_error", "miner_timeout", `Miners did not answer in time: ${detail}`);
  }
};

/** A WebSocket upgrade: every API here is plain HTTP, streamed with SSE. */
export const websocketNotSupported = () =>
  new GatewayError(400, "invalid_request_error", "websocket_not_supported", "WebSocket upgrades are not supported; send an HTTP POST (with stream:true for SSE).");

export const internalError = () =>
  new GatewayError(500, "server_error", "internal_error", "The gateway hit an internal error. It has been logged.");

/**
 * A per-minute or concurrency limit of the caller's plan is reached. `Retry-After` (seconds,
 * rounded up) and `retry-after-ms` (which the official OpenAI clients honour) say when the same
 * request would be admitted.
 */
export const rateLimited = (
  code: "rate_limit_exceeded" | "token_rate_limit_exceeded" | "concurrency_limit_exceeded",
  message: string,
  retryAfterMs: number,
) =>
  new GatewayError(429, "rate_limit_error", code, message, null, {
    "retry-after": String(Math.max(1, Math.ceil(retryAfterMs / 1000))),
    "retry-after-ms": String(Math.max(0, Math.ceil(retryAfterMs))),
  });

/** The plan's allowance (and any credit) cannot cover the request's worst-case cost. */
export const insufficientQuota = (message: string) => new GatewayError(402, "insufficient_quota", "insufficient_quota", message);

/** The caller's plan does not include the requested model. */
export const modelNotInPlan = (model: string, planId: string) =>
  new GatewayError(403, "permission_error", "model_not_in_plan", `The model '${model}' is not included in your plan '${planId}'.`, "model");

/** The same error with more response headers (e.g. the rate-limit headers of an admitted request). */
export const withHeaders = (err: GatewayError, headers: Readonly<Record<string, string>>) =>
  new GatewayError(err.status, err.type, err.code, err.message, err.param, { ...headers, ...err.headers });
