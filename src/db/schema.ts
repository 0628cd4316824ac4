/**
 * D1 schema (drizzle). `npm run db:generate` turns changes here into SQL under migrations/.
 * Times are Unix milliseconds (integers); money is integer micro-USD. Never floats for money.
 */
import { sql } from "drizzle-orm";
import { index, integer, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

export const subscribers = sqliteTable(
  "subscribers",
  {
    id: text("id").primaryKey(),
    name: text("name").notNull(),
    email: text("email"),
    /** The `sub` claim of JWTs that authenticate as this subscriber (null: API keys only). */
    externalId: text("external_id"),
    createdAt: integer("created_at").notNull(),
    disabledAt: integer("disabled_at"),
  },
  (t) => [uniqueIndex("subscribers_external_id_uq").on(t.externalId)],
);

export const apiKeys = sqliteTable(
  "api_keys",
  {
    id: text("id").primaryKey(),
    subscriberId: text("subscriber_id")
      .notNull()
      .references(() => subscribers.id),
    /** SHA-256 (hex) of the whole key; the key itself is shown once and never stored. */
    keyHash: text("key_hash").notNull(),
    /** First characters of the key, for people to recognise it in listings. */
    keyPrefix: text("key_prefix").notNull(),
    name: text("name"),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [uniqueIndex("api_keys_hash_uq").on(t.keyHash), index("api_keys_subscriber_idx").on(t.subscriberId)],
);

/**
 * One row per request that reached routing. `request_id` is the idempotency key: the queue
 * consumer inserts with ON CONFLICT DO NOTHING, so a replayed message never adds a row.
 */
export const usageEvents = sqliteTable(
  "usage_events",
  {
    requestId: text("request_id").primaryKey(),
    /** 'subscriber' for customer traffic, 'canary' for the gateway's own probes. */
    kind: text("kind").notNull().default("subscriber"),
    subscriberId: text("subscriber_id"),
    apiKeyId: text("api_key_id"),
    endpoint: text("endpoint").notNull(),
    model: text("model").notNull(),
    minerHotkey: text("miner_hotkey"),
    /** ok | miner_error | no_miner | client_cancelled | timeout | bad_response */
    status: text("status").notNull(),
    httpStatus: integer("http_status").notNull(),
    errorCode: text("error_code"),
    streamed: integer("streamed", { mode: "boolean" }).notNull(),
    attempts: integer("attempts").notNull(),
    promptTokensReported: integer("prompt_tokens_reported"),
    completionTokensReported: integer("completion_tokens_reported"),
    promptTokensCounted: integer("prompt_tokens_counted").notNull(),
    completionTokensCounted: integer("completion_tokens_counted").notNull(),
    ttftMs: integer("ttft_ms"),
    durationMs: integer("duration_ms").notNull(),
    createdAt: integer("created_at").notNull(),
    /** UTC day (YYYY-MM-DD) of created_at, for per-day aggregation without date math in SQL. */
    day: text("day").notNull(),
  },
  (t) => [
    index("usage_subscriber_day_idx").on(t.subscriberId, t.day),
    index("usage_created_idx").on(t.createdAt),
    index("usage_miner_idx").on(t.minerHotkey, t.createdAt),
  ],
);

/**
 * The miners routing may use. Filled by the admin API (static/dev source) or by the chain
 * metagraph sync. `models` is a JSON array of model ids the miner serves.
 */
export const miners = sqliteTable(
  "miners",
  {
    hotkey: text("hotkey").primaryKey(),
    uid: integer("uid").notNull(),
    netuid: integer("netuid"),
    coldkey: text("coldkey"),
    axonUrl: text("axon_url").notNull(),
    models: text("models").notNull().default(sql`'[]'`),
    /** 'static' (admin API / dev) or 'chain' (metagraph sync). */
    source: text("source").notNull(),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("miners_uid_idx").on(t.netuid, t.uid)],
);

export type Subscriber = typeof subscribers.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
export type UsageEventRow = typeof usageEvents.$inferInsert;
export type MinerRow = typeof miners.$inferSelect;

/** The last metagraph sync per subnet: what `/health` reports as the miner list's staleness. */
export const chainSync = sqliteTable("chain_sync", {
  netuid: integer("netuid").primaryKey(),
  block: integer("block").notNull(),
  blockHash: text("block_hash").notNull(),
  syncedAt: integer("synced_at").notNull(),
  found: integer("found").notNull(),
  kept: integer("kept").notNull(),
  skipped: integer("skipped").notNull(),
  deactivated: integer("deactivated").notNull(),
  durationMs: integer("duration_ms").notNull(),
  /** ChainError code of the last failed attempt, cleared by the next success. */
  lastErrorCode: text("last_error_code"),
  lastErrorAt: integer("last_error_at"),
});
