/**
 * Bindings and configuration. Every name here is the same in dev (`npm run dev` passes them as
 * wrangler vars), tests and production (wrangler.toml [vars] + `wrangler secret put`).
 */
import type { UsageEvent } from "./billing/usage-event";
import type { SubscriberLimits } from "./billing/limits-do";

export interface Env {
  DB: D1Database;
  USAGE_QUEUE: Queue<UsageEvent>;
  /** Shared miner measurements, one object per model (src/routing/health/miner-health-do.ts). */
  MINER_HEALTH?: DurableObjectNamespace<import("./routing/health/miner-health-do").MinerHealth>;
  /** The chain Worker (wrangler.chain.toml): metagraph sync and settlement on demand. */
  CHAIN?: Fetcher;

  ENVIRONMENT?: string;
  /** Bearer token of the admin API. Secret. Admin routes answer 404 when unset. */
  ADMIN_TOKEN?: string;
  /** Secret URI of the gateway's hotkey (mnemonic, optionally with //derivation; `//Alice` in dev). Secret. */
  GATEWAY_HOTKEY_MNEMONIC?: string;

  MAX_BODY_BYTES?: string;
  /** Whole non-streamed miner request. */
  MINER_TIMEOUT_MS?: string;
  /** Until a miner's first body byte (streams) or response headers (non-streamed); past it, fail over. */
  FIRST_BYTE_TIMEOUT_MS?: string;
  /** Longest silence allowed between two chunks of a stream. */
  STREAM_IDLE_TIMEOUT_MS?: string;
  /** All failover attempts of a streamed request must reach a first byte within this. */
  ROUTING_DEADLINE_MS?: string;
  MAX_MINER_ATTEMPTS?: string;
  AUTH_CACHE_TTL_MS?: string;
  MINER_CACHE_TTL_MS?: string;

  JWT_HS256_SECRET?: string;
  JWT_JWKS_URL?: string;
  JWT_ISSUER?: string;
  JWT_AUDIENCE?: string;
  JWT_ALGORITHMS?: string;
  /** Longest lifetime (`exp` - `iat`, or `exp` - now without `iat`) a JWT may have, in seconds (default 86400). */
  JWT_MAX_LIFETIME_SECONDS?: string;
  /** "true": a valid JWT whose `sub` is unknown creates its subscriber on first use. */
  JWT_AUTO_PROVISION?: string;

  SUBTENSOR_URL?: string;
  NETUID?: string;
  ALLOW_PRIVATE_AXONS?: string;
  METAGRAPH_SYNC_CRON?: string;
  /** Which cron trigger runs the canary probes (default: every trigger of the gateway). */
  CANARY_CRON?: string;
  /** A metagraph older than this (ms) is reported stale on /health. */
  METAGRAPH_STALE_AFTER_MS?: string;

  /** Settlement with miners (chain Worker, src/chain/settlement; README "Settlement with miners"). */
  SETTLEMENT_ENABLED?: string;
  /** Which cron trigger runs settlement (default: every trigger of the chain Worker). */
  SETTLEMENT_CRON?: string;
  /** Fixed epoch length in blocks; unset: the subnet's tempo + 1, aligned with the chain's epochs. */
  SETTLEMENT_EPOCH_BLOCKS?: string;
  /** Usage rows younger than this (ms) wait for the next epoch. */
  SETTLEMENT_LAG_MS?: string;
  /** How long one run waits for an extrinsic to be finalized (ms). */
  SETTLEMENT_INCLUSION_TIMEOUT_MS?: string;
  /** version_key for weights; the chain's WeightsVersionKey wins when higher. */
  WEIGHTS_VERSION_KEY?: string;
  PAYOUT_ENABLED?: string;
  /** Share of the window's subscriber revenue paid out, in basis points. */
  PAYOUT_SHARE_BPS?: string;
  /** Exchange rate used for payouts: rao per 1 USD (integer). */
  PAYOUT_RAO_PER_USD?: string;
  PAYOUT_MIN_RAO?: string;
  PAYOUT_MAX_RAO_PER_EPOCH?: string;
  /** Secret URI of the treasury coldkey that pays miners. Secret (chain Worker). */
  PAYOUT_TREASURY_MNEMONIC?: string;

