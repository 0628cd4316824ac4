/**
 * The HTTP application: middlewares, routes, and the one place errors become responses.
 */
import { Hono } from "hono";
import { errorBody } from "../dialects/anthropic/errors";
import { GatewayError, internalError, methodNotAllowed, notFound, websocketNotSupported } from "../errors";
import type { AppEnv } from "./app-env";
import { requestContext, requireWellFormedPath } from "./middleware";
import { registerAdminRoutes } from "./routes/admin";
import { registerAdminBillingRoutes } from "./routes/admin-billing";
import { registerAdminDevRoutes } from "./routes/admin-dev";
import { registerHealthRoutes } from "./routes/health";
import { registerInferenceRoutes } from "./routes/inference";
import { registerMessagesRoutes } from "./routes/messages";
import { registerModelRoutes } from "./routes/models";
import { registerResponsesRoutes } from "./routes/responses";
import { registerSettlementRoutes } from "./routes/settlements";
import { registerAdminRoutingRoutes } from "./routes/admin-routing";
import { registerUsageRoutes } from "./routes/usage";
import { registerWebhookRoutes } from "./routes/webhooks";
import { registerWebForwarding } from "./routes/web-forward";

/** Paths that exist, with their methods: anything else on them is a 405, not a 404. */
const ALLOWED_METHODS: Record<string, readonly string[]> = {
  "/v1/chat/completions": ["POST"],
  "/v1/completions": ["POST"],
  "/v1/embeddings": ["POST"],
  "/v1/messages": ["POST"],
  "/v1/messages/count_tokens": ["POST"],
  "/v1/responses": ["POST"],
  "/v1/models": ["GET"],
  "/v1/usage": ["GET"],
  "/v1/settlements": ["GET"],
  "/admin/settlements/run": ["POST"],
  "/health": ["GET"],
  "/webhooks/stripe": ["POST"],
  "/openapi.json": ["GET"],
};

export function createApp(): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  // The web app's paths go to the web Worker before any API middleware runs (routes/web-forward.ts).
  registerWebForwarding(app);
  app.use(requestContext());
  app.use(requireWellFormedPath());
  // Some agents try a WebSocket first (Codex's built-in provider); this gateway speaks HTTP + SSE.
  app.use(async function refuseWebSocketUpgrades(c, next) {
    if (c.req.header("upgrade")?.toLowerCase() === "websocket") throw websocketNotSupported();
    await next();
  });

  registerHealthRoutes(app);
  registerInferenceRoutes(app);
  registerMessagesRoutes(app);
  registerResponsesRoutes(app);
  registerModelRoutes(app);
  registerUsageRoutes(app);
  registerAdminRoutes(app);
  registerAdminRoutingRoutes(app);
  registerAdminBillingRoutes(app);
  registerAdminDevRoutes(app);
  registerSettlementRoutes(app);
  registerWebhookRoutes(app);

  for (const [path, methods] of Object.entries(ALLOWED_METHODS)) {
    app.all(path, (c) => {
      if (c.req.method === "OPTIONS") return c.body(null, 204, { allow: methods.join(", ") });
      throw methodNotAllowed(c.req.method, methods);
    });
  }

  app.notFound((c) => {
    const path = new URL(c.req.url).pathname;
    const err = notFound(`Unknown route: ${c.req.method} ${path}`, "unknown_route");
    // Anthropic SDKs parse errors under /v1/messages in Anthropic's shape, unknown routes included.
    if (path === "/v1/messages" || path.startsWith("/v1/messages/")) {
      return c.json(errorBody(404, err.message, c.var.requestId), 404, { "x-request-id": c.var.requestId ?? "" });
    }
    return c.json(err.toBody(), 404, { "x-request-id": c.var.requestId ?? "" });
  });

  app.onError((err, c) => {
    const known = err instanceof GatewayError ? err : null;
    if (!known) console.error(`unhandled error on ${c.req.method} ${c.req.path} (${c.var.requestId})`, err);
    const e = known ?? internalError();
    return c.json(e.toBody(), e.status as 400, { ...e.headers, "x-request-id": c.var.requestId ?? "" });
  });

  return app;
}
