/** POST /v1/chat/completions, /v1/completions, /v1/embeddings: validate, then relay to a miner. */
import type { Context, Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { readJsonObject, type JsonObject } from "../http/body";
import { requireSubscriber } from "../http/middleware";
import { relayWithBudget } from "../dialects/budget";
import { affinityKey, affinitySource } from "../dialects/session";
import type { RelayContext } from "../routing/relay";
import type { RouteHint } from "../routing/score";
import { validateChat, validateCompletion, validateEmbeddings, type InferenceRequest } from "../validation/requests";

type Validator = (body: JsonObject) => InferenceRequest;

/** The relay context of an authenticated subscriber request; shared with the dialect routes. */
export function relayContextFrom(c: Context<AppEnv>, affinityKey?: string): RelayContext {
  const { principal } = c.var;
  return {
    env: c.env,
    cfg: c.var.config,
    requestId: c.var.requestId,
    subscriberId: principal.subscriberId,
    apiKeyId: principal.apiKeyId,
    kind: "subscriber",
    clientSignal: c.req.raw.signal,
    waitUntil: (p) => c.executionCtx.waitUntil(p),
    affinityKey,
    hint: routeHint(c.req.header("x-gateway-route")),
  };
}

/** `x-gateway-route: latency | throughput | balanced` picks what routing favours; anything else is balanced. */
function routeHint(value: string | undefined): RouteHint {
  return value === "latency" || value === "throughput" ? value : "balanced";
}

function inferenceHandler(validate: Validator) {
  return async function handleInference(c: Context<AppEnv>): Promise<Response> {
    const req = validate(await readJsonObject(c.req.raw, c.var.config.maxBodyBytes));
    const source = affinitySource(c.req.raw.headers, req.body, req.body.messages);
    // Budget headers, then the subscriber's plan (one limits reservation, settled from the usage event).
    return relayWithBudget(c, req, relayContextFrom(c, await affinityKey(c.var.principal.subscriberId, source)));
  };
}

export function registerInferenceRoutes(app: Hono<AppEnv>): void {
  const auth = requireSubscriber();
  app.post("/v1/chat/completions", auth, inferenceHandler(validateChat));
  app.post("/v1/completions", auth, inferenceHandler(validateCompletion));
  app.post("/v1/embeddings", auth, inferenceHandler(validateEmbeddings));
}
