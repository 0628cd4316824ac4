/**
 * Every configuration variable of the three Workers, in one list: which Workers read it and
 * whether it is a secret. Each Worker's config module (src/config/gateway.ts, chain.ts, web.ts)
 * validates its own; `Env` types them as optional strings from this list; the dev stack forwards
 * exactly these names, to the Workers that read them, and passes the secret ones out of sight
 * (docs/configuration.md).
 *
 * Plain data with no Workers types: the dev stack (Node) imports it too.
 */

export type WorkerName = "gateway" | "chain" | "web";

export interface VariableSpec {
  readonly name: string;
  readonly workers: readonly WorkerName[];
  /** Set with `wrangler secret put` in production; never written to a world-readable file in dev. */
  readonly secret?: boolean;
}

const all = ["gateway", "chain", "web"] as const;
const both = ["gateway", "chain"] as const;
const gateway = ["gateway"] as const;
const chain = ["chain"] as const;
const web = ["web"] as const;
// The console signs operators in with the admin token, reads routing measurements with the
// gateway's cache life, and links web sign-ins to the API's JWT subjects.
const gatewayAndWeb = ["gateway", "web"] as const;

export const VARIABLES = [
  { name: "ENVIRONMENT", workers: all },
  { name: "ADMIN_TOKEN", workers: gatewayAndWeb, secret: true },
  // The gateway signs miner requests with it; the chain Worker signs probes and weights.
  { name: "GATEWAY_HOTKEY_MNEMONIC", workers: both, secret: true },

  { name: "MAX_BODY_BYTES", workers: gateway },
  { name: "MINER_TIMEOUT_MS", workers: gateway },
  { name: "FIRST_BYTE_TIMEOUT_MS", workers: gateway },
  { name: "STREAM_IDLE_TIMEOUT_MS", workers: gateway },
  { name: "ROUTING_DEADLINE_MS", workers: gateway },
  { name: "MAX_MINER_ATTEMPTS", workers: gateway },
  { name: "AUTH_CACHE_TTL_MS", workers: gateway },
  { name: "MINER_CACHE_TTL_MS", workers: gatewayAndWeb },
  // How much of a miner's answer the gateway reads (src/pipeline/dispatch.ts, stream.ts).
  { name: "MINER_MAX_ANSWER_BYTES", workers: gateway },
  { name: "MINER_MAX_STREAM_BYTES", workers: gateway },
  { name: "MINER_MAX_EVENT_BYTES", workers: gateway },

  { name: "JWT_HS256_SECRET", workers: gateway, secret: true },
  { name: "JWT_JWKS_URL", workers: gateway },
  { name: "JWT_ISSUER", workers: gatewayAndWeb },
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
  { name: "CHARGE_GRACE_MS", workers: gateway },
  { name: "STRIPE_WEBHOOK_SECRET", workers: gateway, secret: true },
  // Dev-only fault injection for the soak suite (src/dev/faults.ts, docs/soak.md): honoured only
  // with ENVIRONMENT=development; never set in wrangler.toml.
  { name: "DEV_FAULT_INJECTION", workers: gateway },
  { name: "CANARY_CRON", workers: gateway },
  // The gateway reads NETUID only to report the metagraph's age on /health.
  { name: "NETUID", workers: both },
  { name: "METAGRAPH_STALE_AFTER_MS", workers: gateway },

  // The web Worker (src/web-worker.ts, src/web, src/http/web, docs/web-app.md).
  { name: "SESSION_SECRET", workers: web, secret: true },
  { name: "OIDC_ISSUER", workers: web },
  { name: "OIDC_CLIENT_ID", workers: web },
  { name: "OIDC_CLIENT_SECRET", workers: web, secret: true },
  { name: "PUBLIC_BASE_URL", workers: web },
  { name: "WEB_SESSION_TTL_SECONDS", workers: web },
  { name: "SIGNUPS_PER_HOUR", workers: web },
  { name: "KEYS_PER_HOUR", workers: web },
  { name: "STRIPE_SECRET_KEY", workers: web, secret: true },
  { name: "STRIPE_API_BASE", workers: web },

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
/** The names whose `workers` include W (distributes over the list's entries). */
type NamesOf<W extends WorkerName, S = Spec> = S extends { name: infer N; workers: readonly (infer X)[] } ? (W extends X ? N : never) : never;
export type GatewayVariable = NamesOf<"gateway">;
export type ChainVariable = NamesOf<"chain">;
export type WebVariable = NamesOf<"web">;

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