  /** One Durable Object per subscriber: live limits and spend (src/billing/limits-do.ts). */
  LIMITS: DurableObjectNamespace<SubscriberLimits>;
  /** Plan of subscribers without one; "free" when unset (src/billing/billing-config.ts). */
  DEFAULT_PLAN_ID?: string;
  /** Life of a request's reservation without a heartbeat (ms). */
  LEASE_TTL_MS?: string;
  /** Stripe webhook signing secret (`whsec_...`). Secret. Without it /webhooks/stripe answers 404. */
  STRIPE_WEBHOOK_SECRET?: string;
}

export interface Config {
  maxBodyBytes: number;
  minerTimeoutMs: number;
  firstByteTimeoutMs: number;
  streamIdleTimeoutMs: number;
  routingDeadlineMs: number;
  maxMinerAttempts: number;
  authCacheTtlMs: number;
  minerCacheTtlMs: number;
  metagraphStaleAfterMs: number;
  jwt: {
    hs256Secret: string | undefined;
    jwksUrl: string | undefined;
    issuer: string | undefined;
    audience: string | undefined;
    algorithms: string[];
    autoProvision: boolean;
    maxLifetimeSeconds: number;
  };
}

const parsed = new WeakMap<Env, Config>();

function int(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === "") return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`Configuration ${name} must be a non-negative integer, got '${value}'`);
  return n;
}

/** Parsed once per isolate per env object: the request path never re-parses strings. */
export function config(env: Env): Config {
  let cfg = parsed.get(env);
  if (cfg) return cfg;
  cfg = {
    maxBodyBytes: int(env.MAX_BODY_BYTES, 1024 * 1024, "MAX_BODY_BYTES"),
    minerTimeoutMs: int(env.MINER_TIMEOUT_MS, 300_000, "MINER_TIMEOUT_MS"),
    firstByteTimeoutMs: int(env.FIRST_BYTE_TIMEOUT_MS, 15_000, "FIRST_BYTE_TIMEOUT_MS"),
    streamIdleTimeoutMs: int(env.STREAM_IDLE_TIMEOUT_MS, 30_000, "STREAM_IDLE_TIMEOUT_MS"),
    routingDeadlineMs: int(env.ROUTING_DEADLINE_MS, 30_000, "ROUTING_DEADLINE_MS"),
    maxMinerAttempts: Math.max(1, int(env.MAX_MINER_ATTEMPTS, 3, "MAX_MINER_ATTEMPTS")),
    authCacheTtlMs: int(env.AUTH_CACHE_TTL_MS, 10_000, "AUTH_CACHE_TTL_MS"),
    minerCacheTtlMs: int(env.MINER_CACHE_TTL_MS, 5_000, "MINER_CACHE_TTL_MS"),
    metagraphStaleAfterMs: int(env.METAGRAPH_STALE_AFTER_MS, 15 * 60_000, "METAGRAPH_STALE_AFTER_MS"),
    jwt: {
      hs256Secret: env.JWT_HS256_SECRET || undefined,
      jwksUrl: env.JWT_JWKS_URL || undefined,
      issuer: env.JWT_ISSUER || undefined,
      audience: env.JWT_AUDIENCE || undefined,
      algorithms: (env.JWT_ALGORITHMS ?? "HS256,RS256,ES256,EdDSA")
        .split(",")
        .map((a) => a.trim())
        .filter((a) => a !== "" && a.toLowerCase() !== "none"),
      autoProvision: env.JWT_AUTO_PROVISION === "true",
      maxLifetimeSeconds: Math.max(1, int(env.JWT_MAX_LIFETIME_SECONDS, 24 * 3600, "JWT_MAX_LIFETIME_SECONDS")),
    },
  };
  parsed.set(env, cfg);
  return cfg;
}
