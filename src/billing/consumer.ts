/**
 * The USAGE_QUEUE consumer. Each message is one usage batch (or, from before batching, one bare
 * event): it is archived to R2 and folded into the D1 rollups (usage-record.ts), then acknowledged.
 * If either write fails the message is retried with backoff, never acknowledged, and the queue's
 * dead-letter queue catches what keeps failing. Redelivery is harmless: the archive key and the
 * rollups' ledger are both keyed by the batch id.
 */
import { devFaults, failingD1 } from "../dev/faults";
import type { Env } from "../env";
import { countOp } from "../lib/op-counts";
import { batchOfMessage } from "./usage-batch";
import { recordUsageBatch } from "./usage-record";

export async function consumeUsageBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  countOp("usage.consumer_invocation");
  // Dev-only fault injection (src/dev/faults.ts); null in production.
  const faults = devFaults(env);
  // One message at a time: each is its own unit of work and of acknowledgement.
  for (const msg of batch.messages) {
    const usage = batchOfMessage(msg.body);
    if (!usage) {
      // A body that can never be written must not block the queue; it is logged whole.
      console.error("dropping malformed usage message", msg.id, JSON.stringify(msg.body));
      msg.ack();
      countOp("usage.consumer_ack");
      continue;
    }
    faults?.delivered(usage.id);
    try {
      await recordUsageBatch(faults?.take("usage_d1_write") ? { ...env, DB: failingD1(env.DB) } : env, usage);
      // Dev only: a recorded batch delivered again, as a queue may do.
      if (faults?.redeliver(usage.id)) {
        msg.retry({ delaySeconds: 0 });
        continue;
      }
      msg.ack();
      countOp("usage.consumer_ack");
    } catch (err) {
      console.error(`usage batch ${usage.id} failed to record; retrying`, err);
      msg.retry({ delaySeconds: Math.min(60, 2 ** msg.attempts) });
      countOp("usage.consumer_retry");
    }
  }
}
