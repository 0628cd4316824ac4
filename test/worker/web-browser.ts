/**
 * A browser of one for the workerd web tests: keeps cookies, sends the origin on form posts, and
 * calls the web Worker's code (serveWeb, what src/web-worker.ts serves) in this isolate with the
 * suite's D1 and Durable Objects plus a SESSION_SECRET (and whatever variables a test sets), so each
 * test can choose ENVIRONMENT, TTLs and the like. Requests through the gateway (SELF) reach the real
 * web Worker instead, which runs here without SESSION_SECRET (vitest.workers.config.ts).
 */
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import type { WebWorkerEnv } from "../../src/env";
import { serveWeb } from "../../src/http/web/web-app";
import { csrfTokenFor } from "../../src/web/csrf";

export const SECRET = "web-session-test-secret-0123456789abcdef";

/**
 * The web Worker's env from this suite's bindings: its D1 and Durable Objects are the gateway's;
 * its static files are the real web Worker's (reached over WEB, which serves the same directory).
 */
export function webEnv(vars: Record<string, string>): WebWorkerEnv {
  return { DB: env.DB, LIMITS: env.LIMITS, MINER_HEALTH: env.MINER_HEALTH, ASSETS: env.WEB, ENVIRONMENT: "test", ADMIN_TOKEN: env.ADMIN_TOKEN, ...vars };
}

export interface Visit {
  res: Response;
  html: string;
  cookies: Map<string, string>;
  setCookies: string[];
}

export function browser(origin: string, vars: Record<string, string>) {
  const jar = new Map<string, string>();
  const request = async (method: string, path: string, form?: Record<string, string>, extraHeaders: Record<string, string> = {}): Promise<Visit> => {
    const headers: Record<string, string> = { cookie: [...jar].map(([k, v]) => `${k}=${v}`).join("; ") };
    if (form) Object.assign(headers, { origin, "content-type": "application/x-www-form-urlencoded" });
    Object.assign(headers, extraHeaders);
    const ctx = createExecutionContext();
    const res = await serveWeb(new Request(`${origin}${path}`, { method, headers, body: form ? new URLSearchParams(form) : undefined, redirect: "manual" }), webEnv({ SESSION_SECRET: SECRET, ...vars }), ctx);
    const html = await res.text();
    await waitOnExecutionContext(ctx);
    const setCookies = (res.headers as Headers & { getSetCookie(): string[] }).getSetCookie();
    for (const c of setCookies) {
      const [pair] = c.split(";");
      const [name, value] = (pair ?? "").split("=") as [string, string];
      if (/max-age=0/i.test(c) || value === "") jar.delete(name);
      else jar.set(name, value);
    }
    return { res, html, cookies: jar, setCookies };
  };
  const csrf = (html: string) => /name="_csrf" value="([^"]+)"/.exec(html)?.[1] ?? "";
  /** The token a form of this site would carry (pages without a form render none). */
  const validCsrf = () => csrfTokenFor(SECRET, jar.get("gw_csrf") ?? "");
  return { request, csrf, validCsrf, jar };
}
