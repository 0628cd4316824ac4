/**
 * The raw usage archive: every batch's NDJSON, one R2 object per batch, at a key that follows from
 * the batch (so writing it again after a retry replaces the same object: each event is in the
 * archive exactly once). The archive is the record of truth for audit and recomputation; the D1
 * rollups are derived from the same bytes.
 */
import { countOp } from "../lib/op-counts";
import { archiveKey, type UsageBatch } from "./usage-batch";

export async function archiveUsageBatch(bucket: R2Bucket, batch: UsageBatch, events: number): Promise<string> {
  const key = archiveKey(batch);
  countOp("usage.r2_put");
  await bucket.put(key, batch.ndjson.endsWith("\n") ? batch.ndjson : `${batch.ndjson}\n`, {
    httpMetadata: { contentType: "application/x-ndjson" },
    customMetadata: { batchId: batch.id, events: String(events), flushedAt: String(batch.flushedAt) },
  });
  return key;
}
