/**
 * The web app's configuration as its pages use it: read and validated by the web Worker's one
 * configuration module (src/config/web.ts), so a bad value fails every request naming the variable.
 * The app exists only with a SESSION_SECRET.
 */
import { webWorkerConfig, type WebConfig, type WebVars } from "../config/web";

export type { WebConfig };

/** null: the web app is off (no SESSION_SECRET). */
export function webConfig(env: WebVars): WebConfig | null {
  return webWorkerConfig(env).web;
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
