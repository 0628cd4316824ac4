import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-pool-workers";
import { defineConfig } from "vitest/config";
import { bundleWorker } from "./scripts/lib/bundle-worker";
import { localUsageConsumer } from "./scripts/lib/usage-window";
import "./test/worker/fixtures";

/**
 * Tests inside workerd (the real Workers runtime) with local D1 and Queues. Reference miners and
 * a JWKS server run in Node (global setup) and are reached over loopback like real ones.
 */
export default defineConfig(async () => {
  const migrations = await readD1Migrations("migrations");
  // The real web Worker (src/web-worker.ts), bundled as wrangler would: the gateway forwards the
  // web paths to it over WEB, so /openapi.json, /docs/api and the pages reached through SELF are
  // served by that Worker's own code and configuration, as in production.
  const webScript = await bundleWorker(process.cwd(), "src/web-worker.ts", join(mkdtempSync(join(tmpdir(), "web-worker-test-")), "web-worker.js"));
  return {
    plugins: [
      cloudflareTest(({ inject }) => {
        const fixtures = inject("fixtures");
        return {
        main: "./src/index.ts",
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          // The usage queue's consumer as wrangler.toml has it, with the local delivery window (1 s,
          // not production's 10 s: the tests poll usage right after their requests);
          // USAGE_DELIVERY_WINDOW_S overrides it (scripts/lib/usage-window.ts).
          queueConsumers: localUsageConsumer(process.cwd()),
          // The chain Worker (a separate script with @polkadot/api) is exercised by the
          // end-to-end chain tests; here its RPC entrypoint fails every call like an unreachable
          // chain Worker would (the gateway answers 503 chain_worker_unavailable). The web Worker
          // is the real one (webScript above).
          workers: [
            {
              name: "bittensor-gateway-chain",
              modules: true,
              compatibilityDate: "2026-04-20",
              script: `
                import { WorkerEntrypoint } from "cloudflare:workers";
                const down = () => { throw new Error("chain worker not running in this suite"); };
                export class ChainService extends WorkerEntrypoint { sync() { down(); } settle() { down(); } runCron() { down(); } }
                export default { fetch: () => new Response("chain worker stub", { status: 404 }) };`,
            },
            {
              name: "bittensor-gateway-web",
              modules: true,
              scriptPath: webScript,
              modulesRoot: dirname(webScript),
              compatibilityDate: "2026-04-20",
              compatibilityFlags: ["nodejs_compat"],
              d1Databases: { DB: "00000000-0000-0000-0000-000000000000" },
              // The gateway's objects, as wrangler.web.toml binds them by script_name: here the gateway is
              // the pool's runner Worker, named "vitest-pool-workers-runner-" + the project's name (none).
              durableObjects: {
                LIMITS: { className: "SubscriberLimits", scriptName: "vitest-pool-workers-runner-" },
                MINER_HEALTH: { className: "MinerHealth", scriptName: "vitest-pool-workers-runner-" },
              },
              assets: { directory: "./public", binding: "ASSETS", routerConfig: { has_user_worker: true } },
              // No SESSION_SECRET: the web app itself is off here, as the gateway suite always had it
              // (the page tests call the web app in this isolate with one, test/worker/web-browser.ts).
              bindings: { ENVIRONMENT: "test", ADMIN_TOKEN: "test-admin-token" },
            },
          ],
          serviceBindings: { CHAIN: { name: "bittensor-gateway-chain", entrypoint: "ChainService" }, WEB: "bittensor-gateway-web" },
          bindings: {
            TEST_MIGRATIONS: migrations,
            // Plain JSON data; the cast only satisfies miniflare's `Json` binding type.
            TEST_FIXTURES: fixtures as unknown as Record<string, string>,
            ENVIRONMENT: "test",
            ADMIN_TOKEN: "test-admin-token",
            GATEWAY_HOTKEY_MNEMONIC: "//Alice",
            MINER_TIMEOUT_MS: "3000",
            // Above the routing-under-load miners' 2 s first token (test/worker/routing-load.test.ts).
            FIRST_BYTE_TIMEOUT_MS: "3000",
            STREAM_IDLE_TIMEOUT_MS: "1500",
            MAX_MINER_ATTEMPTS: "4",
            MINER_CACHE_TTL_MS: "0",
            JWT_HS256_SECRET: "test-jwt-secret-that-is-long-enough-0123456789",
            JWT_JWKS_URL: fixtures.jwksUrl,
            JWT_ISSUER: "https://issuer.test",
            JWT_AUDIENCE: "gateway-test",
            JWT_ALGORITHMS: "HS256,RS256",
            // Subscribers the tests create are not throttled unless a test puts them on a plan.
            DEFAULT_PLAN_ID: "unlimited",
            // A restarted limits object reads the metered spend 1 s after the restart, not 60 s
            // (test/worker/grants.test.ts waits for it; the timing itself is tested in grants-state).
            CHARGE_GRACE_MS: "1000",
            STRIPE_WEBHOOK_SECRET: "whsec_test_secret_for_the_workerd_suite",
          },
        },
        };
      }),
    ],
    test: {
      include: ["test/worker/**/*.test.ts"],
      globalSetup: ["test/worker/global-setup.ts"],
      setupFiles: ["test/worker/apply-migrations.ts"],
      testTimeout: 30_000,
      hookTimeout: 60_000,
    },
  };
});
