/**
 * The chain Worker: a separate script (wrangler.chain.toml) for everything that talks to
 * Subtensor. It runs the cron jobs and answers the gateway's service-binding calls (`CHAIN`), so
 * @polkadot/api lives only in this bundle and the gateway's fetch path never parses or loads it
 * (measured in the README: bundle size and cold start of both).
 *
 * It has no public route (`workers_dev = false`, no routes): only the gateway can call it.
 */
import type { Env } from "./env";
import { GatewayError, notFound } from "./errors";
import { runMetagraphSync } from "./jobs/metagraph-sync";
import { runScheduled } from "./jobs/scheduled";
import { runSettlementJob } from "./jobs/settlement";

async function handle(request: Request, env: Env): Promise<Response> {
  const { pathname } = new URL(request.url);
  if (request.method === "POST" && pathname === "/sync") {
    const outcome = await runMetagraphSync(env);
    if (!outcome.ok) {
      const status = outcome.code === "chain_not_configured" ? 409 : 502;
      throw new GatewayError(status, status === 409 ? "invalid_request_error" : "api_error", outcome.code, outcome.message);
    }
    return Response.json(outcome);
  }
  if (request.method === "POST" && pathname === "/settle") {
    const outcome = await runSettlementJob(env);
    if (!outcome.ok) {
      const status = outcome.code === "settlement_disabled" ? 409 : outcome.code === "chain_config" ? 500 : 502;
      throw new GatewayError(status, status === 409 ? "invalid_request_error" : "api_error", outcome.code, outcome.message);
    }
    return Response.json(outcome.report);
  }
  throw notFound(`Unknown chain worker route: ${request.method} ${pathname}`);
}

export default {
  async fetch(request, env) {
    try {
      return await handle(request, env);
    } catch (err) {
      if (err instanceof GatewayError) return Response.json(err.toBody(), { status: err.status });
      console.error("chain worker error", err);
      return Response.json({ error: { message: "The chain worker hit an internal error.", type: "server_error", code: "internal_error", param: null } }, { status: 500 });
    }
  },

  async scheduled(controller, env) {
    await runScheduled(controller, env);
  },
} satisfies ExportedHandler<Env>;
