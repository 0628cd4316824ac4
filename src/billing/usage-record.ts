/**
 * Records one usage batch: archive first (R2), then the rollups (D1, guarded by the batch id).
 * In that order a failure anywhere loses nothing: the caller retries the whole batch, the archive
 * write is idempotent by key, the rollups by the ledger. A batch whose ledger row exists is
 * therefore always archived too. Used by the queue consumer and by the producer's direct write
 * when the queue refuses a batch.
 */
import { ConfigError, gatewayConfig } from "../config/gateway";
import type { Env } from "../env";
import { archiveUsageBatch } from "./usage-archive";
import { parseBatch, type UsageBatch } from "./usage-batch";
import { DEFAULT_RECENT_PER_SUBSCRIBER, writeUsageBatch } from "./usage-writer";

export type UsageStores = Pick<Env, "DB" | "USAGE_ARCHIVE" | "USAGE_RECENT_PER_SUBSCRIBER">;

export async function recordUsageBatch(env: UsageStores, batch: UsageBatch): Promise<{ events: number; rejected: number }> {
  const { events, rejected } = parseBatch(batch);
  // Archived as received (rejected lines too: the archive is the raw record); counted nowhere.
  for (const line of rejected) console.error(`usage batch ${batch.id}: not a usage event, archived but not counted:`, line);
  await archiveUsageBatch(env.USAGE_ARCHIVE, batch, events.length);
  await writeUsageBatch(env.DB, batch, events, { recentPerSubscriber: recentPerSubscriber(env) });
  return { events: events.length, rejected: rejected.length };
}

/**
 * The consumer never fails on configuration (docs/configuration.md): while a variable is invalid
 * every API route says so, and usage keeps being recorded, here with the default list length.
 */
function recentPerSubscriber(env: UsageStores): number {
  try {
    return gatewayConfig(env).usage.recentPerSubscriber ?? DEFAULT_RECENT_PER_SUBSCRIBER;
  } catch (err) {
    if (err instanceof ConfigError) return DEFAULT_RECENT_PER_SUBSCRIBER;
    throw err;
  }
}
