/**
 * The web sign-in's relying-party checks in workerd: ID tokens signed with the suite's RSA key
 * (served by the Node-side JWKS server), a token endpoint played by an in-test function that
 * checks the request as an OpenID provider would (Basic client auth, grant type, redirect URI,
 * PKCE verifier against the challenge sent in the authorization URL). Also: the web app is absent
 * without SESSION_SECRET, and signed tokens of one kind are refused as another.
 */
import { env } from "cloudflare:test";
import { importJWK, SignJWT, type JWTPayload } from "jose";
import { describe, expect, it } from "vitest";
import { GatewayError } from "../../src/errors";
import { authorizationUrl, completeSignIn, newTransaction, type ProviderMetadata } from "../../src/web/oidc";
import { sha256Base64url, signToken, verifyToken } from "../../src/web/tokens";
import { call } from "./helpers";

const fixtures = env.TEST_FIXTURES;
const client = { issuer: "https://idp.test", clientId: "gateway-web", clientSecret: "s3cret" };
const meta: ProviderMetadata = { issuer: client.issuer, authorization_endpoint: "https://idp.test/authorize", token_endpoint: "https://idp.test/token", jwks_uri: fixtures.jwksUrl };
const redirectUri = "https://gateway.test/auth/oidc/callback";

async function idToken(claims: JWTPayload, opts: { expiresIn?: number } = {}) {
  const key = await importJWK(fixtures.rsaPrivateJwk, "RS256");
  const now = Math.floor(Date.now() / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "RS256", kid: "test-key" })
    .setIssuedAt(now)
    .setExpirationTime(now + (opts.expiresIn ?? 300))
    .sign(key);
}

/** A token endpoint that checks what a provider checks, then hands out `token`. */
function tokenEndpoint(challenge: string, token: string | Promise<string>, seen: { calls: number } = { calls: 0 }): typeof fetch {
  return async (input, init) => {
    seen.calls++;
    expect(String(input)).toBe(meta.token_endpoint);
    const headers = new Headers(init?.headers);
    expect(headers.get("authorization")).toBe(`Basic ${btoa("gateway-web:s3cret")}`);
    expect(headers.get("content-type")).toBe("application/x-www-form-urlencoded");
    const form = new URLSearchParams(String(init?.body));
    if (form.get("grant_type") !== "authorization_code" || form.get("code") !== "the-code" || form.get("redirect_uri") !== redirectUri) {
      return Response.json({ error: "invalid_grant" }, { status: 400 });
    }
    if ((await sha256Base64url(form.get("code_verifier") ?? "")) !== challenge) return Response.json({ error: "invalid_grant" }, { status: 400 });
    return Response.json({ access_token: "at", token_type: "Bearer", id_token: await token });
  };
}

async function begin() {
  const tx = newTransaction();
  const url = new URL(await authorizationUrl(meta, client, tx, redirectUri));
  expect(url.searchParams.get("code_challenge_method")).toBe("S256");
  expect(url.searchParams.get("state")).toBe(tx.state);
  expect(url.searchParams.get("nonce")).toBe(tx.nonce);
  expect(url.searchParams.get("scope")).toContain("openid");
  return { tx, challenge: url.searchParams.get("code_challenge")! };
}

const good = (nonce: string): JWTPayload => ({ iss: client.issuer, aud: client.clientId, sub: "user-1", nonce, email: "Person@Example.test", email_verified: true, name: "Person" });

async function refusal(p: Promise<unknown>): Promise<GatewayError> {
  const err = await p.then(() => null, (e: unknown) => e);
  expect(err).toBeInstanceOf(GatewayError);
  return err as GatewayError;
}

describe("OIDC relying party", () => {
  it("accepts a verified ID token for this client and nonce, with the PKCE verifier", async () => {
    const { tx, challenge } = await begin();
    const who = await completeSignIn(meta, client, tx, { code: "the-code", redirectUri }, tokenEndpoint(challenge, idToken(good(tx.nonce))));
    expect(who).toEqual({ issuer: client.issuer, subject: "user-1", email: "person@example.test", name: "Person" });
  });

  it("refuses a wrong nonce, audience, issuer, an expired token and an unverified e-mail", async () => {
    const cases: [string, (nonce: string) => JWTPayload, string, number?][] = [
      ["nonce", (n) => ({ ...good(n), nonce: "replayed" }), "sign_in_failed"],
      ["audience", (n) => ({ ...good(n), aud: "another-client" }), "sign_in_failed"],
      ["issuer", (n) => ({ ...good(n), iss: "https://evil.test" }), "sign_in_failed"],
      ["expired", (n) => good(n), "sign_in_failed", -120],
      ["unverified", (n) => ({ ...good(n), email_verified: false }), "email_not_verified"],
      ["no e-mail", (n) => ({ ...good(n), email: undefined }), "email_not_verified"],
      ["other azp", (n) => ({ ...good(n), aud: [client.clientId, "other"], azp: "other" }), "sign_in_failed"],
    ];
    for (const [name, claims, code, expiresIn] of cases) {
      const { tx, challenge } = await begin();
      const err = await refusal(completeSignIn(meta, client, tx, { code: "the-code", redirectUri }, tokenEndpoint(challenge, idToken(claims(tx.nonce), { expiresIn }))));
      expect(err.code, name).toBe(code);
    }
  });

  it("refuses a token signed with the client secret (HS256) and a code without the right verifier", async () => {
    const { tx, challenge } = await begin();
    const hs = await new SignJWT(good(tx.nonce)).setProtectedHeader({ alg: "HS256" }).setIssuedAt().setExpirationTime("5m").sign(new TextEncoder().encode("s3cret"));
    expect((await refusal(completeSignIn(meta, client, tx, { code: "the-code", redirectUri }, tokenEndpoint(challenge, hs)))).code).toBe("sign_in_failed");

    const other = newTransaction(); // a verifier that does not match the challenge the provider saw
    const err = await refusal(completeSignIn(meta, client, other, { code: "the-code", redirectUri }, tokenEndpoint(challenge, idToken(good(other.nonce)))));
    expect(err.code).toBe("sign_in_failed");
    expect(err.message).toContain("invalid_grant");
  });
});

describe("web tokens and switch", () => {
  it("refuses a token of one kind as another, and tampered or expired ones", async () => {
    const secret = "x".repeat(40);
    const t = await signToken(secret, "signin", { state: "s" }, 60);
    expect((await verifyToken(secret, "signin", t))?.state).toBe("s");
    expect(await verifyToken(secret, "session", t)).toBeNull();
    expect(await verifyToken("y".repeat(40), "signin", t)).toBeNull();
    expect(await verifyToken(secret, "signin", t, Date.now() + 120_000)).toBeNull();
  });

  it("has no web app without SESSION_SECRET (404), with its security headers", async () => {
    const res = await call("/app/keys");
    expect(res.status).toBe(404);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(await res.text()).toContain("not configured");
    // The API is untouched: its own error model answers there.
    const api = await call("/v1/models");
    expect(api.status).toBe(401);
    expect(((await api.json()) as { error: { code: string } }).error.code).toBe("missing_api_key");
  });
});
