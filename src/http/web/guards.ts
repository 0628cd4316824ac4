/**
 * The web app's middlewares: configuration, security headers, the CSRF cookie, the session, and
 * the checks every state-changing request passes (same origin, then the double-submit token).
 */
import type { Context, MiddlewareHandler } from "hono";
import { getCookie, setCookie } from "hono/cookie";
import { GatewayError } from "../../errors";
import { baseUrl, webConfig, type WebConfig } from "../../web/config";
import { csrfTokenFor, csrfValid, newCsrfCookieValue } from "../../web/csrf";
import { resolveSession } from "../../web/sessions";
import type { WebEnv } from "./web-env";

export const SESSION_COOKIE = "gw_session";
export const CSRF_COOKIE = "gw_csrf";
export const SIGNIN_COOKIE = "gw_signin";

// No inline script or style anywhere: every script is a file under /static (Workers Static Assets).
const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join("; ");

export function cookieOptions(cfg: WebConfig, maxAgeSeconds: number, path = "/") {
  return { httpOnly: true, secure: cfg.secureCookies, sameSite: "Lax" as const, path, maxAge: maxAgeSeconds };
}

export function webSetup(): MiddlewareHandler<WebEnv> {
  return async function webSetupMiddleware(c, next) {
    const cfg = webConfig(c.env);
    if (!cfg) throw new GatewayError(404, "not_found_error", "web_app_disabled", "The web app is not configured on this gateway (SESSION_SECRET is unset).");
    c.set("web", cfg);
    c.set("base", baseUrl(cfg, c.req.url));
    let csrfCookie = getCookie(c, CSRF_COOKIE);
    if (!csrfCookie || csrfCookie.length < 16) {
      csrfCookie = newCsrfCookieValue();
      setCookie(c, CSRF_COOKIE, csrfCookie, cookieOptions(cfg, 30 * 86_400));
    }
    c.set("csrf", await csrfTokenFor(cfg.sessionSecret, csrfCookie));
    c.set("session", await resolveSession(c.env.DB, cfg, getCookie(c, SESSION_COOKIE)));
    await next();
    const h = c.res.headers;
    h.set("content-security-policy", CSP);
    h.set("x-frame-options", "DENY");
    h.set("x-content-type-options", "nosniff");
    h.set("referrer-policy", "same-origin");
    h.set("cross-origin-opener-policy", "same-origin");
    h.set("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()");
    if (!h.has("cache-control")) h.set("cache-control", "no-store");
  };
}

const csrfRefused = () => new GatewayError(403, "permission_error", "csrf_failed", "This form expired or did not come from this site. Reload the page and try again.");

/** Same-origin check: Origin (or, without it, Sec-Fetch-Site) must say this site sent the request. */
function sameOrigin(c: Context<WebEnv>): boolean {
  const origin = c.req.header("origin");
  if (origin !== undefined && origin !== "null") return origin === new URL(c.req.url).origin || origin === c.var.base;
  if (origin === "null") return false;
  const site = c.req.header("sec-fetch-site");
  return site === undefined || site === "same-origin" || site === "none";
}

/** Every non-GET request: same origin, and a form `_csrf` field matching the CSRF cookie. */
export function csrfProtection(): MiddlewareHandler<WebEnv> {
  return async function csrfMiddleware(c, next) {
    if (c.req.method === "GET" || c.req.method === "HEAD") return next();
    if (!sameOrigin(c)) throw csrfRefused();
    const type = c.req.header("content-type") ?? "";
    if (!/^application\/x-www-form-urlencoded|^multipart\/form-data/i.test(type)) throw csrfRefused();
    const form = await c.req.parseBody();
    const submitted = typeof form._csrf === "string" ? form._csrf : undefined;
    if (!(await csrfValid(c.var.web.sessionSecret, getCookie(c, CSRF_COOKIE), submitted))) throw csrfRefused();
    await next();
  };
}

/** A form's text field, trimmed; undefined when absent or blank. */
export async function formField(c: Context<WebEnv>, name: string, maxLength = 200): Promise<string | undefined> {
  const form = await c.req.parseBody();
  const v = form[name];
  if (typeof v !== "string") return undefined;
  const t = v.trim();
  if (t === "") return undefined;
  if (t.length > maxLength) throw new GatewayError(400, "invalid_request_error", "invalid_value", `'${name}' is longer than ${maxLength} characters.`, name);
  return t;
}
