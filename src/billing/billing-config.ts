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
}

function intVar(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  const v = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isInteger(v) || v < min || v > max) throw new Error(`Configuration ${name} must be an integer between ${min} and ${max}, got '${raw}'`);
  return v;
}

const parsed = new WeakMap<Env, BillingConfig>();

export function billingConfig(env: Env): BillingConfig {
  let cfg = parsed.get(env);
  if (cfg) return cfg;
  const ttl = env.LEASE_TTL_MS === undefined || env.LEASE_TTL_MS === "" ? 60_000 : Number(env.LEASE_TTL_MS);
  if (!Number.isInteger(ttl) || ttl < 1_000) throw new Error(`Configuration LEASE_TTL_MS must be an integer >= 1000, got '${env.LEASE_TTL_MS}'`);
  const fraction = env.GRANT_SLICE_FRACTION === undefined || env.GRANT_SLICE_FRACTION === "" ? 0.1 : Number(env.GRANT_SLICE_FRACTION);
  if (!Number.isFinite(fraction) || fraction < 0 || fraction > 0.5) throw new Error(`Configuration GRANT_SLICE_FRACTION must be a number from 0 to 0.5, got '${env.GRANT_SLICE_FRACTION}'`);
  cfg = {
    defaultPlanId: env.DEFAULT_PLAN_ID || "free",
    leaseTtlMs: ttl,
    grantTtlMs: intVar("GRANT_TTL_MS", env.GRANT_TTL_MS, 5_000, 1_000, 60_000),
    grantSliceFraction: fraction,
    grantIdleMs: intVar("GRANT_IDLE_MS", env.GRANT_IDLE_MS, 1_000, 0, 60_000),
    grantFlushMs: intVar("GRANT_FLUSH_MS", env.GRANT_FLUSH_MS, 200, 0, 10_000),
  };
  parsed.set(env, cfg);
  return cfg;
}
