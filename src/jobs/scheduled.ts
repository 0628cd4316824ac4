/**
 * Cron dispatch of the chain Worker. wrangler.chain.toml lists the cron triggers; each job runs on
 * the trigger named by its variable (METAGRAPH_SYNC_CRON, SETTLEMENT_CRON), or on every trigger
 * when that variable is unset. Under `npm run dev` the dev stack calls this on the same schedule
 * through ChainService.runCron() (wrangler fires no crons for a secondary Worker).
 */
import type { ChainConfig } from "../config/chain";
import type { ChainEnv } from "../env";
import { runMetagraphSync, type MetagraphSyncOutcome } from "./metagraph-sync";
import { runSettlementJob, type SettlementOutcome } from "./settlement";

/** What one trigger ran; a job that did not run on this trigger is absent. */
export type ScheduledReport = { cron: string; sync?: MetagraphSyncOutcome; settlement?: SettlementOutcome };

export async function runScheduled(cron: string, env: ChainEnv, cfg: ChainConfig): Promise<ScheduledReport> {
  const matches = (want: string | null) => want === null || want === cron;
  const report: ScheduledReport = { cron };
  if (cfg.discovery && matches(cfg.metagraphSyncCron)) {
    const outcome = await runMetagraphSync(env, cfg);
    report.sync = outcome;
    if (outcome.ok) console.log(`metagraph sync: netuid ${outcome.netuid} block ${outcome.block}: ${outcome.kept}/${outcome.found} miners kept in ${outcome.durationMs} ms`);
  }
  // After the sync: settlement works from the metagraph as the chain has it, whatever the sync found.
  if (cfg.settlement && matches(cfg.settlementCron)) {
    const outcome = await runSettlementJob(env, cfg);
    report.settlement = outcome;
    if (outcome.ok && outcome.report.ran) console.log(`settlement: netuid ${outcome.report.netuid} block ${outcome.report.block}: ${outcome.report.steps.length} steps, ${outcome.report.errors.length} errors`);
  }
  return report;
}
