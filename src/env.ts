/**
 * What each Worker sees as `env`. Bindings come from the types `wrangler types` generates from the
 * wrangler configs (src/worker-configuration.d.ts for the gateway, src/web-worker-configuration.d.ts
 * for the web Worker; `npm run types`, never edit by hand); variables are the names in
 * src/config/variables.ts, typed as optional strings because the config modules
 * (src/config/gateway.ts, chain.ts, web.ts) validate them. docs/configuration.md lists them all.
 */
import type { UsageBatchMessage } from "./billing/usage-batch";
import type { ChainVars } from "./config/chain";
import type { GatewayVars } from "./config/gateway";
import type { WebVars } from "./config/web";

// A type alias, not an interface: the generated bindings refer back to this type through the
// Durable Object classes (DurableObject<Env>), which an interface's base types may not do. The
// [vars] wrangler.toml sets are typed `string` by the generated file; secrets and unset variables
// stay optional here.
export type Env = GatewayBindings &
  GatewayVars & {
    /** The generated type says `Queue` (of unknown); the gateway sends usage batches (src/billing/usage-batcher.ts). */
    USAGE_QUEUE: Queue<UsageBatchMessage>;
  };

/** The chain Worker's env (wrangler.chain.toml): the gateway's D1 and its own variables. */
export type ChainEnv = Pick<GatewayBindings, "DB"> & ChainVars;

/** The web Worker's env (wrangler.web.toml): the gateway's D1 and Durable Objects, its static assets, its own variables. */
export type WebWorkerEnv = WebBindings & WebVars;

export { gatewayConfig as config, type Config } from "./config/gateway";
