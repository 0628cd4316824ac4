/**
 * Signed, expiring tokens (jose HS256 JWTs) for cookies: the session cookie, the sign-in
 * transaction (state, nonce, PKCE verifier) and CSRF tokens. Each kind has its own audience, so
 * one kind can never be replayed as another.
 */
import { jwtVerify, SignJWT, type JWTPayload } from "jose";

export type TokenKind = "session" | "signin" | "csrf";

const encoder = new TextEncoder();
const ISSUER = "gateway-web";

function key(secret: string): Uint8Array {
  return encoder.encode(secret);
}

export async function signToken(secret: string, kind: TokenKind, claims: JWTPayload, ttlSeconds: number, nowMs = Date.now()): Promise<string> {
  const now = Math.floor(nowMs / 1000);
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256" })
    .setIssuer(ISSUER)
    .setAudience(kind)
    .setIssuedAt(now)
    .setExpirationTime(now + ttlSeconds)
    .sign(key(secret));
}

/** The claims, or null for anything forged, expired, malformed or of another kind. */
export async function verifyToken(secret: string, kind: TokenKind, token: string, nowMs = Date.now()): Promise<JWTPayload | null> {
  try {
    const { payload } = await jwtVerify(token, key(secret), {
      algorithms: ["HS256"],
      issuer: ISSUER,
      audience: kind,
      currentDate: new Date(nowMs),
    });
    return payload;
  } catch {
    return null;
  }
}

/** URL-safe random text (for ids, state, nonce, PKCE verifiers). */
export function randomToken(bytes = 32): string {
  const buf = crypto.getRandomValues(new Uint8Array(bytes));
  return base64url(buf);
}

export function base64url(bytes: Uint8Array): string {
  let bin = "";
  for (const b of bytes) bin += String.fromCharCode(b);
  return btoa(bin).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

export async function sha256Base64url(text: string): Promise<string> {
  return base64url(new Uint8Array(await crypto.subtle.digest("SHA-256", encoder.encode(text))));
}
