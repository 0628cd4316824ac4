/**
 * D1 schema (drizzle). `npm run db:generate` turns changes here into SQL under migrations/.
 * Times are Unix milliseconds (integers); money is integer micro-USD. Never floats for money.
 */
import { sql } from "drizzle-orm";
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex, type AnySQLiteColumn } from "drizzle-orm/sqlite-core";

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
    /**
     * The plan the operator put this subscriber on; null = DEFAULT_PLAN_ID. An active Stripe
     * subscription (stripe_subscriptions) takes precedence while it lasts.
     */
    planId: text("plan_id").references((): AnySQLiteColumn => plans.id),
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
 * LEGACY (before migration 0008): one row per request that reached routing. Nothing writes it any
 * more; usage is metered in batches (docs/metering.md) into the rollups below and the R2 archive.
 * Its rows were folded into the rollups by migration 0008 and stay here for audit until exported.
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
    /** ok | miner_error | no_miner | client_cancelled | timeout | bad_response | request_error | internal_error */
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
    /** `usage.prompt_tokens_details.cached_tokens` as the miner reported it (billed at the cached-input price). */
    cachedPromptTokensReported: integer("cached_prompt_tokens_reported"),
    /** What the request cost the subscriber, integer micro-USD (src/billing/pricing.ts). */
    costMicroUsd: integer("cost_micro_usd").notNull().default(0),
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
    /** The chain's view, for routing's prior: incentive (0..1) and total stake (rao, decimal). */
    incentive: real("incentive").notNull().default(0),
    stakeRao: text("stake_rao").notNull().default("0"),
    active: integer("active", { mode: "boolean" }).notNull().default(true),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("miners_uid_idx").on(t.netuid, t.uid)],
);

export type Subscriber = typeof subscribers.$inferSelect;
export type ApiKey = typeof apiKeys.$inferSelect;
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

/**
 * What a subscriber buys. Limits are enforced exactly by the subscriber's Durable Object
 * (src/billing/limits-do.ts); money is integer micro-USD. `models` is a JSON array of model ids
 * (a trailing `*` matches a prefix); null = every model.
 */
