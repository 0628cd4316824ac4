/**
 * Configuration of plans and limits: the `billing` part of the gateway's configuration
 * (src/config/gateway.ts, DEFAULT_PLAN_ID and LEASE_TTL_MS), for code that holds only `env`
 * (the SubscriberLimits Durable Object).
 */
import { config, type Config, type Env } from "../env";

export type BillingConfig = Config["billing"];

export function billingConfig(env: Env): BillingConfig {
  return config(env).billing;
}
