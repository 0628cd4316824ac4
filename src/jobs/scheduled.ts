/**
 * Cron dispatch. wrangler.toml lists the cron triggers; each job runs on the trigger named by its
 * variable (METAGRAPH_SYNC_CRON, SETTLEMENT_CRON), or on every trigger when that variable is unset.
 */
import type { Env } from "../env";
import { chainDiscoveryEnabled, runMetagraphSync } from "./metagraph-sync";
import { runSettlementJob, settlementEnabled } from "./settlement";

export async function runScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const matches = (want: string | undefined) => !want || want === controller.cron;
  if (chainDiscoveryEnabled(env) && matches(env.METAGRAPH_SYNC_CRON)) {
    const outcome = await runMetagraphSync(env);
    if (outcome.ok) console.log(`metagraph sync: netuid ${outcome.netuid} block ${outcome.block}: ${outcome.kept}/${outcome.found} miners kept in ${outcome.durationMs} ms`);
  }
  // After the sync: settlement works from the metagraph as the chain has it, whatever the sync found.
  if (settlementEnabled(env) && matches(env.SETTLEMENT_CRON)) {
    const outcome = await runSettlementJob(env);
    if (outcome.ok && outcome.report.ran) console.log(`settlement: netuid ${outcome.report.netuid} block ${outcome.report.block}: ${outcome.report.steps.length} steps, ${outcome.report.errors.length} errors`);
  }
}
