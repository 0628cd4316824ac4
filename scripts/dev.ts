/**
 * `npm run dev`: the gateway at http://127.0.0.1:8787 (PORT overrides) with a dev subnet of three
 * reference miners, D1 migrated and persisted in .wrangler/state, and the dev subscriber's key
 * GATEWAY_DEV_KEY (default sk-dev-local). Gateway configuration comes from the environment.
 * Ctrl-C stops everything.
 */
import { join } from "node:path";
import { GATEWAY_VARS, ROOT, startDevStack } from "./lib/dev-stack";

const vars = Object.fromEntries(GATEWAY_VARS.filter((k) => process.env[k] !== undefined).map((k) => [k, process.env[k] as string]));

const stack = await startDevStack({
  port: Number(process.env.PORT ?? 8787),
  persistTo: process.env.DEV_PERSIST_DIR ?? join(ROOT, ".wrangler/state"),
  devKey: process.env.GATEWAY_DEV_KEY ?? "sk-dev-local",
  vars,
  echo: true,
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
