/**
 * OpenID Connect sign-in, authorization code flow with PKCE (S256), as a relying party:
 * discovery from `<issuer>/.well-known/openid-configuration`, the authorization URL with state,
 * nonce and code challenge, the code exchange at the token endpoint (client_secret_basic), and
 * the ID token verified with jose against the provider's JWKS (issuer, audience, expiry, nonce).
 * Only a verified e-mail is accepted.
 */
import { jwtVerify } from "jose";
import { remoteKeySet } from "../auth/jwks-cache";
import { GatewayError } from "../errors";
import { isObject } from "../lib/json";
import { randomToken, sha256Base64url } from "./tokens";

export interface OidcClient {
  issuer: string;
  clientId: string;
  clientSecret: string;
}

export interface ProviderMetadata {
  issuer: string;
  authorization_endpoint: string;
  token_endpoint: string;
  jwks_uri: string;
}

/** What the sign-in transaction cookie keeps between the redirect and the callback. */
export interface SignInTransaction {
  state: string;
  nonce: string;
  verifier: string;
}

export interface VerifiedIdentity {
  issuer: string;
  subject: string;
  email: string;
  name: string | null;
}

const DISCOVERY_TTL_MS = 10 * 60_000;
const discovered = new Map<string, { meta: ProviderMetadata; at: number }>();

const signInFailed = (why: string) => new GatewayError(400, "invalid_request_error", "sign_in_failed", `Sign-in failed: ${why}.`);
const providerUnavailable = (why: string) => new GatewayError(502, "api_error", "identity_provider_error", `The identity provider did not answer as expected: ${why}.`);

export async function discover(issuer: string, fetcher: typeof fetch = fetch, now = Date.now()): Promise<ProviderMetadata> {
  const hit = discovered.get(issuer);
  if (hit && now - hit.at < DISCOVERY_TTL_MS) return hit.meta;
  let body: unknown;
  try {
    const res = await fetcher(`${issuer}/.well-known/openid-configuration`, { headers: { accept: "application/json" } });
    if (!res.ok) throw providerUnavailable(`discovery answered ${res.status}`);
    body = await res.json();
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw providerUnavailable("discovery failed");
  }
  if (!isObject(body)) throw providerUnavailable("discovery document is not an object");
  const fields = ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"] as const;
  const meta: Partial<ProviderMetadata> = {};
  for (const f of fields) {
    const v = body[f];
    if (typeof v !== "string" || v === "") throw providerUnavailable(`discovery document lacks '${f}'`);
    meta[f] = v;
  }
  // OpenID Connect Discovery 1.0 §4.3: the document's issuer must be the one we asked.
  if (meta.issuer !== issuer) throw providerUnavailable("discovery issuer does not match OIDC_ISSUER");
  const full = meta as ProviderMetadata;
  discovered.set(issuer, { meta: full, at: now });
  return full;
}

export function newTransaction(): SignInTransaction {
  return { state: randomToken(24), nonce: randomToken(24), verifier: randomToken(48) };
}

export async function authorizationUrl(meta: ProviderMetadata, client: OidcClient, tx: SignInTransaction, redirectUri: string): Promise<string> {
  const url = new URL(meta.authorization_endpoint);
  const q = url.searchParams;
  q.set("response_type", "code");
  q.set("client_id", client.clientId);
  q.set("redirect_uri", redirectUri);
  q.set("scope", "openid email profile");
  q.set("state", tx.state);
  q.set("nonce", tx.nonce);
  q.set("code_challenge", await sha256Base64url(tx.verifier));
  q.set("code_challenge_method", "S256");
  return url.toString();
}

/** Exchanges the code and verifies the ID token; returns who signed in. */
export async function completeSignIn(
  meta: ProviderMetadata,
  client: OidcClient,
  tx: SignInTransaction,
  callback: { code: string; redirectUri: string },
  fetcher: typeof fetch = fetch,
): Promise<VerifiedIdentity> {
  const basic = btoa(`${encodeURIComponent(client.clientId)}:${encodeURIComponent(client.clientSecret)}`);
  let tokenBody: unknown;
  try {
    const res = await fetcher(meta.token_endpoint, {
      method: "POST",
      headers: { authorization: `Basic ${basic}`, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ grant_type: "authorization_code", code: callback.code, redirect_uri: callback.redirectUri, code_verifier: tx.verifier }),
    });
    tokenBody = await res.json().catch(() => null);
    if (!res.ok) {
      const code = isObject(tokenBody) && typeof tokenBody.error === "string" ? tokenBody.error : `status ${res.status}`;
      throw signInFailed(`the provider refused the code (${code})`);
    }
  } catch (err) {
    if (err instanceof GatewayError) throw err;
    throw providerUnavailable("token endpoint unreachable");
  }
  const idToken = isObject(tokenBody) ? tokenBody.id_token : undefined;
  if (typeof idToken !== "string") throw signInFailed("the provider returned no ID token");

  let claims;
  try {
    ({ payload: claims } = await jwtVerify(idToken, remoteKeySet(meta.jwks_uri), {
      issuer: meta.issuer,
      audience: client.clientId,
      requiredClaims: ["sub", "exp", "iat", "nonce"],
      algorithms: ["RS256", "PS256", "ES256", "EdDSA"],
      clockTolerance: 30,
    }));
  } catch {
    throw signInFailed("the ID token does not verify");
  }
  if (claims.nonce !== tx.nonce) throw signInFailed("the ID token's nonce does not match");
  // With several audiences the token must be meant for us (OIDC Core §3.1.3.7).
  if (Array.isArray(claims.aud) && claims.aud.length > 1 && claims.azp !== client.clientId) throw signInFailed("the ID token is for another client");
  const email = typeof claims.email === "string" ? claims.email.trim().toLowerCase() : "";
  if (email === "" || claims.email_verified !== true) {
    throw new GatewayError(403, "permission_error", "email_not_verified", "Sign-in needs an e-mail address your identity provider has verified.");
  }
  return { issuer: meta.issuer, subject: String(claims.sub), email, name: typeof claims.name === "string" ? claims.name : null };
}
