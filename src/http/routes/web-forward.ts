/**
 * The web app's paths, forwarded unchanged to the web Worker (src/web-worker.ts) over the WEB
 * service binding: the pages, sign-in, the operator console, their static files, /openapi.json and
 * /docs/api. The gateway keeps no web code, so an API isolate never parses any (docs/web-app.md,
 * "Its own Worker"); the request (method, URL, headers, cookies, body) and the answer pass through
 * as they are, so one URL serves both.
 *
 * Registered before the gateway's middlewares: a web request costs the gateway one route match
 * and one service-binding call, and the web Worker answers its own errors.
 */
import type { Hono } from "hono";
import type { AppEnv } from "../app-env";

/** Paths of every method. */
export const WEB_PATHS = ["/app", "/app/*", "/auth/*", "/console", "/console/*", "/static/*"] as const;
/** GET only: any other method on /openapi.json is the gateway's 405 (it is an API operation). */
export const WEB_DOCUMENT_PATHS = ["/openapi.json", "/docs/api"] as const;

export function registerWebForwarding(app: Hono<AppEnv>): void {
  const forward = (c: { env: AppEnv["Bindings"]; req: { raw: Request } }) => c.env.WEB.fetch(c.req.raw);
  for (const path of WEB_PATHS) app.all(path, forward);
  for (const path of WEB_DOCUMENT_PATHS) app.get(path, forward);
}
