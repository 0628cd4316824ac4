/**
 * The web app's configuration, read once per env object. The app exists only with a
 * SESSION_SECRET; the OpenID Connect sign-in only with all three OIDC_* values; the local dev
 * sign-in only when ENVIRONMENT is "development" (and, checked per request, only on loopback).
 */
import type { Env } from "../env";

export interface WebConfig {
  sessionSecret: string;
  sessionTtlSeconds: number;
  /** Cookies carry `Secure` everywhere except local development. */
  secureCookies: boolean;
  devSignIn: boolean;
  /** Explicit public origin, or null: use the request's origin (dev). */
  publicBaseUrl: string | null;
  oidc: { issuer: string; clientId: string; clientSecret: string } | null;
  stripe: { secretKey: string; apiBase: string } | null;
  signupsPerHour: number;
  keysPerHour: number;
  adminToken: string | null;
}

const MIN_SECRET = 32;
const parsed = new WeakMap<Env, WebConfig | null>();

function positiveInt(v: string | undefined, fallback: number, name: string): number {
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`Configuration ${name} must be a positive integer, got '${v}'`);
  return n;
}

/** null: the web app is off (no SESSION_SECRET). */
export function webConfig(env: Env): WebConfig | null {
  if (parsed.has(env)) return parsed.get(env) ?? null;
  let cfg: WebConfig | null = null;
  const secret = env.SESSION_SECRET ?? "";
  if (secret !== "") {
    if (secret.length < MIN_SECRET) throw new Error(`SESSION_SECRET must have at least ${MIN_SECRET} characters`);
    const dev = env.ENVIRONMENT === "development";
    cfg = {
      sessionSecret: secret,
      sessionTtlSeconds: positiveInt(env.WEB_SESSION_TTL_SECONDS, 12 * 3600, "WEB_SESSION_TTL_SECONDS"),
      secureCookies: !dev,
      devSignIn: dev,
      publicBaseUrl: env.PUBLIC_BASE_URL ? env.PUBLIC_BASE_URL.replace(/\/+$/, "") : null,
      oidc:
        env.OIDC_ISSUER && env.OIDC_CLIENT_ID && env.OIDC_CLIENT_SECRET
          ? { issuer: env.OIDC_ISSUER.replace(/\/+$/, ""), clientId: env.OIDC_CLIENT_ID, clientSecret: env.OIDC_CLIENT_SECRET }
          : null,
      stripe: env.STRIPE_SECRET_KEY ? { secretKey: env.STRIPE_SECRET_KEY, apiBase: (env.STRIPE_API_BASE || "https://api.stripe.com").replace(/\/+$/, "") } : null,
      signupsPerHour: positiveInt(env.SIGNUPS_PER_HOUR, 20, "SIGNUPS_PER_HOUR"),
      keysPerHour: positiveInt(env.KEYS_PER_HOUR, 20, "KEYS_PER_HOUR"),
      adminToken: env.ADMIN_TOKEN || null,
    };
  }
  parsed.set(env, cfg);
  return cfg;
}

/** The origin pages and snippets use: PUBLIC_BASE_URL, else the request's own origin. */
export function baseUrl(cfg: WebConfig, requestUrl: string): string {
  return cfg.publicBaseUrl ?? new URL(requestUrl).origin;
}

/** The dev sign-in needs development mode and a loopback host: it can never be reached in production. */
export function devSignInAllowed(cfg: WebConfig, requestUrl: string): boolean {
  const host = new URL(requestUrl).hostname;
  return cfg.devSignIn && (host === "127.0.0.1" || host === "localhost" || host === "[::1]");
}
