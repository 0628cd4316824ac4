/**
 * The web app's router, loaded lazily by src/http/web/register.ts: security headers, CSRF and
 * session middlewares, the sign-in, subscriber and operator routes, and HTML error pages (the
 * same GatewayError model as the API, rendered for people).
 */
import { Hono } from "hono";
import type { Env } from "../../env";
import { GatewayError, internalError, notFound } from "../../errors";
import { registerAppRoutes } from "./app-routes";
import { registerAuthRoutes } from "./auth-routes";
import { registerConsoleRoutes } from "./console-routes";
import { csrfProtection, webSetup } from "./guards";
import { ErrorPage } from "./views/layout";
import type { WebEnv } from "./web-env";

const web = new Hono<WebEnv>();

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

export function serveWeb(request: Request, env: Env, ctx: ExecutionContext | undefined): Promise<Response> {
  return Promise.resolve(web.fetch(request, env, ctx));
}
