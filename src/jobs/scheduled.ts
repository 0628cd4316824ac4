/**
 * Cron dispatch. wrangler.toml lists the cron triggers; each job runs on the trigger named by its
 * variable (METAGRAPH_SYNC_CRON), or on every trigger when that variable is unset.
 */
import type { Env } from "../env";
import { chainDiscoveryEnabled, runMetagraphSync } from "./metagraph-sync";

export async function runScheduled(controller: ScheduledController, env: Env): Promise<void> {
  const matches = (want: string | undefined) => !want || want === controller.cron;
  if (chainDiscoveryEnabled(env) && matches(env.METAGRAPH_SYNC_CRON)) {
    const outcome = await runMetagraphSync(env);
    if (outcome.ok) console.log(`metagraph sync: netuid ${outcome.netuid} block ${outcome.block}: ${outcome.kept}/${outcome.found} miners kept in ${outcome.durationMs} ms`);
  }
}
