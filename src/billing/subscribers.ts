/** Subscribers and their API keys: creation, issuing (shown once), revocation. */
import { and, eq, isNull } from "drizzle-orm";
import { displayPrefix, generateApiKey, hashApiKey } from "../auth/api-keys";
import { evictApiKeys } from "../auth/authenticate";
import { database } from "../db/client";
import { apiKeys, subscribers, type ApiKey, type Subscriber } from "../db/schema";
import { GatewayError, invalidRequest, notFound } from "../errors";

export interface NewSubscriber {
  id?: string;
  name: string;
  email?: string | null;
  externalId?: string | null;
}

/** Creates a subscriber; with an explicit `id` it is idempotent (returns the existing row). */
export async function createSubscriber(d1: D1Database, input: NewSubscriber, now = Date.now()): Promise<Subscriber> {
  const db = database(d1);
  const id = input.id ?? `sub_${crypto.randomUUID().replace(/-/g, "")}`;
  try {
    await db
      .insert(subscribers)
      .values({ id, name: input.name, email: input.email ?? null, externalId: input.externalId ?? null, createdAt: now })
      .onConflictDoNothing({ target: subscribers.id });
  } catch (err) {
    if (String(err).includes("UNIQUE")) throw new GatewayError(409, "invalid_request_error", "conflict", "external_id is already in use.", "external_id");
    throw err;
  }
  const row = await db.select().from(subscribers).where(eq(subscribers.id, id)).get();
  if (!row) throw new Error(`subscriber ${id} vanished after insert`);
  return row;
}

export async function getSubscriber(d1: D1Database, id: string): Promise<Subscriber> {
  const row = await database(d1).select().from(subscribers).where(eq(subscribers.id, id)).get();
  if (!row) throw notFound(`No subscriber '${id}'.`, "subscriber_not_found");
  return row;
}

export interface IssuedKey {
  id: string;
  key: string;
  prefix: string;
  subscriberId: string;
  name: string | null;
  createdAt: number;
}

/**
 * Issues a new key, or imports a given one (`key`, e.g. the dev key or keys migrated from another
 * system). The plain key is returned here and nowhere else.
 */
export async function issueKey(d1: D1Database, subscriberId: string, opts: { name?: string | null; key?: string }, now = Date.now()): Promise<IssuedKey> {
  await getSubscriber(d1, subscriberId);
  const key = opts.key ?? generateApiKey();
  if (!key.startsWith("sk-") || key.length < 8 || /\s/.test(key)) {
    throw invalidRequest("An imported key must start with 'sk-', have at least 8 characters and no spaces.", "key");
  }
  const hash = await hashApiKey(key);
  const db = database(d1);
  const existing = await db.select().from(apiKeys).where(eq(apiKeys.keyHash, hash)).get();
  if (existing) {
    if (existing.subscriberId !== subscriberId || existing.revokedAt !== null) {
      throw new GatewayError(409, "invalid_request_error", "conflict", "This key is already in use.", "key");
    }
    return { id: existing.id, key, prefix: existing.keyPrefix, subscriberId, name: existing.name, createdAt: existing.createdAt };
  }
  const id = `key_${crypto.randomUUID().replace(/-/g, "")}`;
  const prefix = displayPrefix(key);
  await db.insert(apiKeys).values({ id, subscriberId, keyHash: hash, keyPrefix: prefix, name: opts.name ?? null, createdAt: now });
  return { id, key, prefix, subscriberId, name: opts.name ?? null, createdAt: now };
}

export async function revokeKey(d1: D1Database, keyId: string, now = Date.now()): Promise<ApiKey> {
  const db = database(d1);
  const row = await db.select().from(apiKeys).where(eq(apiKeys.id, keyId)).get();
  if (!row) throw notFound(`No API key '${keyId}'.`, "key_not_found");
  if (row.revokedAt === null) {
    await db.update(apiKeys).set({ revokedAt: now }).where(and(eq(apiKeys.id, keyId), isNull(apiKeys.revokedAt)));
  }
  evictApiKeys([row.keyHash]);
  return { ...row, revokedAt: row.revokedAt ?? now };
}

export async function listKeys(d1: D1Database, subscriberId: string) {
  return database(d1)
    .select({ id: apiKeys.id, prefix: apiKeys.keyPrefix, name: apiKeys.name, createdAt: apiKeys.createdAt, revokedAt: apiKeys.revokedAt })
    .from(apiKeys)
    .where(eq(apiKeys.subscriberId, subscriberId))
    .all();
}
