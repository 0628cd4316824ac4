/**
 * Mounts the web app (sign-in, subscriber pages, operator console) on the gateway. Its modules
 * (pages, JSX, OIDC, sessions) are imported on the first web request only, so the API's request
 * path never evaluates them: the inference routes' cold start is unchanged (docs/web-app.md has
 * the bundle figures).
 */
import type { Context, Hono } from "hono";
import type { AppEnv } from "../app-env";

export const WEB_PATHS = ["/app", "/app/*", "/auth/*", "/console", "/console/*"] as const;

type WebFetch = (request: Request, env: AppEnv["Bindings"], ctx: ExecutionContext | undefined) => Promise<Response>;
let loaded: Promise<WebFetch> | null = null;

function executionContext(c: Context<AppEnv>): ExecutionContext | undefined {
  try {
    return c.executionCtx;
  } catch {
    return undefined; // no context outside a real invocation (some tests)
  }
}

export function registerWebRoutes(app: Hono<AppEnv>): void {
  const serve = async (c: Context<AppEnv>) => {
    loaded ??= import("./web-app").then((m) => m.serveWeb);
    const serveWeb = await loaded;
    return serveWeb(c.req.raw, c.env, executionContext(c));
  };
  for (const path of WEB_PATHS) app.all(path, serve);

  // The API reference: the document, and a page rendering it (both built on first use).
  app.get("/openapi.json", async (c) => {
    const { openApiDocument } = await import("../../api-spec/openapi");
    return c.json(openApiDocument(c.var.config.publicBaseUrl ?? new URL(c.req.url).origin));
  });
  app.get("/docs/api", async (c) => {
    const [{ openApiDocument }, { renderApiDocs }] = await Promise.all([import("../../api-spec/openapi"), import("./api-docs")]);
    const html = renderApiDocs(openApiDocument(null));
    return c.html(html, 200, {
      "content-security-policy": "default-src 'none'; style-src 'self'; base-uri 'none'; frame-ancestors 'none'",
      "x-frame-options": "DENY",
      "x-content-type-options": "nosniff",
    });
  });
}
