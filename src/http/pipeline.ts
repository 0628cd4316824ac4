/**
 * The HTTP side of the request pipeline: reads the body under the size limit, gathers what the
 * pipeline needs from Hono's context as plain data, and serves the request with a dialect.
 */
import type { Context } from "hono";
import type { Dialect, RequestInfo } from "../pipeline/contracts";
import { gatewayDeps } from "../pipeline/deps";
import { serveInference } from "../pipeline/serve";
import type { AppEnv } from "./app-env";
import { readJsonObject } from "./body";

export function requestInfo(c: Context<AppEnv>): RequestInfo {
  const { principal } = c.var;
  return {
    requestId: c.var.requestId,
    subscriberId: principal.subscriberId,
    apiKeyId: principal.apiKeyId,
    headers: c.req.raw.headers,
    signal: c.req.raw.signal,
  };
}

/** A route handler serving one dialect through the pipeline. */
export function inferenceHandler<Ctx>(dialect: Dialect<Ctx>) {
  return async function handleInference(c: Context<AppEnv>): Promise<Response> {
    const body = await readJsonObject(c.req.raw, c.var.config.maxBodyBytes);
    const deps = gatewayDeps(c.env, c.var.config, (p) => c.executionCtx.waitUntil(p));
    return serveInference(deps, requestInfo(c), dialect, body);
  };
}
