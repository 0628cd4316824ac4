// Web sessions and the local sign-in (issue #14): cookies are HttpOnly and SameSite=Lax always and
// Secure everywhere but development; the local dev sign-in exists only in development and only on
// loopback; a session lives WEB_SESSION_TTL_SECONDS and sign-out ends it server-side. (The browser
// test, test/e2e/web.test.ts, covers the same through real Chromium with an OIDC provider.)
import { describe, expect, it } from "vitest";
import { browser } from "./web-browser";

const attrs = (setCookies: string[], name: string) => setCookies.find((c) => c.startsWith(`${name}=`)) ?? "";

describe("web sessions", () => {
  it("outside development: cookies are Secure, HttpOnly, SameSite=Lax, and there is no local sign-in", async () => {
    const b = browser("https://gateway.example", { ENVIRONMENT: "production" });
    const login = await b.request("GET", "/auth/login");
    expect(login.res.status).toBe(200);
    expect(attrs(login.setCookies, "gw_csrf")).toMatch(/HttpOnly/i);
    expect(attrs(login.setCookies, "gw_csrf")).toMatch(/Secure/i);
    expect(attrs(login.setCookies, "gw_csrf")).toMatch(/SameSite=Lax/i);
    expect(login.html).not.toContain('action="/auth/dev"');
    const dev = await b.request("POST", "/auth/dev", { _csrf: await b.validCsrf(), email: "someone@example.test" });
    expect(dev.res.status).toBe(404);
    expect(b.jar.has("gw_session")).toBe(false);
  });

  it("in development the local sign-in works only on loopback", async () => {
    const remote = browser("http://gateway.example", { ENVIRONMENT: "development" });
    const page = await remote.request("GET", "/auth/login");
    expect(page.html).not.toContain('action="/auth/dev"');
    expect((await remote.request("POST", "/auth/dev", { _csrf: await remote.validCsrf(), email: "someone@example.test" })).res.status).toBe(404);
  });

  it("in development on loopback: a session cookie without Secure, with the session's lifetime; sign-out ends the session server-side", async () => {
    const b = browser("http://127.0.0.1:8787", { ENVIRONMENT: "development", WEB_SESSION_TTL_SECONDS: "600" });
    const login = await b.request("GET", "/auth/login");
    expect(login.html).toContain('action="/auth/dev"');
    const signedIn = await b.request("POST", "/auth/dev", { _csrf: b.csrf(login.html), email: `dev-${crypto.randomUUID()}@example.test` });
    expect(signedIn.res.status).toBe(303);
    expect(signedIn.res.headers.get("location")).toBe("/app/keys");
    const cookie = attrs(signedIn.setCookies, "gw_session");
    expect(cookie).toMatch(/HttpOnly/i);
    expect(cookie).toMatch(/SameSite=Lax/i);
    expect(cookie).not.toMatch(/Secure/i);
    expect(cookie).toMatch(/Max-Age=600/i);
    const session = b.jar.get("gw_session")!;

    const keys = await b.request("GET", "/app/keys");
    expect(keys.res.status).toBe(200);
    const out = await b.request("POST", "/auth/logout", { _csrf: b.csrf(keys.html) });
    expect(out.res.status).toBe(303);
    expect(b.jar.has("gw_session")).toBe(false);

    // The old cookie, replayed, no longer opens the app.
    b.jar.set("gw_session", session);
    const replay = await b.request("GET", "/app/keys");
    expect(replay.res.status).toBe(303);
    expect(replay.res.headers.get("location")).toBe("/auth/login");
  });
});