export const plans = sqliteTable("plans", {
  id: text("id").primaryKey(),
  name: text("name").notNull(),
  /** What the plan costs per month (informational; Stripe charges it). */
  priceMicroUsd: integer("price_micro_usd").notNull().default(0),
  /** Spend included per billing period. */
  allowanceMicroUsd: integer("allowance_micro_usd").notNull(),
  requestsPerMinute: integer("requests_per_minute").notNull(),
  tokensPerMinute: integer("tokens_per_minute").notNull(),
  concurrentRequests: integer("concurrent_requests").notNull(),
  models: text("models"),
  /** The Stripe price whose subscriptions put a subscriber on this plan. */
  stripePriceId: text("stripe_price_id").unique(),
  createdAt: integer("created_at").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** Price per model in micro-USD per million tokens; the row with model '*' prices every other model. */
export const modelPrices = sqliteTable("model_prices", {
  model: text("model").primaryKey(),
  inputMicroUsdPerMtok: integer("input_micro_usd_per_mtok").notNull(),
  outputMicroUsdPerMtok: integer("output_micro_usd_per_mtok").notNull(),
  cachedInputMicroUsdPerMtok: integer("cached_input_micro_usd_per_mtok").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

/** One-off credit granted by an operator: spent after the period's allowance, never expires. */
export const creditGrants = sqliteTable(
  "credit_grants",
  {
    id: text("id").primaryKey(),
    subscriberId: text("subscriber_id")
      .notNull()
      .references(() => subscribers.id),
    amountMicroUsd: integer("amount_micro_usd").notNull(),
    note: text("note"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("credit_grants_subscriber_idx").on(t.subscriberId)],
);

/** Which subscriber a Stripe customer is (learnt from checkout.session.completed). */
export const stripeCustomers = sqliteTable(
  "stripe_customers",
  {
    customerId: text("customer_id").primaryKey(),
    subscriberId: text("subscriber_id")
      .notNull()
      .references(() => subscribers.id),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("stripe_customers_subscriber_idx").on(t.subscriberId)],
);

/**
 * Stripe subscriptions as the webhooks told them. Each field group keeps the version
 * (`created` of the event, zero-padded, then a rank of the event type and the event id) of the
 * event that set it, and only a higher version replaces it: deliveries in any order converge.
 */
export const stripeSubscriptions = sqliteTable(
  "stripe_subscriptions",
  {
    id: text("id").primaryKey(),
    customerId: text("customer_id"),
    /** From metadata.subscriber_id / client_reference_id when Stripe carried it. */
    subscriberId: text("subscriber_id"),
    status: text("status"),
    statusVersion: text("status_version").notNull().default(""),
    priceId: text("price_id"),
    priceVersion: text("price_version").notNull().default(""),
    periodStart: integer("period_start"),
    periodEnd: integer("period_end"),
    periodVersion: text("period_version").notNull().default(""),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("stripe_subscriptions_customer_idx").on(t.customerId), index("stripe_subscriptions_subscriber_idx").on(t.subscriberId)],
);

/** Stripe event ids already processed: a redelivered or replayed event changes nothing. */
export const stripeEvents = sqliteTable("stripe_events", {
  id: text("id").primaryKey(),
  type: text("type").notNull(),
  created: integer("created").notNull(),
  receivedAt: integer("received_at").notNull(),
});

export type Plan = typeof plans.$inferSelect;
export type ModelPriceRow = typeof modelPrices.$inferSelect;

/**
 * Settlement with miners (src/chain/settlement): one row per closed epoch of a subnet. Written
 * with its inputs and planned weights and payouts BEFORE anything is submitted, so a rerun after a
 * crash reconciles from here with the chain. Big integers (work, rao) are decimal TEXT: D1 numbers
 * are doubles past 2^53.
 */
export const settlements = sqliteTable(
  "settlements",
  {
    /** `<netuid>:<epoch>`. */
    id: text("id").primaryKey(),
    netuid: integer("netuid").notNull(),
    /** Index of the closed epoch whose work this settles (the chain's epoch index, or block / SETTLEMENT_EPOCH_BLOCKS). */
    epoch: integer("epoch").notNull(),
    epochBlocks: integer("epoch_blocks").notNull(),
    /** Best block when the settlement was planned. */
    plannedAtBlock: integer("planned_at_block").notNull(),
    /** Usage window, Unix ms: created_at >= window_start AND created_at < window_end. */
    windowStart: integer("window_start").notNull(),
    windowEnd: integer("window_end").notNull(),
    validatorHotkey: text("validator_hotkey").notNull(),
    validatorUid: integer("validator_uid"),
    /** 'set_weights' | 'commit_reveal' (follows the subnet's CommitRevealWeightsEnabled). */
    mode: text("mode").notNull(),
    versionKey: integer("version_key").notNull(),
    /** pending | committed | done | skipped | superseded | failed */
    weightsStatus: text("weights_status").notNull(),
    /** JSON [[uid, weight u16], ...] as submitted (max 65535). */
    weights: text("weights").notNull(),
    /** Commit-reveal: JSON u16[] salt (secret until revealed) and the BlakeTwo256 commit hash. */
    salt: text("salt"),
    commitHash: text("commit_hash"),
    /** Block whose inclusion of commit_weights opened the reveal wait. */
    commitBlock: integer("commit_block"),
    /** disabled | pending | done | skipped | failed */
    payoutStatus: text("payout_status").notNull(),
    /** Subscriber charges in the window (sum of usage_events.cost_micro_usd). */
    revenueMicroUsd: integer("revenue_micro_usd").notNull(),
    payoutPoolRao: text("payout_pool_rao").notNull(),
    /** The formula version the inputs were computed with (README: recomputing weights). */
    formula: text("formula").notNull(),
    lastError: text("last_error"),
    lastErrorAt: integer("last_error_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("settlements_netuid_epoch_uq").on(t.netuid, t.epoch)],
);

/** Each miner's verified work, weight and payout in one settlement. */
export const settlementMiners = sqliteTable(
  "settlement_miners",
  {
    settlementId: text("settlement_id").notNull(),
    hotkey: text("hotkey").notNull(),
    /** null: not registered on the subnet when the epoch closed (work recorded, nothing owed). */
    uid: integer("uid"),
    coldkey: text("coldkey"),
    requestsCounted: integer("requests_counted").notNull(),
    requestsExcluded: integer("requests_excluded").notNull(),
    promptTokens: integer("prompt_tokens").notNull(),
    completionTokens: integer("completion_tokens").notNull(),
    /** Counted tokens x model price, pico-USD (decimal). */
    valuePusd: text("value_pusd").notNull(),
    successPpm: integer("success_ppm").notNull(),
    honestyPpm: integer("honesty_ppm").notNull(),
    canaryPpm: integer("canary_ppm").notNull(),
    qualityPpm: integer("quality_ppm").notNull(),
    /** value x quality, pico-USD (decimal): what the weights are proportional to. */
    work: text("work").notNull(),
    weight: integer("weight").notNull(),
    payoutRao: text("payout_rao").notNull(),
    /** planned | paid | skipped_minimum | skipped_existential_deposit | skipped_no_coldkey | none */
    payoutStatus: text("payout_status").notNull(),
  },
  (t) => [primaryKey({ columns: [t.settlementId, t.hotkey] })],
);

/**
 * Every extrinsic a settlement signs, stored (bytes and hash) BEFORE it is broadcast. With its
 * nonce and mortal era it decides, after a crash, whether the chain has it, can still get it, or
 * can never get it; only in the last case is a new one signed.
 */
export const settlementExtrinsics = sqliteTable(
  "settlement_extrinsics",
  {
    id: text("id").primaryKey(),
    settlementId: text("settlement_id").notNull(),
    /** set_weights | commit_weights | reveal_weights | payout */
    kind: text("kind").notNull(),
    signer: text("signer").notNull(),
    nonce: integer("nonce").notNull(),
    txHash: text("tx_hash").notNull(),
    txHex: text("tx_hex").notNull(),
    /** Valid in blocks birth_block <= n < death_block (mortal era). */
    birthBlock: integer("birth_block").notNull(),
    deathBlock: integer("death_block").notNull(),
    /** signed | included | failed | dead */
    status: text("status").notNull(),
    blockNumber: integer("block_number"),
    blockHash: text("block_hash"),
    /** Pallet error (`section.Name`) or pool refusal. */
    error: text("error"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [
    uniqueIndex("settlement_extrinsics_hash_uq").on(t.txHash),
    index("settlement_extrinsics_settlement_idx").on(t.settlementId),
    // At most one extrinsic per settlement and kind may be in flight or have succeeded: even two
    // runs that raced past the lock cannot both store (and so broadcast) a second payout.
    uniqueIndex("settlement_extrinsics_live_uq")
      .on(t.settlementId, t.kind)
      .where(sql`${t.status} IN ('signed', 'included')`),
  ],
);

/** One settlement run per subnet at a time (cron and the admin trigger may overlap). */
export const settlementLocks = sqliteTable("settlement_locks", {
  netuid: integer("netuid").primaryKey(),
  owner: text("owner").notNull(),
  expiresAt: integer("expires_at").notNull(),
});

/**
 * The chain a subnet's settlements were recorded on: its genesis hash, stored by the first
 * settlement run. A later run against a chain with another genesis (a restarted local chain, a
 * wrong SUBTENSOR_URL) refuses to settle instead of comparing epochs of two different chains.
 */
export const settlementChain = sqliteTable("settlement_chain", {
  netuid: integer("netuid").primaryKey(),
  genesisHash: text("genesis_hash").notNull(),
  firstSeenAt: integer("first_seen_at").notNull(),
});

export type SettlementRow = typeof settlements.$inferSelect;
export type SettlementMinerRow = typeof settlementMiners.$inferSelect;
export type SettlementExtrinsicRow = typeof settlementExtrinsics.$inferSelect;

/**
 * Spend per agent run for `x-gateway-session-budget-usd`: the settled cost of a session's
 * requests (session = the affinity key, already scoped to the subscriber), counted from the first
 * request that carried the header. Written once per settled request, read once per budgeted one.
 */
export const sessionSpend = sqliteTable(
  "session_spend",
  {
    subscriberId: text("subscriber_id").notNull(),
    sessionKey: text("session_key").notNull(),
    spentMicroUsd: integer("spent_micro_usd").notNull(),
    requests: integer("requests").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.subscriberId, t.sessionKey] }), index("session_spend_updated_idx").on(t.updatedAt)],
);

// ---------------------------------------------------------------------------------------------
// Usage, metered in batches (docs/metering.md). Every raw event is kept in the R2 archive
// (USAGE_ARCHIVE, one NDJSON object per batch); D1 holds what readers need, written once per
// batch: never a row per request. Absent dimensions are '' (not NULL): SQLite treats NULLs as
// distinct in a primary key, so an upsert could not find the row to add to.

/**
 * The batches already applied: a redelivered batch (queue replay, or the producer's direct write
 * racing its own queue message) changes nothing. Written in the same D1 batch (one transaction) as
 * the rollups it guards.
 */
export const usageBatches = sqliteTable("usage_batches", {
  batchId: text("batch_id").primaryKey(),
  events: integer("events").notNull(),
  /** R2 key of the batch's NDJSON in USAGE_ARCHIVE (written before this row). */
  archiveKey: text("archive_key").notNull(),
  /** When the producer flushed the batch (Unix ms). */
  flushedAt: integer("flushed_at").notNull(),
  appliedAt: integer("applied_at").notNull(),
});

/**
 * Who used what: per subscriber, API key, model, kind and UTC hour. GET /v1/usage and
 * /admin/usage sum these. Token figures are gateway-counted unless named `_reported`.
 */
export const usageHourly = sqliteTable(
  "usage_hourly",
  {
    subscriberId: text("subscriber_id").notNull(),
    /** Start of the UTC hour, Unix ms. */
    hour: integer("hour").notNull(),
    apiKeyId: text("api_key_id").notNull(),
    model: text("model").notNull(),
    kind: text("kind").notNull(),
    /** UTC day (YYYY-MM-DD) of `hour`, for per-day reports without date math in SQL. */
    day: text("day").notNull(),
    requests: integer("requests").notNull(),
    succeeded: integer("succeeded").notNull(),
    promptTokens: integer("prompt_tokens").notNull(),
    completionTokens: integer("completion_tokens").notNull(),
    promptTokensReported: integer("prompt_tokens_reported").notNull(),
    completionTokensReported: integer("completion_tokens_reported").notNull(),
    cachedPromptTokensReported: integer("cached_prompt_tokens_reported").notNull(),
    costMicroUsd: integer("cost_micro_usd").notNull(),
    /**
     * JSON array of this row's newest events (USAGE_RECENT_PER_SUBSCRIBER at most) while its hour
     * is the newest its subscriber was seen in; NULL once they moved to `usage_recent`.
     */
    recent: text("recent"),
  },
  (t) => [primaryKey({ columns: [t.subscriberId, t.hour, t.apiKeyId, t.model, t.kind] })],
);

/**
 * Who served what: per miner, model, kind and second, already sorted into settlement's classes
 * (src/billing/usage-class.ts). Settlement sums a window of whole seconds; the second
 * (not the hour) keeps its windows, which end wherever `now - SETTLEMENT_LAG_MS` falls, exact.
 * `miner_hotkey` '' holds requests no miner took (their cost still counts as revenue).
 */
export const usageMinerSeconds = sqliteTable(
  "usage_miner_seconds",
  {
    /** Start of the second, Unix ms (a multiple of 1000) of the requests' created_at. */
    second: integer("second").notNull(),
    minerHotkey: text("miner_hotkey").notNull(),
    model: text("model").notNull(),
    kind: text("kind").notNull(),
    requests: integer("requests").notNull(),
    counted: integer("counted").notNull(),
    promptTokens: integer("prompt_tokens").notNull(),
    completionTokens: integer("completion_tokens").notNull(),
    served: integer("served").notNull(),
    failed: integer("failed").notNull(),
    refused: integer("refused").notNull(),
    cancelledEmpty: integer("cancelled_empty").notNull(),
    overReported: integer("over_reported").notNull(),
    reportedTokens: integer("reported_tokens").notNull(),
    countedTokensOfReported: integer("counted_tokens_of_reported").notNull(),
    costMicroUsd: integer("cost_micro_usd").notNull(),
  },
  (t) => [primaryKey({ columns: [t.second, t.minerHotkey, t.model, t.kind] })],
);

/**
 * Each subscriber's most recent requests of earlier hours (USAGE_RECENT_PER_SUBSCRIBER, whole
 * events as JSON, newest first); the current hour's are in `usage_hourly.recent`, and the view
 * `usage_recent_events` (migration 0011) reads both: the per-request view (/admin/usage?rows=, the
 * app's recent-requests list). One row per subscriber, rewritten when a batch of a later hour
 * takes its rows' lists over; older events live in the R2 archive. '' holds the gateway's own
 * canary probes.
 */
export const usageRecent = sqliteTable("usage_recent", {
  subscriberId: text("subscriber_id").primaryKey(),
  /** JSON array of UsageEvent objects. */
  events: text("events").notNull(),
  updatedAt: integer("updated_at").notNull(),
});
/**
 * The web app's sign-ins (src/web/identities.ts): one row per OpenID Connect identity (issuer +
 * `sub`), linked to the subscriber its first sign-in created. Only verified e-mails get here.
 */
export const oidcIdentities = sqliteTable(
  "oidc_identities",
  {
    issuer: text("issuer").notNull(),
    subject: text("subject").notNull(),
    subscriberId: text("subscriber_id")
      .notNull()
      .references(() => subscribers.id),
    email: text("email").notNull(),
    createdAt: integer("created_at").notNull(),
    lastLoginAt: integer("last_login_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.issuer, t.subject] }), index("oidc_identities_subscriber_idx").on(t.subscriberId)],
);

/**
 * Browser sessions of the web app (src/web/sessions.ts). The cookie is a signed token naming the
 * row; sign-out and blocking set `revoked_at`, so a copied cookie dies with them.
 */
export const webSessions = sqliteTable(
  "web_sessions",
  {
    id: text("id").primaryKey(),
    /** 'subscriber' | 'operator' */
    role: text("role").notNull(),
    subscriberId: text("subscriber_id"),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("web_sessions_subscriber_idx").on(t.subscriberId)],
);

/** Events counted by the web app's rate limits (sign-ups per client, keys per subscriber). */
export const webRateEvents = sqliteTable(
  "web_rate_events",
  {
    scope: text("scope").notNull(),
    key: text("key").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [index("web_rate_events_scope_key_idx").on(t.scope, t.key, t.createdAt)],
);

export type WebSessionRow = typeof webSessions.$inferSelect;
