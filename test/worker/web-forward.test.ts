// The gateway forwards the web app's paths to the web Worker over its WEB service binding
// (src/http/routes/web-forward.ts): one URL for both, and the web Worker's own answers come back
// as they are (its static files with their headers, its pages, its 404), while the API's paths and
// errors stay the gateway's.
import { describe, expect, it } from "vitest";
import { call } from "./helpers";

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
});
