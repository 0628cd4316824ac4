/**
 * The web app's configuration: read and validated by the gateway's one configuration module
 * (src/config/gateway.ts, `Config.web`), so a bad value fails every route naming the variable.
 * The app exists only with a SESSION_SECRET.
 */
import { gatewayConfig, type WebConfig } from "../config/gateway";
import type { Env } from "../env";

export type { WebConfig };

/** null: the web app is off (no SESSION_SECRET). Parsed and validated with the rest of the gateway's configuration. */
export function webConfig(env: Env): WebConfig | null {
  return gatewayConfig(env).web;
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
