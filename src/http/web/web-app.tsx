/**
 * The web Worker's router (src/web-worker.ts): the API reference, then the web app's middlewares
 * (configuration, security headers, CSRF, session), the sign-in, subscriber and operator routes,
 * and HTML error pages (the same GatewayError model as the API, rendered for people).
 */
import { Hono } from "hono";
import { ConfigError, webWorkerConfig } from "../../config/web";
import type { WebWorkerEnv } from "../../env";
import { GatewayError, internalError, notFound } from "../../errors";
import { registerApiDocsRoutes } from "./api-docs-routes";
import { registerAppRoutes } from "./app-routes";
import { registerAuthRoutes } from "./auth-routes";
import { registerConsoleRoutes } from "./console-routes";
import { csrfProtection, webSetup } from "./guards";
import { ErrorPage } from "./views/layout";
import type { WebEnv } from "./web-env";

const web = new Hono<WebEnv>();

// Registered before the web app's middlewares, so they need no SESSION_SECRET, session or CSRF cookie.
registerApiDocsRoutes(web);
// Files under /static are served by Workers Static Assets before this code runs; this only answers
// a request that reached the code anyway (a missing file: the asset binding's own 404).
web.get("/static/*", (c) => c.env.ASSETS.fetch(c.req.raw));

web.use(webSetup());
web.use(csrfProtection());
registerAuthRoutes(web);
registerAppRoutes(web);
registerConsoleRoutes(web);

web.notFound((c) => {
  const err = notFound("This page does not exist.");
  return c.html(<ErrorPage status={404} message={err.message} session={c.var.session ?? null} csrf={c.var.csrf ?? ""} />, 404);
});

web.onError((err, c) => {
  const known = err instanceof GatewayError ? err : null;
  // Never the error's detail or any request data in the page; the log gets the stack, not secrets.
  if (!known) console.error(`web: unhandled error on ${c.req.method} ${c.req.path}`, err);
  const e = known ?? internalError();
  const page = <ErrorPage status={e.status} message={e.message} session={c.var.session ?? null} csrf={c.var.csrf ?? ""} />;
  // webSetup adds the security headers after next(); an error before it (no config) still gets them.
  return c.html(page, e.status as 400, {
    ...e.headers,
    "content-security-policy": "default-src 'none'; style-src 'self'; frame-ancestors 'none'",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
  });
});

/**
 * Workers have no start hook: the configuration is read on the first request (and cached). While a
 * variable is invalid every request answers a 500 `configuration_error` naming it, in the API's
 * error shape as the gateway answers its own, and the log says the same.
 */
function misconfigured(err: ConfigError): Response {
  console.error(`web worker configuration error: ${err.message}`);
  const requestId = `req_${crypto.randomUUID().replace(/-/g, "")}`;
  const e = new GatewayError(500, "server_error", "configuration_error", `The web app is misconfigured: ${err.message}.`);
  return Response.json(e.toBody(), { status: 500, headers: { "x-request-id": requestId, "cache-control": "no-store" } });
}

export async function serveWeb(request: Request, env: WebWorkerEnv, ctx: ExecutionContext | undefined): Promise<Response> {
  try {
    webWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return misconfigured(err);
    throw err;
  }
  return web.fetch(request, env, ctx);
}
