/**
 * JWT bearer tokens, verified with jose: an HS256 shared secret and/or a JWKS URL, `iss`, `aud`
 * and `exp` required, and only the algorithms on the allow-list (never `none`).
 */
import { createRemoteJWKSet, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { Config } from "../env";

export type JwtResult = { ok: true; subject: string } | { ok: false; reason: string };

const jwksByUrl = new Map<string, JWTVerifyGetKey>();
const encoder = new TextEncoder();

function jwks(url: string): JWTVerifyGetKey {
  let set = jwksByUrl.get(url);
  if (!set) {
    // jose caches keys and refetches on unknown `kid` (cooldown-limited), per isolate.
    set = createRemoteJWKSet(new URL(url));
    jwksByUrl.set(url, set);
  }
  return set;
}

export function jwtConfigured(cfg: Config["jwt"]): boolean {
  return Boolean(cfg.hs256Secret || cfg.jwksUrl);
}

export async function verifyJwt(token: string, cfg: Config["jwt"]): Promise<JwtResult> {
  if (!cfg.issuer || !cfg.audience) return { ok: false, reason: "JWT_ISSUER and JWT_AUDIENCE must be configured" };
  const options = {
    issuer: cfg.issuer,
    audience: cfg.audience,
    requiredClaims: ["exp", "sub"],
    clockTolerance: 5,
  };
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
      ({ payload } = await jwtVerify(token, jwks(cfg.jwksUrl), { ...options, algorithms: asymmetric }));
    }
  } catch (err) {
    return { ok: false, reason: describe(err) };
  }
  if (typeof payload.sub !== "string" || payload.sub === "") return { ok: false, reason: "token has no subject" };
  return { ok: true, subject: payload.sub };
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
  if (err instanceof errors.JWTExpired) return "token has expired";
  if (err instanceof errors.JWTClaimValidationFailed) return `claim '${err.claim}' is invalid`;
  if (err instanceof errors.JWSSignatureVerificationFailed) return "signature does not verify";
  if (err instanceof errors.JOSEAlgNotAllowed) return "algorithm is not allowed";
  if (err instanceof errors.JWKSNoMatchingKey) return "no matching key in the JWKS";
  if (err instanceof errors.JOSEError) return err.code;
  return "token is malformed";
}
