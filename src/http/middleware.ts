/**
 * Cross-cutting middlewares, each a small factory returning a named function.
 */
import type { MiddlewareHandler } from "hono";
import { authenticate, authFailure } from "../auth/authenticate";
import { ConfigError } from "../config/gateway";
import { config, type Config, type Env } from "../env";
import { GatewayError, invalidRequest } from "../errors";
import { timingSafeEqual } from "../lib/crypto";
import type { AppEnv } from "./app-env";

/**
 * Workers have no start hook, so configuration is read on the first request of an isolate (and
 * cached); while a variable is invalid, every route, /health included, answers this 500 naming it,
 * and the log says the same on each request.
 */
function validConfig(env: Env): Config {
  try {
    return config(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`configuration error: ${err.message}`);
    throw new GatewayError(500, "server_error", "configuration_error", `The gateway is misconfigured: ${err.message}.`);
  }
}

/** Gives every request an id (echoed as `x-request-id`) and the parsed config. */
export function requestContext(): MiddlewareHandler<AppEnv> {
  return async function requestContextMiddleware(c, next) {
    const requestId = `req_${crypto.randomUUID().replace(/-/g, "")}`;
    c.set("requestId", requestId);
    c.set("config", validConfig(c.env));
    await next();
    c.res.headers.set("x-request-id", requestId);
  };
}

/**
 * Refuses a path that is not valid percent-encoding (`/admin/prices/%E0%A4%A`) with a 400. Hono
 * leaves such a parameter undecoded, so a route decoding it would throw a URIError (a 500).
 */
export function requireWellFormedPath(): MiddlewareHandler<AppEnv> {
  return async function requireWellFormedPathMiddleware(c, next) {
    const path = new URL(c.req.url).pathname;
    try {
      decodeURIComponent(path);
    } catch {
      throw invalidRequest("The request path is not valid percent-encoded UTF-8.", null, "invalid_path");
    }
    await next();
  };
}

/** Resolves the caller to a subscriber or refuses with 401. */
export function requireSubscriber(): MiddlewareHandler<AppEnv> {
  return async function requireSubscriberMiddleware(c, next) {
    const result = await authenticate(c.req.raw.headers, c.env, c.var.config);
    if (result.kind !== "ok") throw authFailure(result);
    c.set("principal", result.principal);
    await next();
  };
}

/** Admin routes: bearer ADMIN_TOKEN. Without a configured token they do not exist (404). */
export function requireAdmin(): MiddlewareHandler<AppEnv> {
  return async function requireAdminMiddleware(c, next) {
    const expected = c.var.config.adminToken;
    if (!expected) throw new GatewayError(404, "not_found_error", "not_found", "Not found.");
    const got = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1] ?? "";
    if (!timingSafeEqual(got, expected)) {
      throw new GatewayError(401, "authentication_error", "invalid_admin_token", "Invalid admin token.");
    }
    await next();
  };
}
