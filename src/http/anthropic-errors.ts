/**
 * Every refusal on the Messages routes in Anthropic's shape, so auth, body-limit and pipeline
 * errors all come out the way Anthropic SDKs and Claude Code parse them. The error itself is the
 * one GatewayError model; this middleware only reshapes the finished error response (headers kept).
 */
import type { MiddlewareHandler } from "hono";
import { errorBody } from "../dialects/anthropic/errors";
import { GatewayError, internalError } from "../errors";
import type { AppEnv } from "./app-env";

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
