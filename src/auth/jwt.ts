/**
 * JWT bearer tokens, verified with jose: an HS256 shared secret and/or a JWKS URL, `iss`, `aud`
 * and `exp` required, and only the algorithms on the allow-list (never `none`). On top of jose:
 * every segment must be canonical base64url (one token, one spelling: no `=` padding, no stray
 * bits), `iat` may not be in the future beyond the clock skew, and a token may not live longer
 * than JWT_MAX_LIFETIME_SECONDS (a leaked token that is valid for centuries cannot be contained).
 */
import { errors, jwtVerify, type JWTPayload } from "jose";
import type { Config } from "../env";
import { JwksUnavailable, remoteKeySet } from "./jwks-cache";

export type JwtResult = { ok: true; subject: string } | { ok: false; reason: string };

const encoder = new TextEncoder();

export function jwtConfigured(cfg: Config["jwt"]): boolean {
  return Boolean(cfg.hs256Secret || cfg.jwksUrl);
}

export async function verifyJwt(token: string, cfg: Config["jwt"]): Promise<JwtResult> {
  if (!cfg.issuer || !cfg.audience) return { ok: false, reason: "JWT_ISSUER and JWT_AUDIENCE must be configured" };
  const options = {
    issuer: cfg.issuer,
    audience: cfg.audience,
    requiredClaims: ["exp", "sub"],
    clockTolerance: CLOCK_SKEW_SECONDS,
  };
  if (!isCanonicalCompactJws(token)) return { ok: false, reason: "token is not canonical base64url (three segments, no padding)" };
  let payload: JWTPayload;
  try {
    const header = decodeHeaderAlg(token);
    if (!header || !cfg.algorithms.includes(header)) return { ok: false, reason: `algorithm '${header ?? "?"}' is not allowed` };
    if (header === "HS256") {
      if (!cfg.hs256Secret) return { ok: false, reason: "HS256 tokens are not accepted" };
      ({ payload } = await jwtVerify(token, encoder.encode(cfg.hs256Secret), { ...options, algorithms: ["HS256"] }));
    } else {
      if (!cfg.jwksUrl) return { ok: false, reason: `${header} tokens need a JWKS URL` };
      const asymmetric = cfg.algorithms.filter((a) => !a.startsWith("HS"));
      ({ payload } = await jwtVerify(token, remoteKeySet(cfg.jwksUrl), { ...options, algorithms: asymmetric }));
    }
  } catch (err) {
    return { ok: false, reason: describe(err) };
  }
  if (typeof payload.sub !== "string" || payload.sub === "") return { ok: false, reason: "token has no subject" };
  const lifetime = checkLifetime(payload, Math.floor(Date.now() / 1000), cfg.maxLifetimeSeconds);
  if (lifetime) return { ok: false, reason: lifetime };
  return { ok: true, subject: payload.sub };
}

/** Tolerance for clocks that disagree, on `exp`, `nbf` and a future `iat` (seconds). */
export const CLOCK_SKEW_SECONDS = 5;

/** Why `iat`/`exp` are unacceptable, or null. `exp` has already been checked by jose. */
export function checkLifetime(payload: JWTPayload, nowSeconds: number, maxLifetimeSeconds: number): string | null {
  if (payload.iat !== undefined && payload.iat > nowSeconds + CLOCK_SKEW_SECONDS) return "claim 'iat' is in the future";
  const exp = payload.exp ?? 0;
  const from = payload.iat ?? nowSeconds;
  if (exp - from > maxLifetimeSeconds) return `token lifetime exceeds the maximum of ${maxLifetimeSeconds} seconds`;
  return null;
}

const BASE64URL_SEGMENT = /^[A-Za-z0-9_-]*$/;
const BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/**
 * Three dot-separated segments of unpadded base64url whose unused trailing bits are zero: the
 * only spelling of the bytes. Decoders (jose's included) accept `sig=` or a last character with
 * stray low bits, which would let one signature be written many ways (a replay-cache or
 * revocation list keyed on the token text would then miss copies).
 */
export function isCanonicalCompactJws(token: string): boolean {
  const parts = token.split(".");
  if (parts.length !== 3) return false;
  return parts.every((p, i) => (p !== "" || i === 2) && BASE64URL_SEGMENT.test(p) && hasZeroPaddingBits(p));
}

function hasZeroPaddingBits(segment: string): boolean {
  const rest = segment.length % 4;
  if (rest === 1) return false;
  if (rest === 0) return true;
  const last = BASE64URL_ALPHABET.indexOf(segment.charAt(segment.length - 1));
  // 2 chars carry 1 byte (4 spare bits); 3 chars carry 2 bytes (2 spare bits).
  const spareMask = rest === 2 ? 0b1111 : 0b11;
  return (last & spareMask) === 0;
}

function decodeHeaderAlg(token: string): string | null {
  const dot = token.indexOf(".");
  if (dot <= 0) return null;
  try {
    const json = atob(token.slice(0, dot).replace(/-/g, "+").replace(/_/g, "/"));
    const header: unknown = JSON.parse(json);
    if (header && typeof header === "object" && "alg" in header && typeof header.alg === "string") return header.alg;
  } catch {
    /* falls through to null */
  }
  return null;
}

function describe(err: unknown): string {
  if (err instanceof JwksUnavailable) return "the signing keys (JWKS) could not be fetched";
  if (err instanceof errors.JWTExpired) return "token has expired";
  if (err instanceof errors.JWTClaimValidationFailed) return `claim '${err.claim}' is invalid`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return "signature does not verify";
  if (err instanceof errors.JOSEAlgNotAllowed) return "algorithm is not allowed";
  if (err instanceof errors.JWKSNoMatchingKey) return "no matching key in the JWKS";
  if (err instanceof errors.JOSEError) return err.code;
  return "token is malformed";
}
