import { env } from "cloudflare:test";
import { importJWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, call, expectOpenAIError, newSubscriber, registerMiners } from "./helpers";

const fx = env.TEST_FIXTURES;
const secret = new TextEncoder().encode("test-jwt-secret-that-is-long-enough-0123456789");
const models = (token: string) => call("/v1/models", { headers: { authorization: `Bearer ${token}` } });

function hs256(claims: Record<string, unknown>, opts: { iss?: string; aud?: string; exp?: string | number } = {}) {
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(opts.iss ?? "https://issuer.test")
    .setAudience(opts.aud ?? "gateway-test")
    .setIssuedAt()
    .setExpirationTime(opts.exp ?? "5m")
    .sign(secret);
}

beforeAll(async () => {
  await registerMiners([{ ...fx.healthy[0]!, models: ["demo/tiny-chat"] }]);
  await admin("POST", "/admin/subscribers", { id: "sub_jwt_user", name: "JWT user", external_id: "user-42" });
});

describe("API keys", () => {
  it("are sk- keys shown once, stored only as a hash, and revocable", async () => {
    const { key, keyId, subscriberId } = await newSubscriber("keys");
    expect(key).toMatch(/^sk-[0-9A-Za-z]{40}$/);
    const stored = await env.DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(keyId).first<Record<string, unknown>>();
    expect(JSON.stringify(stored)).not.toContain(key);
    expect(stored?.key_hash).toMatch(/^[0-9a-f]{64}$/);
    const listing = await admin<{ keys: { prefix: string }[] }>("GET", `/admin/subscribers/${subscriberId}`);
    expect(listing.keys[0]!.prefix).toBe(key.slice(0, 7));
    expect(JSON.stringify(listing)).not.toContain(key);

    expect((await models(key)).status).toBe(200);
    await admin("DELETE", `/admin/keys/${keyId}`);
    await expectOpenAIError(await models(key), 401, "revoked_api_key");
  });

  it("are accepted from x-api-key too", async () => {
    const { key } = await newSubscriber("xapikey");
    expect((await call("/v1/models", { headers: { "x-api-key": key } })).status).toBe(200);
  });
});

describe("JWT bearer tokens", () => {
  it("map a valid HS256 token to its subscriber by sub", async () => {
    const res = await call("/v1/usage", { headers: { authorization: `Bearer ${await hs256({ sub: "user-42" })}` } });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { subscriber_id: string }).subscriber_id).toBe("sub_jwt_user");
  });

  it("verify RS256 tokens against the JWKS URL", async () => {
    const key = await importJWK(fx.rsaPrivateJwk, "RS256");
    const token = await new SignJWT({ sub: "user-42" })
      .setProtectedHeader({ alg: "RS256", kid: "test-key" })
      .setIssuer("https://issuer.test")
      .setAudience("gateway-test")
      .setExpirationTime("5m")
      .sign(key);
    expect((await models(token)).status).toBe(200);
  });

  it("refuse expired, wrong-issuer, wrong-audience, unknown-subject and forged tokens", async () => {
    await expectOpenAIError(await models(await hs256({ sub: "user-42" }, { exp: Math.floor(Date.now() / 1000) - 60 })), 401, "invalid_token");
    await expectOpenAIError(await models(await hs256({ sub: "user-42" }, { iss: "https://evil.test" })), 401, "invalid_token");
    await expectOpenAIError(await models(await hs256({ sub: "user-42" }, { aud: "someone-else" })), 401, "invalid_token");
    await expectOpenAIError(await models(await hs256({ sub: "nobody" })), 401, "unknown_subject");
    const forged = await new SignJWT({ sub: "user-42" })
      .setProtectedHeader({ alg: "HS256" })
      .setIssuer("https://issuer.test")
      .setAudience("gateway-test")
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode("a-different-secret-of-enough-length-0000"));
    await expectOpenAIError(await models(forged), 401, "invalid_token");
  });

  it("refuse a padded or non-canonical signature that still verifies", async () => {
    const token = await hs256({ sub: "user-42" });
    expect((await models(token)).status).toBe(200);
    await expectOpenAIError(await models(`${token}=`), 401, "invalid_token");
    // The 43-character HS256 signature has 2 spare bits in its last character; setting one keeps the bytes.
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const last = alphabet.indexOf(token.at(-1)!);
    const stray = `${token.slice(0, -1)}${alphabet[last | 1]}`;
    expect(stray).not.toBe(token);
    const err = await expectOpenAIError(await models(stray), 401, "invalid_token");
    expect(err.message).toContain("canonical");
  });

  it("refuse an iat in the future and a lifetime over JWT_MAX_LIFETIME_SECONDS (24 h by default)", async () => {
    const now = Math.floor(Date.now() / 1000);
    const signed = (claims: Record<string, unknown>) =>
      new SignJWT({ sub: "user-42", ...claims }).setProtectedHeader({ alg: "HS256" }).setIssuer("https://issuer.test").setAudience("gateway-test").sign(secret);
    const future = await expectOpenAIError(await models(await signed({ iat: now + 3600, exp: now + 7200 })), 401, "invalid_token");
    expect(future.message).toContain("iat");
    const centuries = await expectOpenAIError(await models(await signed({ iat: now, exp: now + 300 * 365 * 86400 })), 401, "invalid_token");
    expect(centuries.message).toContain("lifetime");
    // Without iat the lifetime counts from now.
    await expectOpenAIError(await models(await signed({ exp: now + 2 * 86400 })), 401, "invalid_token");
    expect((await models(await signed({ iat: now - 3600, exp: now + 22 * 3600 }))).status).toBe(200);
    expect((await models(await signed({ iat: now + 2, exp: now + 600 }))).status).toBe(200);
  });

  it("refuse algorithms outside the allow-list, including none", async () => {
    const b64 = (o: unknown) => btoa(JSON.stringify(o)).replace(/=+$/, "").replace(/\+/g, "-").replace(/\//g, "_");
    const claims = { sub: "user-42", iss: "https://issuer.test", aud: "gateway-test", exp: Math.floor(Date.now() / 1000) + 300 };
    const none = `${b64({ alg: "none" })}.${b64(claims)}.`;
    const err = await expectOpenAIError(await models(none), 401, "invalid_token");
    expect(err.message).toContain("not allowed");
    const hs512 = await new SignJWT(claims).setProtectedHeader({ alg: "HS512" }).sign(secret);
    await expectOpenAIError(await models(hs512), 401, "invalid_token");
  });
});

describe("admin API", () => {
  it("refuses a wrong admin token", async () => {
    const res = await call("/admin/miners", { headers: { authorization: "Bearer wrong" } });
    await expectOpenAIError(res, 401, "invalid_admin_token");
  });

  it("lists usage per subscriber", async () => {
    const { subscriberId } = await newSubscriber("usage-admin");
    const report = await admin<{ totals: { requests: number } }>("GET", `/admin/usage?subscriber_id=${subscriberId}`);
    expect(report.totals.requests).toBe(0);
  });
});
