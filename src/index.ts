/**
 * The gateway Worker: `fetch` serves the API, `queue` records usage batches (R2 archive + D1
 * rollups, src/billing/consumer.ts), `scheduled` probes miners with canaries. The entry point
 * only composes. Chain work runs in the separate chain Worker (src/chain-worker.ts).
 */
import { createApp } from "./http/app";
import { consumeUsageBatch } from "./billing/consumer";
import { config, type Env } from "./env";
import { runCanaries } from "./routing/canary";

export { SubscriberLimits } from "./billing/limits-do";
export { MinerHealth } from "./routing/health/miner-health-do";

const app = createApp();

export default {
  fetch: app.fetch,

  async queue(batch, env) {
    await consumeUsageBatch(batch, env);
  },

  // The gateway's own cron: canary probes (no chain code; that runs in the chain Worker).
  // A misconfigured variable throws here, naming it: the run fails loudly.
  async scheduled(controller, env) {
    const { canaryCron } = config(env);
    if (canaryCron && canaryCron !== controller.cron) return;
    const results = await runCanaries(env);
    const failed = results.filter((r) => !r.pass);
    console.log(`canaries: ${results.length - failed.length}/${results.length} passed`);
    for (const f of failed) console.warn(`canary ${f.probe} failed for ${f.hotkey} on ${f.model}: ${f.detail}`);
  },
} satisfies ExportedHandler<Env, unknown>;
