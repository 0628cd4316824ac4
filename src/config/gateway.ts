/**
 * The gateway Worker's configuration: every variable it reads (src/config/variables.ts), parsed and
 * validated in one place, once per env object. A bad value is a ConfigError naming the variable;
 * the request middleware turns it into a 500 `configuration_error` on every route (including
 * /health) and logs it, the queue and cron handlers throw it (docs/configuration.md).
 */
import { ConfigError, cron, flag, integer, optionalInteger, text, url } from "./parse";
import type { GatewayVariable } from "./variables";

/** The gateway's variables as a Worker sees them: optional strings, validated here. */
export type GatewayVars = { readonly [K in GatewayVariable]?: string };

export { ConfigError } from "./parse";

export interface Config {
  /** ADMIN_TOKEN (secret): the admin API's bearer token; null: no admin API. */
  adminToken: string | null;
  /** STRIPE_WEBHOOK_SECRET (secret); null: /webhooks/stripe answers 404. */
  stripeWebhookSecret: string | null;
  maxBodyBytes: number;
  minerTimeoutMs: number;
  firstByteTimeoutMs: number;
  streamIdleTimeoutMs: number;
  routingDeadlineMs: number;
  maxMinerAttempts: number;
  /**
   * The most the gateway reads of one non-streamed miner answer; past it the connection is closed
   * and the request fails over (a 502 when every miner's is too large).
   */
  maxAnswerBytes: number;
  /**
   * The most the gateway reads of one stream in all, continuations included (the meter keeps the
   * delivered text); past it the stream ends with an error event.
   */
  maxStreamBytes: number;
  /** The most one event of a miner's stream may hold; a larger one is a bad answer. */
  maxEventBytes: number;
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
    /** Longest lifetime (`exp` - `iat`, or `exp` - now without `iat`) a JWT may have, in seconds. */
    maxLifetimeSeconds: number;
  };
  billing: {
    /** The plan of subscribers without one (new ones, and those whose paid subscription ended). */
    defaultPlanId: string;
    /**
     * How long a reservation lives without a heartbeat. The request renews it every third of this
     * while it runs, so only a crashed isolate's reservation ever expires, and within this time.
     */
    leaseTtlMs: number;
    /**
     * Grants (docs/admission.md). A grant book's TTL: what it holds is usable for at most this long
     * after the call that renewed it, so a plan change, a cancellation or a vanished isolate takes
     * effect within it. Books renew at half of it while they hold anything.
     */
    grantTtlMs: number;
    /** One slice is this share of each of the plan's limits (0 turns grants off: every request is a lease). */
    grantSliceFraction: number;
    /** A book with nothing in flight for this long gives everything back (and reports its settlements). */
    grantIdleMs: number;
    /** While requests are in flight, settlements are reported at most this long after they happen. */
    grantFlushMs: number;
    /**
     * After a restart, a limits object holds the charges it may not have written as spent for at
     * least this long, then takes the period's spend from metering instead (docs/admission.md,
     * "The charge slack"). Longer than metering's delay (the usage batch plus the queue's window).
     */
    chargeGraceMs: number;
  };
  /** Metering in batches (docs/metering.md); undefined: the billing module's default. */
  usage: {
    /** USAGE_BATCH_MS: the longest an event waits in the isolate's batch. */
    batchMaxDelayMs: number | undefined;
    /** USAGE_BATCH_MAX_EVENTS: a batch is sent once it holds this many events. */
    batchMaxEvents: number | undefined;
    /** USAGE_RECENT_PER_SUBSCRIBER: recent requests kept per subscriber (0 keeps none). */
    recentPerSubscriber: number | undefined;
  };
  /** The subnet whose metagraph age /health reports; null when chain discovery is off. */
  netuid: number | null;
  /** The cron trigger that runs canaries; null: every trigger of the gateway. */
  canaryCron: string | null;
}

const DEFAULT_JWT_ALGORITHMS = "HS256,RS256,ES256,EdDSA";

function algorithms(value: string | undefined): string[] {
  const list = (text(value) ?? DEFAULT_JWT_ALGORITHMS)
    .split(",")
    .map((a) => a.trim())
    .filter((a) => a !== "");
  if (list.some((a) => a.toLowerCase() === "none")) throw new ConfigError("JWT_ALGORITHMS", "must not list 'none'");
  return list;
}

/** A number from 0 to `max` (a share), `fallback` when unset. */
function fraction(name: string, value: string | undefined, fallback: number, max: number): number {
  const raw = text(value);
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n < 0 || n > max) throw new ConfigError(name, `must be a number from 0 to ${max}, got '${raw}'`);
  return n;
}

