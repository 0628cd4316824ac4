/**
 * Who is calling? Credentials come as `Authorization: Bearer <sk-key | JWT>` or `x-api-key`.
 * The decision is a tagged result; `authFailure` turns each failure into an HTTP error in one
 * exhaustive switch. Successful API-key lookups are cached per isolate for AUTH_CACHE_TTL_MS so
 * the request path rarely touches D1; revocation through the admin API evicts at once here and
 * within the TTL everywhere else.
 */
import { eq } from "drizzle-orm";
import type { Config, Env } from "../env";
import { GatewayError, unauthorized } from "../errors";
import { database } from "../db/client";
import { apiKeys, subscribers } from "../db/schema";
import { hashApiKey, looksLikeApiKey } from "./api-keys";
import { jwtConfigured, verifyJwt } from "./jwt";

export interface Principal {
  subscriberId: string;
  apiKeyId: string | null;
  via: "api_key" | "jwt";
}

export type AuthResult =
  | { kind: "ok"; principal: Principal }
  | { kind: "missing" }
  | { kind: "unknown_key" }
  | { kind: "revoked_key" }
  | { kind: "disabled_subscriber" }
  | { kind: "jwt_not_accepted" }
  | { kind: "invalid_token"; reason: string }
  | { kind: "unknown_subject" };

interface CacheEntry {
  principal: Principal;
  expiresAt: number;
}

const keyCache = new Map<string, CacheEntry>();
const MAX_CACHE_ENTRIES = 10_000;

export function credentialFrom(headers: Headers): string | null {
  const auth = headers.get("authorization");
  if (auth) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    return m ? (m[1] as string) : auth.trim() || null;
  }
  return headers.get("x-api-key")?.trim() || null;
}

export async function authenticate(headers: Headers, env: Env, cfg: Config, now = Date.now()): Promise<AuthResult> {
  const token = credentialFrom(headers);
  if (!token) return { kind: "missing" };
  if (looksLikeApiKey(token)) return authenticateApiKey(token, env, cfg, now);
  if (token.split(".").length === 3) return authenticateJwt(token, env, cfg, now);
  return { kind: "unknown_key" };
}

async function authenticateApiKey(key: string, env: Env, cfg: Config, now: number): Promise<AuthResult> {
  const hash = await hashApiKey(key);
  const cached = keyCache.get(hash);
  if (cached && cached.expiresAt > now) return { kind: "ok", principal: cached.principal };

  const row = await database(env.DB)
    .select({ id: apiKeys.id, subscriberId: apiKeys.subscriberId, revokedAt: apiKeys.revokedAt, disabledAt: subscribers.disabledAt })
    .from(apiKeys)
    .innerJoin(subscribers, eq(subscribers.id, apiKeys.subscriberId))
    .where(eq(apiKeys.keyHash, hash))
    .get();
  if (!row) return { kind: "unknown_key" };
  if (row.revokedAt !== null) return { kind: "revoked_key" };
  if (row.disabledAt !== null) return { kind: "disabled_subscriber" };

  const principal: Principal = { subscriberId: row.subscriberId, apiKeyId: row.id, via: "api_key" };
  if (cfg.authCacheTtlMs > 0) {
    if (keyCache.size >= MAX_CACHE_ENTRIES) keyCache.clear();
    keyCache.set(hash, { principal, expiresAt: now + cfg.authCacheTtlMs });
  }
  return { kind: "ok", principal };
}

async function authenticateJwt(token: string, env: Env, cfg: Config, now: number): Promise<AuthResult> {
  if (!jwtConfigured(cfg.jwt)) return { kind: "jwt_not_accepted" };
  const verified = await verifyJwt(token, cfg.jwt);
  if (!verified.ok) return { kind: "invalid_token", reason: verified.reason };

  const db = database(env.DB);
  let row = await db
    .select({ id: subscribers.id, disabledAt: subscribers.disabledAt })
    .from(subscribers)
    .where(eq(subscribers.externalId, verified.subject))
    .get();
  if (!row && cfg.jwt.autoProvision) {
    const id = `sub_${crypto.randomUUID().replace(/-/g, "")}`;
    await db
      .insert(subscribers)
      .values({ id, name: verified.subject, externalId: verified.subject, createdAt: now })
      .onConflictDoNothing();
    row = await db
      .select({ id: subscribers.id, disabledAt: subscribers.disabledAt })
      .from(subscribers)
      .where(eq(subscribers.externalId, verified.subject))
      .get();
  }
  if (!row) return { kind: "unknown_subject" };
  if (row.disabledAt !== null) return { kind: "disabled_subscriber" };
  return { kind: "ok", principal: { subscriberId: row.id, apiKeyId: null, via: "jwt" } };
}

/** Drops cached lookups for these key hashes (after a revocation). */
export function evictApiKeys(hashes: readonly string[]): void {
  for (const h of hashes) keyCache.delete(h);
}

export function authFailure(result: Exclude<AuthResult, { kind: "ok" }>): GatewayError {
  switch (result.kind) {
    case "missing":
      return unauthorized("Missing credentials. Send 'Authorization: Bearer <API key>'.", "missing_api_key");
    case "unknown_key":
      return unauthorized("Incorrect API key provided.", "invalid_api_key");
    case "revoked_key":
      return unauthorized("This API key has been revoked.", "revoked_api_key");
    case "disabled_subscriber":
      return unauthorized("This account is disabled.", "account_disabled");
    case "jwt_not_accepted":
      return unauthorized("Bearer tokens are not accepted by this gateway; use an API key.", "invalid_api_key");
    case "invalid_token":
      return unauthorized(`Invalid bearer token: ${result.reason}.`, "invalid_token");
    case "unknown_subject":
      return unauthorized("The token's subject has no subscriber on this gateway.", "unknown_subject");
  }
}
