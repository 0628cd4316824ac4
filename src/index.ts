/**
 * The gateway Worker: `fetch` serves the API, `queue` writes usage to D1. The entry point only
 * composes. Chain work runs in the separate chain Worker (src/chain-worker.ts).
 */
import { createApp } from "./app";
import { consumeUsageBatch } from "./billing/consumer";
import type { Env } from "./env";

export { SubscriberLimits } from "./billing/limits-do";

const app = createApp();

export default {
  fetch: app.fetch,

  async queue(batch, env) {
    await consumeUsageBatch(batch, env);
  },
} satisfies ExportedHandler<Env, unknown>;
