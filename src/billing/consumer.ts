/**
 * The USAGE_QUEUE consumer. Each message is one usage batch (or, from before batching, one bare
 * event); one invocation gets one delivery of up to `max_batch_size` messages gathered over up to
 * `max_batch_timeout` seconds (wrangler.toml; docs/metering.md, "The delivery window").
 *
 *   1. Every batch is archived to R2, one object each (usage-record.ts `archiveBatch`). A batch
 *      whose archive write failed is retried and not applied: a batch with a ledger row is always
 *      archived. The other batches go on without it.
 *   2. The archived batches are applied to D1 in ONE transaction, rollups merged across them
 *      (usage-delivery.ts), falling back to one transaction per batch when a batch of the delivery
 *      was applied before. (A delivery of more than MAX_EVENTS_PER_TRANSACTION events takes one
 *      such transaction per group of batches under that bound.)
 *   3. Only then are their messages acknowledged. A failed transaction retries every message of
 *      it with backoff, never acknowledged, and the dead-letter queue catches what keeps failing.
 *
 * Redelivery is harmless: the archive key and the rollups' ledger are both keyed by the batch id.
 * A message that is not a batch is acknowledged and logged: it could never be written.
 */
import { devFaults, failingD1, type DevFaults } from "../dev/faults";
import type { Env } from "../env";
import { countOp } from "../lib/op-counts";
import { batchOfMessage, type UsageBatch } from "./usage-batch";
import { applyDelivery } from "./usage-delivery";
import { archiveBatch, recentPerSubscriber } from "./usage-record";
import type { BatchEvents } from "./usage-writer";

interface Delivered {
  msg: Message<unknown>;
  batch: UsageBatch;
}

export async function consumeUsageBatch(delivery: MessageBatch<unknown>, env: Env): Promise<void> {
  countOp("usage.consumer_invocation");
  // Dev-only fault injection (src/dev/faults.ts); null in production.
  const faults = devFaults(env);
  const delivered: Delivered[] = [];
  for (const msg of delivery.messages) {
    const batch = batchOfMessage(msg.body);
    if (!batch) {
      // A body that can never be written must not block the queue; it is logged whole.
      console.error("dropping malformed usage message", msg.id, JSON.stringify(msg.body));
      ack(msg);
      continue;
    }
    faults?.delivered(batch.id);
    delivered.push({ msg, batch });
  }

  // 1. The archive first, each batch its own object (in parallel: they are independent).
  const archived = (await Promise.all(delivered.map((d) => archiveOne(env, d)))).filter((a): a is Archived => a !== null);

  // 2. and 3. D1, then acknowledgement: one transaction for the delivery (see transactionGroups).
  for (const group of transactionGroups(archived)) await applyAndAcknowledge(env, faults, group);
}

type Archived = Delivered & { data: BatchEvents };

/**
 * A bound on one transaction's size: a full delivery (100 batches of up to 100 events) would be one
 * D1 request of tens of thousands of statements, which no D1 call should carry (30 s per query,
 * request size). The sparse traffic merging is for stays far below it (200 requests/s over the
 * 10 s window: 2,000 events, one transaction); a delivery above it takes a few.
 */
export const MAX_EVENTS_PER_TRANSACTION = 5_000;

/** The archived batches in delivery order, cut into groups of at most MAX_EVENTS_PER_TRANSACTION events. */
function transactionGroups(archived: readonly Archived[]): Archived[][] {
  const groups: Archived[][] = [];
  let events = Infinity;
  for (const a of archived) {
    if (events + a.data.events.length > MAX_EVENTS_PER_TRANSACTION) {
      groups.push([]);
      events = 0;
    }
    groups[groups.length - 1]!.push(a);
    events += a.data.events.length;
  }
  return groups;
}

/** One transaction for the group (or per batch when some were applied before), then ack or retry. */
async function applyAndAcknowledge(env: Env, faults: DevFaults | null, group: readonly Archived[]): Promise<void> {
  const db = faults?.take("usage_d1_write") ? failingD1(env.DB) : env.DB;
  let failed: Set<string>;
  try {
    ({ failed } = await applyDelivery(
      db,
      group.map((a) => a.data),
      { recentPerSubscriber: recentPerSubscriber(env) },
    ));
  } catch (err) {
    console.error(`usage transaction of ${group.length} batches failed to record; retrying all of them`, err);
    for (const a of group) retry(a.msg);
    return;
  }
  // Acknowledge what is durable.
  for (const { msg, batch } of group) {
    if (failed.has(batch.id)) retry(msg);
    // Dev only: a recorded batch delivered again, as a queue may do.
    else if (faults?.redeliver(batch.id)) msg.retry({ delaySeconds: 0 });
    else ack(msg);
  }
}

/** Archives one delivered batch; on failure its message is retried and it is left out of D1. */
async function archiveOne(env: Env, d: Delivered): Promise<Archived | null> {
  try {
    return { ...d, data: await archiveBatch(env, d.batch) };
  } catch (err) {
    console.error(`usage batch ${d.batch.id} failed to archive; retrying`, err);
    retry(d.msg);
    return null;
  }
}

function ack(msg: Message<unknown>): void {
  msg.ack();
  countOp("usage.consumer_ack");
}

function retry(msg: Message<unknown>): void {
  msg.retry({ delaySeconds: Math.min(60, 2 ** msg.attempts) });
  countOp("usage.consumer_retry");
}
