// A misconfigured variable fails every route with a 500 that names it (Workers have no start hook:
// the first request is the start), and the chain Worker is reached over RPC only.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/http/app";
import { serveWeb } from "../../src/http/web/web-app";
import { ADMIN, call, expectOpenAIError } from "./helpers";
import { webEnv } from "./web-browser";

async function callWith(vars: Record<string, string>, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp().fetch(new Request(`http://gateway.test${path}`, init), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

/** The web Worker's code, as the gateway's WEB binding reaches it, with these variables. */
async function webCallWith(vars: Record<string, string>, path: string): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await serveWeb(new Request(`http://gateway.test${path}`), webEnv(vars), ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

const WEB_PAGES: readonly string[] = ["/app/keys", "/auth/login", "/openapi.json"];

describe("configuration errors", () => {
  it("answer 500 configuration_error on /health and every route, naming the variable, and log it", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      for (const path of ["/health", "/v1/models", "/admin/miners"]) {
        const res = await callWith({ MAX_BODY_BYTES: "lots" }, path, { headers: ADMIN });
        const body = await expectOpenAIError(res, 500, "configuration_error");
        expect(JSON.stringify(body)).toContain("MAX_BODY_BYTES");
      }
      expect(logged.mock.calls.some((args) => String(args[0]).includes("configuration error: Configuration MAX_BODY_BYTES"))).toBe(true);
    } finally {
      logged.mockRestore();
    }
  });

  it("cover the web app's and metering's variables too", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      // Each Worker validates the variables it reads: the web app's in the web Worker (every web
      // path, whatever the page), metering's in the gateway (every API route).
      for (const [vars, name, paths] of [
        [{ SESSION_SECRET: "short" }, "SESSION_SECRET", WEB_PAGES],
        [{ SESSION_SECRET: "a-session-secret-of-at-least-32-characters", KEYS_PER_HOUR: "lots" }, "KEYS_PER_HOUR", WEB_PAGES],
        [{ USAGE_BATCH_MS: "soon" }, "USAGE_BATCH_MS", ["/v1/models"]],
      ] as const) {
        for (const path of paths) {
          const call = WEB_PAGES.includes(path) ? webCallWith : callWith;
          const body = await expectOpenAIError(await call(vars, path), 500, "configuration_error");
          expect(body.message).toContain(name);
          expect(body.message).not.toContain("short");
        }
      }
    } finally {
      logged.mockRestore();
    }
  });

  it("the web Worker's variables never reach the API, and the gateway's never the web app", async () => {
    const logged = vi.spyOn(console, "error").mockImplementation(() => undefined);
    try {
      expect((await callWith({ SESSION_SECRET: "short" }, "/v1/models")).status).toBe(401);
      expect((await webCallWith({ USAGE_BATCH_MS: "soon" } as Record<string, string>, "/openapi.json")).status).toBe(200);
    } finally {
      logged.mockRestore();
    }
  });

  it("a valid configuration serves as before", async () => {
    expect((await callWith({ MAX_BODY_BYTES: "2048" }, "/v1/settlements")).status).toBe(200);
  });
});

describe("the chain Worker over RPC", () => {
  it("is reported unavailable (503) when its entrypoint cannot answer", async () => {
    await expectOpenAIError(await call("/admin/chain/sync", { method: "POST", headers: ADMIN }), 503, "chain_worker_unavailable");
    await expectOpenAIError(
      await call("/admin/chain/scheduled", { method: "POST", headers: ADMIN, body: JSON.stringify({ cron: "*/5 * * * *" }) }),
      503,
      "chain_worker_unavailable",
    );
    await expectOpenAIError(await call("/admin/chain/scheduled", { method: "POST", headers: ADMIN, body: "{}" }), 400);
  });
});
