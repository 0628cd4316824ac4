/**
 * The web app's paths, forwarded unchanged to the web Worker (src/web-worker.ts) over the WEB
 * service binding: the pages, sign-in, the operator console, their static files, /openapi.json and
 * /docs/api. The gateway keeps no web code, so an API isolate never parses any (docs/web-app.md,
 * "Its own Worker"); the request (method, URL, headers, cookies, body) and the answer pass through
 * as they are, so one URL serves both. One exception: the web Worker's notice of revoked keys
 * (src/auth/revocation-notice.ts) is applied to this isolate's key cache and removed.
 *
 * Registered before the gateway's middlewares: a web request costs the gateway one route match
 * and one service-binding call, and the web Worker answers its own errors.
 */
import type { Context, Hono } from "hono";
import { evictApiKeys } from "../../auth/authenticate";
import { REVOKED_KEYS_HEADER, revokedKeyHashes } from "../../auth/revocation-notice";
import type { AppEnv } from "../app-env";

/** Paths of every method. */
export const WEB_PATHS = ["/app", "/app/*", "/auth/*", "/console", "/console/*", "/static/*"] as const;
/** GET only: any other method on /openapi.json is the gateway's 405 (it is an API operation). */
export const WEB_DOCUMENT_PATHS = ["/openapi.json", "/docs/api"] as const;

async function forward(c: Context<AppEnv>): Promise<Response> {
  const res = await c.env.WEB.fetch(c.req.raw);
  const revoked = res.headers.get(REVOKED_KEYS_HEADER);
  if (revoked === null) return res;
  evictApiKeys(revokedKeyHashes(revoked));
  const out = new Response(res.body, res);
  out.headers.delete(REVOKED_KEYS_HEADER);
  return out;
}

export function registerWebForwarding(app: Hono<AppEnv>): void {
  for (const path of WEB_PATHS) app.all(path, forward);
  for (const path of WEB_DOCUMENT_PATHS) app.get(path, forward);
}
