// A misconfigured variable fails every route with a 500 that names it (Workers have no start hook:
// the first request is the start), and the chain Worker is reached over RPC only.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it, vi } from "vitest";
import { createApp } from "../../src/http/app";
import { ADMIN, call, expectOpenAIError } from "./helpers";

async function callWith(vars: Record<string, string>, path: string, init: RequestInit = {}): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await createApp().fetch(new Request(`http://gateway.test${path}`, init), { ...env, ...vars }, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

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
      for (const [vars, name] of [
        [{ SESSION_SECRET: "short" }, "SESSION_SECRET"],
        [{ SESSION_SECRET: "a-session-secret-of-at-least-32-characters", KEYS_PER_HOUR: "lots" }, "KEYS_PER_HOUR"],
        [{ USAGE_BATCH_MS: "soon" }, "USAGE_BATCH_MS"],
      ] as const) {
        for (const path of ["/v1/models", "/app/keys"]) {
          const body = await expectOpenAIError(await callWith(vars, path), 500, "configuration_error");
          expect(body.message).toContain(name);
          expect(body.message).not.toContain("short");
        }
      }
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
