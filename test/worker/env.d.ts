import type { D1Migration } from "cloudflare:test";
import type { GatewayVars } from "../../src/config/gateway";
import type { Fixtures } from "./fixtures";

// `env` from cloudflare:test is Cloudflare.Env: the generated bindings (src/worker-configuration.d.ts)
// plus the gateway's optional variables and what vitest.workers.config.ts adds for the tests.
declare global {
  namespace Cloudflare {
    interface Env extends GatewayVars {
      TEST_MIGRATIONS: D1Migration[];
      TEST_FIXTURES: Fixtures;
    }
  }
}
