/**
 * Configuration of plans and limits, parsed once per env object. Same names in dev, tests and
 * production (see the README's configuration table).
 */
import type { Env } from "../env";

export interface BillingConfig {
  /** The plan of subscribers without one (new ones, and those whose paid subscription ended). */
  defaultPlanId: string;
  /**
   * How long a reservation lives without a heartbeat. The request renews it every third of this
   * while it runs, so only a crashed isolate's reservation ever expires, and within this time.
   */
  leaseTtlMs: number;
}

const parsed = new WeakMap<Env, BillingConfig>();

export function billingConfig(env: Env): BillingConfig {
  let cfg = parsed.get(env);
  if (cfg) return cfg;
  const ttl = env.LEASE_TTL_MS === undefined || env.LEASE_TTL_MS === "" ? 60_000 : Number(env.LEASE_TTL_MS);
  if (!Number.isInteger(ttl) || ttl < 1_000) throw new Error(`Configuration LEASE_TTL_MS must be an integer >= 1000, got '${env.LEASE_TTL_MS}'`);
  cfg = { defaultPlanId: env.DEFAULT_PLAN_ID || "free", leaseTtlMs: ttl };
  parsed.set(env, cfg);
  return cfg;
}
