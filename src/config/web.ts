/**
 * The web Worker's configuration (src/web-worker.ts, wrangler.web.toml): every variable it reads
 * (src/config/variables.ts), validated in one place, once per env object. A bad value is a
 * ConfigError naming the variable; the web Worker answers every request with a 500
 * `configuration_error` naming it and logs it (docs/configuration.md). The gateway reads none of
 * these: a misconfigured web app never touches the API.
 */
import { ConfigError, integer, text, url } from "./parse";
import type { WebVariable } from "./variables";

export { ConfigError } from "./parse";

/** The web Worker's variables as it sees them: optional strings, validated here. */
export type WebVars = { readonly [K in WebVariable]?: string };

/** The web app proper; null without SESSION_SECRET (every page answers 404). */
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
  /** ADMIN_TOKEN (secret): the console's sign-in; null: no console. */
  adminToken: string | null;
}

export interface WebWorkerConfig {
  /** PUBLIC_BASE_URL without a trailing slash: links, redirect URIs, snippets, the OpenAPI document's server; null: the request's own origin. */
  publicBaseUrl: string | null;
  web: WebConfig | null;
  /** JWT_ISSUER of the API: a sign-in through that same provider links to the JWT subject's subscriber. */
  jwtIssuer: string | null;
  /** MINER_CACHE_TTL_MS, as the gateway reads it: the console's miner list is cached as long. */
  minerCacheTtlMs: number;
}

const MIN_SESSION_SECRET = 32;

const withoutTrailingSlash = (u: string) => u.replace(/\/+$/, "");

/**
 * The web app exists only with a SESSION_SECRET; the OpenID Connect sign-in only with all three
 * OIDC_* values (some but not all is an error naming the first one missing); the local dev
 * sign-in only when ENVIRONMENT is "development" (and, checked per request, only on loopback).
 */
function webApp(env: WebVars, publicBaseUrl: string | null): WebConfig | null {
  const secret = env.SESSION_SECRET ?? "";
  if (secret === "") return null;
  if (secret.length < MIN_SESSION_SECRET) throw new ConfigError("SESSION_SECRET", `must have at least ${MIN_SESSION_SECRET} characters`);
  const dev = env.ENVIRONMENT === "development";
  const issuer = url("OIDC_ISSUER", env.OIDC_ISSUER, ["https:", "http:"]);
  const clientId = text(env.OIDC_CLIENT_ID);
  const clientSecret = text(env.OIDC_CLIENT_SECRET);
  let oidc: WebConfig["oidc"] = null;
  if (issuer !== undefined || clientId !== undefined || clientSecret !== undefined) {
    if (issuer === undefined) throw new ConfigError("OIDC_ISSUER", "is required with OIDC_CLIENT_ID and OIDC_CLIENT_SECRET");
    if (clientId === undefined) throw new ConfigError("OIDC_CLIENT_ID", "is required with OIDC_ISSUER");
    if (clientSecret === undefined) throw new ConfigError("OIDC_CLIENT_SECRET", "is required with OIDC_ISSUER");
    oidc = { issuer: withoutTrailingSlash(issuer), clientId, clientSecret };
  }
  const stripeKey = text(env.STRIPE_SECRET_KEY);
  const stripeBase = url("STRIPE_API_BASE", env.STRIPE_API_BASE, ["https:", "http:"]) ?? "https://api.stripe.com";
  return {
    sessionSecret: secret,
    sessionTtlSeconds: integer("WEB_SESSION_TTL_SECONDS", env.WEB_SESSION_TTL_SECONDS, 12 * 3600, 1),
    secureCookies: !dev,
    devSignIn: dev,
    publicBaseUrl,
    oidc,
    stripe: stripeKey ? { secretKey: stripeKey, apiBase: withoutTrailingSlash(stripeBase) } : null,
    signupsPerHour: integer("SIGNUPS_PER_HOUR", env.SIGNUPS_PER_HOUR, 20, 1),
    keysPerHour: integer("KEYS_PER_HOUR", env.KEYS_PER_HOUR, 20, 1),
    adminToken: env.ADMIN_TOKEN || null,
  };
}

/** Pure: reads the web Worker's variables. Throws ConfigError. */
export function parseWebConfig(env: WebVars): WebWorkerConfig {
  const baseUrl = url("PUBLIC_BASE_URL", env.PUBLIC_BASE_URL, ["https:", "http:"]);
  const publicBaseUrl = baseUrl === undefined ? null : withoutTrailingSlash(baseUrl);
  return {
    publicBaseUrl,
    web: webApp(env, publicBaseUrl),
    jwtIssuer: text(env.JWT_ISSUER) ?? null,
    minerCacheTtlMs: integer("MINER_CACHE_TTL_MS", env.MINER_CACHE_TTL_MS, 5_000),
  };
}

const parsed = new WeakMap<WebVars, WebWorkerConfig>();

/** Parsed once per isolate per env object. Throws ConfigError. */
export function webWorkerConfig(env: WebVars): WebWorkerConfig {
  let cfg = parsed.get(env);
  if (!cfg) {
    cfg = parseWebConfig(env);
    parsed.set(env, cfg);
  }
  return cfg;
}
