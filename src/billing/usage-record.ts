/**
 * Records usage batches: archive first (R2), then the rollups (D1, once per batch id: the ledger row
 * is inserted first and a batch applied before rolls its transaction back; usage-writer.ts).
 * In that order a failure anywhere loses nothing: the caller retries the batch, the archive write
 * is idempotent by key, the rollups by the ledger. A batch whose ledger row exists is therefore
 * always archived too. `recordUsageBatch` does both for one batch (the producer's direct write
 * when the queue refuses a batch); the queue consumer archives each batch of a delivery with
 * `archiveBatch` and then applies the archived ones together (consumer.ts, usage-delivery.ts).
 */
import { ConfigError, gatewayConfig } from "../config/gateway";
import type { Env } from "../env";
import { archiveUsageBatch } from "./usage-archive";
import { parseBatch, type UsageBatch } from "./usage-batch";
import { DEFAULT_RECENT_PER_SUBSCRIBER, writeUsageBatch, type BatchEvents } from "./usage-writer";

export type UsageStores = Pick<Env, "DB" | "USAGE_ARCHIVE" | "USAGE_RECENT_PER_SUBSCRIBER">;

export async function recordUsageBatch(env: UsageStores, batch: UsageBatch): Promise<{ events: number; rejected: number }> {
  const archived = await archiveBatch(env, batch);
  await writeUsageBatch(env.DB, batch, archived.events, { recentPerSubscriber: recentPerSubscriber(env) });
  return { events: archived.events.length, rejected: archived.rejected };
}

/** Parses and archives one batch; what it returns may then be applied to D1. */
export async function archiveBatch(env: Pick<UsageStores, "USAGE_ARCHIVE">, batch: UsageBatch): Promise<BatchEvents & { rejected: number }> {
  const { events, rejected } = parseBatch(batch);
  // Archived as received (rejected lines too: the archive is the raw record); counted nowhere.
  for (const line of rejected) console.error(`usage batch ${batch.id}: not a usage event, archived but not counted:`, line);
  await archiveUsageBatch(env.USAGE_ARCHIVE, batch, events.length);
  return { batch, events, rejected: rejected.length };
}

/**
 * The consumer never fails on configuration (docs/configuration.md): while a variable is invalid
 * every API route says so, and usage keeps being recorded, here with the default list length.
 */
export function recentPerSubscriber(env: Pick<UsageStores, "USAGE_RECENT_PER_SUBSCRIBER">): number {
  try {
    return gatewayConfig(env).usage.recentPerSubscriber ?? DEFAULT_RECENT_PER_SUBSCRIBER;
  } catch (err) {
    if (err instanceof ConfigError) return DEFAULT_RECENT_PER_SUBSCRIBER;
    throw err;
  }
}
