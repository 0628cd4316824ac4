/**
 * The chain Worker: a separate script (wrangler.chain.toml) for everything that talks to
 * Subtensor. It runs the cron jobs and serves the gateway over RPC: the gateway's `CHAIN` service
 * binding points at the ChainService entrypoint below, so @polkadot/api lives only in this bundle
 * and the gateway's fetch path never parses or loads it (bundle size and cold start of both are
 * measured in docs/chain-and-settlement.md, "Why a separate Worker").
 *
 * It has no public route (`workers_dev = false`, no routes): only the gateway can call it.
 * Every method answers plain data, `{ok: true, ...}` or `{ok: false, code, message}`; the gateway
 * maps the codes to HTTP (src/http/routes/chain-calls.ts). An exception reaching the gateway therefore
 * means the Worker could not be reached, not that a job failed.
 */
import { WorkerEntrypoint } from "cloudflare:workers";
import { chainConfig, ConfigError, type ChainConfig } from "./config/chain";
import type { ChainEnv } from "./env";
import { runMetagraphSync, type MetagraphSyncOutcome } from "./jobs/metagraph-sync";
import { runScheduled, type ScheduledReport } from "./jobs/scheduled";
import { runSettlementJob, type SettlementOutcome } from "./jobs/settlement";

/** Why the chain Worker did not run a job at all. */
export type ChainWorkerFailure = { ok: false; code: "configuration_error" | "internal_error"; message: string };

/** Reads the configuration first (a bad variable fails every call, naming it), then runs the job. */
async function guarded<T>(env: ChainEnv, what: string, job: (cfg: ChainConfig) => Promise<T>): Promise<T | ChainWorkerFailure> {
  let cfg: ChainConfig;
  try {
    cfg = chainConfig(env);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    console.error(`chain worker configuration error: ${err.message}`);
    return { ok: false, code: "configuration_error", message: err.message };
  }
  try {
    return await job(cfg);
  } catch (err) {
    console.error(`chain worker: ${what} failed`, err);
    return { ok: false, code: "internal_error", message: "The chain worker hit an internal error. It has been logged." };
  }
}

export class ChainService extends WorkerEntrypoint<ChainEnv> {
  /** One metagraph sync now (POST /admin/chain/sync). */
  async sync(): Promise<MetagraphSyncOutcome | ChainWorkerFailure> {
    return guarded(this.env, "metagraph sync", (cfg) => runMetagraphSync(this.env, cfg));
  }

  /** One settlement run now (POST /admin/settlements/run). */
  async settle(): Promise<SettlementOutcome | ChainWorkerFailure> {
    return guarded(this.env, "settlement", (cfg) => runSettlementJob(this.env, cfg));
  }

  /** What the cron trigger `cron` runs, now: the dev stack's stand-in for cron (wrangler fires none for this Worker in dev). */
  async runCron(cron: string): Promise<({ ok: true } & ScheduledReport) | ChainWorkerFailure> {
    return guarded(this.env, `scheduled ${cron}`, async (cfg) => ({ ok: true as const, ...(await runScheduled(cron, this.env, cfg)) }));
  }
}

export default {
  async fetch() {
    return Response.json({ error: { message: "The chain worker has no HTTP routes; the gateway calls it over RPC.", type: "not_found_error", code: "not_found", param: null } }, { status: 404 });
  },

  async scheduled(controller, env) {
    // A misconfigured variable fails the run loudly (logged, and the invocation is marked failed).
    const cfg = chainConfig(env);
    await runScheduled(controller.cron, env, cfg);
  },
} satisfies ExportedHandler<ChainEnv>;
