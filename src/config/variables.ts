/**
 * Every configuration variable of both Workers, in one list: which Worker reads it and whether it
 * is a secret. The gateway's and the chain Worker's config modules (src/config/gateway.ts,
 * src/config/chain.ts) validate them; `Env` types them as optional strings from this list; the dev
 * stack forwards exactly these names and passes the secret ones out of sight (docs/configuration.md).
 *
 * Plain data with no Workers types: the dev stack (Node) imports it too.
 */

export type WorkerName = "gateway" | "chain";

export interface VariableSpec {
  readonly name: string;
  readonly workers: readonly WorkerName[];
  /** Set with `wrangler secret put` in production; never written to a world-readable file in dev. */
  readonly secret?: boolean;
}

const both = ["gateway", "chain"] as const;
const gateway = ["gateway"] as const;
const chain = ["chain"] as const;

export const VARIABLES = [
  { name: "ENVIRONMENT", workers: both },
  { name: "ADMIN_TOKEN", workers: gateway, secret: true },
  // The gateway signs miner requests with it; the chain Worker signs probes and weights.
  { name: "GATEWAY_HOTKEY_MNEMONIC", workers: both, secret: true },

  { name: "MAX_BODY_BYTES", workers: gateway },
  { name: "MINER_TIMEOUT_MS", workers: gateway },
  { name: "FIRST_BYTE_TIMEOUT_MS", workers: gateway },
  { name: "STREAM_IDLE_TIMEOUT_MS", workers: gateway },
  { name: "ROUTING_DEADLINE_MS", workers: gateway },
  { name: "MAX_MINER_ATTEMPTS", workers: gateway },
  { name: "AUTH_CACHE_TTL_MS", workers: gateway },
  { name: "MINER_CACHE_TTL_MS", workers: gateway },

  { name: "JWT_HS256_SECRET", workers: gateway, secret: true },
  { name: "JWT_JWKS_URL", workers: gateway },
  { name: "JWT_ISSUER", workers: gateway },
  { name: "JWT_AUDIENCE", workers: gateway },
  { name: "JWT_ALGORITHMS", workers: gateway },
  { name: "JWT_AUTO_PROVISION", workers: gateway },
  { name: "JWT_MAX_LIFETIME_SECONDS", workers: gateway },

  // Metering in batches (src/billing/usage-batcher.ts, docs/metering.md).
  { name: "USAGE_BATCH_MS", workers: gateway },
  { name: "USAGE_BATCH_MAX_EVENTS", workers: gateway },
  { name: "USAGE_RECENT_PER_SUBSCRIBER", workers: gateway },

  { name: "DEFAULT_PLAN_ID", workers: gateway },
  { name: "LEASE_TTL_MS", workers: gateway },
  // Grant books (docs/admission.md).
  { name: "GRANT_TTL_MS", workers: gateway },
  { name: "GRANT_SLICE_FRACTION", workers: gateway },
  { name: "GRANT_IDLE_MS", workers: gateway },
  { name: "GRANT_FLUSH_MS", workers: gateway },
  { name: "STRIPE_WEBHOOK_SECRET", workers: gateway, secret: true },
  // Dev-only fault injection for the soak suite (src/dev/faults.ts, docs/soak.md): honoured only
  // with ENVIRONMENT=development; never set in wrangler.toml.
  { name: "DEV_FAULT_INJECTION", workers: gateway },
  { name: "CANARY_CRON", workers: gateway },
  // The gateway reads NETUID only to report the metagraph's age on /health.
  { name: "NETUID", workers: both },
  { name: "METAGRAPH_STALE_AFTER_MS", workers: gateway },

  // The web app (src/web, src/http/web, docs/web-app.md).
  { name: "SESSION_SECRET", workers: gateway, secret: true },
  { name: "OIDC_ISSUER", workers: gateway },
  { name: "OIDC_CLIENT_ID", workers: gateway },
  { name: "OIDC_CLIENT_SECRET", workers: gateway, secret: true },
  { name: "PUBLIC_BASE_URL", workers: gateway },
  { name: "WEB_SESSION_TTL_SECONDS", workers: gateway },
  { name: "SIGNUPS_PER_HOUR", workers: gateway },
  { name: "KEYS_PER_HOUR", workers: gateway },
  { name: "STRIPE_SECRET_KEY", workers: gateway, secret: true },
  { name: "STRIPE_API_BASE", workers: gateway },

  { name: "SUBTENSOR_URL", workers: chain },
  { name: "ALLOW_PRIVATE_AXONS", workers: chain },
  { name: "METAGRAPH_SYNC_CRON", workers: chain },
  { name: "SETTLEMENT_ENABLED", workers: chain },
  { name: "SETTLEMENT_CRON", workers: chain },
  { name: "SETTLEMENT_EPOCH_BLOCKS", workers: chain },
  { name: "SETTLEMENT_LAG_MS", workers: chain },
  { name: "SETTLEMENT_INCLUSION_TIMEOUT_MS", workers: chain },
  { name: "WEIGHTS_VERSION_KEY", workers: chain },
  { name: "PAYOUT_ENABLED", workers: chain },
  { name: "PAYOUT_SHARE_BPS", workers: chain },
  { name: "PAYOUT_RAO_PER_USD", workers: chain },
  { name: "PAYOUT_MIN_RAO", workers: chain },
  { name: "PAYOUT_MAX_RAO_PER_EPOCH", workers: chain },
  { name: "PAYOUT_TREASURY_MNEMONIC", workers: chain, secret: true },
] as const satisfies readonly VariableSpec[];

type Spec = (typeof VARIABLES)[number];
export type VariableName = Spec["name"];
export type GatewayVariable = Extract<Spec, { workers: readonly ["gateway", ...string[]] }>["name"];
export type ChainVariable = Extract<Spec, { workers: readonly [...string[], "chain"] }>["name"];

/** Names a Worker reads. */
export function variablesOf(worker: WorkerName): VariableName[] {
  return VARIABLES.filter((v) => (v.workers as readonly WorkerName[]).includes(worker)).map((v) => v.name);
}

export function isSecret(name: string): boolean {
  return VARIABLES.some((v) => v.name === name && "secret" in v && v.secret);
}

export function isVariable(name: string): name is VariableName {
  return VARIABLES.some((v) => v.name === name);
}
