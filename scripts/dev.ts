/**
 * `npm run dev`: the gateway at http://127.0.0.1:8787 (PORT overrides) with a dev subnet of three
 * reference miners, D1 migrated and persisted in .wrangler/state, and the dev subscriber's key
 * GATEWAY_DEV_KEY (default sk-dev-local). Both Workers' variables (src/config/variables.ts) come
 * from the environment; with SUBTENSOR_URL and NETUID set the chain Worker's cron triggers run on
 * their schedule (DEV_CHAIN_SCHEDULE_MS overrides it). Ctrl-C stops everything.
 * `npm run dev:subnet` (scripts/dev-subnet.ts) does the same against a local Subtensor.
 */
import { join } from "node:path";
import { ROOT, startDevStack, varsFromEnvironment } from "./lib/dev-stack";

const vars = varsFromEnvironment(process.env);
const scheduleMs = process.env.DEV_CHAIN_SCHEDULE_MS ? Number(process.env.DEV_CHAIN_SCHEDULE_MS) : undefined;
if (scheduleMs !== undefined && !(Number.isInteger(scheduleMs) && scheduleMs > 0)) throw new Error("DEV_CHAIN_SCHEDULE_MS must be a positive integer (ms)");

const stack = await startDevStack({
  port: Number(process.env.PORT ?? 8787),
  persistTo: process.env.DEV_PERSIST_DIR ?? join(ROOT, ".wrangler/state"),
  devKey: process.env.GATEWAY_DEV_KEY ?? "sk-dev-local",
  vars,
  echo: true,
  chainSchedule: { intervalMs: scheduleMs },
});

console.log(`
Gateway ready at ${stack.url}/v1
  API key:      ${stack.devKey}
  Admin token:  ${stack.adminToken}
  Miners:       ${stack.miners.map((m) => `${m.url} (${m.hotkey.slice(0, 8)}…)`).join(", ")}
Try: curl ${stack.url}/v1/chat/completions -H 'authorization: Bearer ${stack.devKey}' \\
       -H 'content-type: application/json' -d '{"model":"demo/tiny-chat","messages":[{"role":"user","content":"hi"}]}'
Ctrl-C stops everything.`);

let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    console.log("\nstopping…");
    void stack.stop().then(() => process.exit(0));
  });
}