/** Pure: reads the variables of a Worker env (or any record of strings). */
export function parseGatewayConfig(env: GatewayVars): Config {
  const leaseTtlMs = integer("LEASE_TTL_MS", env.LEASE_TTL_MS, 60_000, 1_000);
  return {
    adminToken: env.ADMIN_TOKEN || null,
    stripeWebhookSecret: env.STRIPE_WEBHOOK_SECRET || null,
    maxBodyBytes: integer("MAX_BODY_BYTES", env.MAX_BODY_BYTES, 1024 * 1024),
    minerTimeoutMs: integer("MINER_TIMEOUT_MS", env.MINER_TIMEOUT_MS, 300_000),
    firstByteTimeoutMs: integer("FIRST_BYTE_TIMEOUT_MS", env.FIRST_BYTE_TIMEOUT_MS, 15_000),
    streamIdleTimeoutMs: integer("STREAM_IDLE_TIMEOUT_MS", env.STREAM_IDLE_TIMEOUT_MS, 30_000),
    routingDeadlineMs: integer("ROUTING_DEADLINE_MS", env.ROUTING_DEADLINE_MS, 30_000),
    maxMinerAttempts: Math.max(1, integer("MAX_MINER_ATTEMPTS", env.MAX_MINER_ATTEMPTS, 3)),
    // 16 MiB: a parsed and re-serialised answer of that size stays well inside a 128 MB isolate.
    maxAnswerBytes: integer("MINER_MAX_ANSWER_BYTES", env.MINER_MAX_ANSWER_BYTES, 16 * 1024 * 1024, 1024),
    // 32 MiB of SSE is ~160k tokens streamed one per event; what it can make the meter keep is no more than that.
    maxStreamBytes: integer("MINER_MAX_STREAM_BYTES", env.MINER_MAX_STREAM_BYTES, 32 * 1024 * 1024, 1024),
    maxEventBytes: integer("MINER_MAX_EVENT_BYTES", env.MINER_MAX_EVENT_BYTES, 1024 * 1024, 1024),
    authCacheTtlMs: integer("AUTH_CACHE_TTL_MS", env.AUTH_CACHE_TTL_MS, 10_000),
    minerCacheTtlMs: integer("MINER_CACHE_TTL_MS", env.MINER_CACHE_TTL_MS, 5_000),
    metagraphStaleAfterMs: integer("METAGRAPH_STALE_AFTER_MS", env.METAGRAPH_STALE_AFTER_MS, 15 * 60_000),
    jwt: {
      hs256Secret: env.JWT_HS256_SECRET || undefined,
      jwksUrl: url("JWT_JWKS_URL", env.JWT_JWKS_URL, ["https:", "http:"]),
      issuer: text(env.JWT_ISSUER),
      audience: text(env.JWT_AUDIENCE),
      algorithms: algorithms(env.JWT_ALGORITHMS),
      autoProvision: flag("JWT_AUTO_PROVISION", env.JWT_AUTO_PROVISION),
      maxLifetimeSeconds: integer("JWT_MAX_LIFETIME_SECONDS", env.JWT_MAX_LIFETIME_SECONDS, 24 * 3600, 1),
    },
    billing: {
      defaultPlanId: text(env.DEFAULT_PLAN_ID) ?? "free",
      leaseTtlMs,
      grantTtlMs: integer("GRANT_TTL_MS", env.GRANT_TTL_MS, 5_000, 1_000, 60_000),
      grantSliceFraction: fraction("GRANT_SLICE_FRACTION", env.GRANT_SLICE_FRACTION, 0.1, 0.5),
      grantIdleMs: integer("GRANT_IDLE_MS", env.GRANT_IDLE_MS, 1_000, 0, 60_000),
      grantFlushMs: integer("GRANT_FLUSH_MS", env.GRANT_FLUSH_MS, 200, 0, 10_000),
      chargeGraceMs: integer("CHARGE_GRACE_MS", env.CHARGE_GRACE_MS, 60_000, 0, 3_600_000),
    },
    usage: {
      batchMaxDelayMs: optionalInteger("USAGE_BATCH_MS", env.USAGE_BATCH_MS, 1),
      batchMaxEvents: optionalInteger("USAGE_BATCH_MAX_EVENTS", env.USAGE_BATCH_MAX_EVENTS, 1),
      recentPerSubscriber: optionalInteger("USAGE_RECENT_PER_SUBSCRIBER", env.USAGE_RECENT_PER_SUBSCRIBER, 0),
    },
    netuid: optionalInteger("NETUID", env.NETUID, 0, 65535) ?? null,
    canaryCron: cron("CANARY_CRON", env.CANARY_CRON) ?? null,
  };
}

const parsed = new WeakMap<GatewayVars, Config>();

/** Parsed once per isolate per env object: the request path never re-parses strings. Throws ConfigError. */
export function gatewayConfig(env: GatewayVars): Config {
  let cfg = parsed.get(env);
  if (!cfg) {
    cfg = parseGatewayConfig(env);
    parsed.set(env, cfg);
  }
  return cfg;
}
