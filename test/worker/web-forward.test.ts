// The gateway forwards the web app's paths to the web Worker over its WEB service binding
// (src/http/routes/web-forward.ts): one URL for both, and the web Worker's own answers come back
// as they are (its static files with their headers, its pages, its 404), while the API's paths and
// errors stay the gateway's.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { REVOKED_KEYS_HEADER } from "../../src/auth/revocation-notice";
import { createApp } from "../../src/http/app";
import { call, newSubscriber } from "./helpers";

async function gateway(request: Request, web?: Pick<Fetcher, "fetch">): Promise<Response> {
  const ctx = createExecutionContext();
  // A stand-in for the web Worker where a test needs to choose its answer.
  const res = await createApp().fetch(request, web ? { ...env, WEB: web as Fetcher } : env, ctx);
  await waitOnExecutionContext(ctx);
  return res;
}

describe("web paths through the gateway", () => {
  it("serves the web Worker's static files with their headers", async () => {
    const res = await call("/static/app.css");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/css/);
    expect(res.headers.get("x-content-type-options")).toBe("nosniff");
    expect(await res.text()).toContain(".card");
  });

  it("forwards every method of the app's paths, and keeps /openapi.json an API operation (405 on POST)", async () => {
    const page = await call("/auth/login");
    expect(page.status).toBe(404); // the web Worker's answer: no SESSION_SECRET in this suite
    expect(await page.text()).toContain("not configured");
    const post = await call("/console/login", { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "token=x" });
    expect(post.status).toBe(404);
    expect(post.headers.get("content-type")).toMatch(/^text\/html/);
    const doc = await call("/openapi.json");
    expect(doc.status).toBe(200);
    expect(((await doc.json()) as { servers: { url: string }[] }).servers[0]?.url).toBe("http://gateway.test");
    const wrongMethod = await call("/openapi.json", { method: "POST" });
    expect(wrongMethod.status).toBe(405);
    expect(((await wrongMethod.json()) as { error: { code: string } }).error.code).toBe("method_not_allowed");
  });

  it("leaves other paths to the gateway", async () => {
    const res = await call("/appendix");
    expect(res.status).toBe(404);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unknown_route");
  });

  it("applies the web Worker's notice of revoked keys to this isolate's key cache at once, and never passes it on", async () => {
    const { key, keyId } = await newSubscriber("revoke-notice");
    const models = () => gateway(new Request("http://gateway.test/v1/models", { headers: { authorization: `Bearer ${key}` } }));
    expect((await models()).status).toBe(200); // now cached in this isolate
    // Revoked in D1 behind the cache's back (as the web Worker does): the cache still says yes.
    await env.DB.prepare("UPDATE api_keys SET revoked_at = ? WHERE id = ?").bind(Date.now(), keyId).run();
    expect((await models()).status).toBe(200);
    const row = await env.DB.prepare("SELECT key_hash FROM api_keys WHERE id = ?").bind(keyId).first<{ key_hash: string }>();
    const web = { fetch: async () => new Response(null, { status: 303, headers: { location: "/app/keys", [REVOKED_KEYS_HEADER]: row!.key_hash } }) };
    const answer = await gateway(new Request(`http://gateway.test/app/keys/${keyId}/revoke`, { method: "POST" }), web);
    expect(answer.status).toBe(303);
    expect(answer.headers.get("location")).toBe("/app/keys");
    expect(answer.headers.get(REVOKED_KEYS_HEADER)).toBeNull();
    expect((await models()).status).toBe(401);
  });
});
