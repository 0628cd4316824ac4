/**
 * The Worker: `fetch` serves the API, `queue` writes usage to D1, `scheduled` runs the periodic
 * jobs. The entry point only composes; the chain code is imported lazily inside `scheduled` so
 * the request path never loads @polkadot/api.
 */
import { createApp } from "./app";
import { consumeUsageBatch } from "./billing/consumer";
import type { Env } from "./env";
import { runScheduled } from "./jobs/scheduled";

const app = createApp();

export default {
  fetch: app.fetch,

  async queue(batch, env) {
    await consumeUsageBatch(batch, env);
  },

  async scheduled(controller, env) {
    await runScheduled(controller, env);
  },
} satisfies ExportedHandler<Env, unknown>;
