/**
 * Applies the archived batches of one queue delivery to D1. First as ONE transaction with the
 * rollups merged across the batches (usage-writer.ts `writeUsageBatches`): a subscriber seen in
 * several messages of the delivery gets one hourly upsert instead of one per message, which is
 * what D1 bills (rows written). That transaction is all or none: its first statement inserts the
 * batches' ledger rows, so when any of them was applied before (a redelivery grouped with new
 * batches) the ledger's primary key fails it and D1 rolls the whole transaction back; the writer
 * reports that as "not applied". Then, and only then, each batch gets its own transaction, the
 * same SQL with its own ledger row first (the per-batch path, exactly once by itself): the new
 * batches land, and an old one's transaction rolls back the same way, which means "already
 * applied, nothing to do" (acknowledged).
 *
 * Any other failure of the merged transaction is thrown to the caller (nothing of it was written;
 * the caller retries every message of it). In the per-batch fallback a failure is that batch's alone.
 */
import type { D1Database } from "@cloudflare/workers-types";
import { writeUsageBatch, writeUsageBatches, type BatchEvents, type WriteOptions } from "./usage-writer";

export interface DeliveryOutcome {
  /** "merged": one transaction applied every batch; "per_batch": some had been applied before. */
  path: "merged" | "per_batch";
  /** Ids of batches whose own transaction failed in the per-batch fallback (to be retried). */
  failed: Set<string>;
}

export async function applyDelivery(d1: D1Database, batches: readonly BatchEvents[], opts: WriteOptions = {}): Promise<DeliveryOutcome> {
  // A batch the queue delivered twice in one delivery is applied once: its id is its identity.
  const byId = new Map<string, BatchEvents>();
  for (const b of batches) if (!byId.has(b.batch.id)) byId.set(b.batch.id, b);
  const unique = [...byId.values()];
  if (await writeUsageBatches(d1, unique, opts)) return { path: "merged", failed: new Set() };
  const failed = new Set<string>();
  // One batch that did not apply was applied before (its ledger row exists): nothing is left to do for it.
  if (unique.length === 1) return { path: "per_batch", failed };
  for (const b of unique) {
    try {
      await writeUsageBatch(d1, b.batch, b.events, opts);
    } catch (err) {
      console.error(`usage batch ${b.batch.id} failed to record on its own; retrying`, err);
      failed.add(b.batch.id);
    }
  }
  return { path: "per_batch", failed };
}
