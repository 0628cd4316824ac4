/**
 * Where usage events go: an isolate-level batcher (usage-batcher.ts) that sends one USAGE_QUEUE
 * message per batch. If the queue refuses a batch, the isolate records it itself, the way the
 * consumer would (archive, then rollups once per batch id: usage-record.ts), so an outage of
 * one path loses nothing, and a send that failed after all reached the queue is not counted twice.
 * If both fail the batch is logged whole (one NDJSON line per event) for replay: docs/metering.md.
 */
import { gatewayConfig } from "../config/gateway";
import { devFaults } from "../dev/faults";
import type { Env } from "../env";
import { countOp } from "../lib/op-counts";
import type { UsageSink } from "../pipeline/contracts";
import { batchMessage, type UsageBatch } from "./usage-batch";
import { DEFAULT_BATCH_OPTIONS, UsageBatcher, type BatcherOptions } from "./usage-batcher";
import { recordUsageBatch } from "./usage-record";

type SinkEnv = Pick<
  Env,
  "DB" | "USAGE_QUEUE" | "USAGE_ARCHIVE" | "USAGE_RECENT_PER_SUBSCRIBER" | "USAGE_BATCH_MS" | "USAGE_BATCH_MAX_EVENTS" | "ENVIRONMENT" | "DEV_FAULT_INJECTION"
>;

const batchers = new WeakMap<SinkEnv, UsageBatcher>();

/** The isolate's batcher for these bindings; one per isolate, shared by every request. */
export function usageBatcher(env: SinkEnv): UsageBatcher {
  let batcher = batchers.get(env);
  if (!batcher) {
    batcher = new UsageBatcher((batch) => handOff(env, batch), batcherOptions(env));
    batchers.set(env, batcher);
  }
  return batcher;
}

export function usageSink(env: SinkEnv): UsageSink {
  const batcher = usageBatcher(env);
  return (event) => batcher.add(event);
}

export async function handOff(env: SinkEnv, batch: UsageBatch): Promise<void> {
  try {
    await env.USAGE_QUEUE.send(batchMessage(batch), { contentType: "v8" });
    countOp("usage.queue_send");
    // Dev only (src/dev/faults.ts): the send reached the queue but reports a failure.
    if (devFaults(env)?.take("usage_queue_late_copy")) throw new Error("dev fault injection: the queue took the batch but the send failed");
    return;
  } catch (err) {
    console.error(`usage queue refused batch ${batch.id}; recording it directly`, err);
  }
  try {
    countOp("usage.direct_write");
    await recordUsageBatch(env, batch);
  } catch (err) {
    console.error(`usage batch ${batch.id} could not be recorded (queue and direct write failed); its events follow for replay`, err);
    console.error(`usage-batch-unrecorded ${JSON.stringify({ id: batch.id, flushedAt: batch.flushedAt })}\n${batch.ndjson}`);
    throw err;
  }
}

function batcherOptions(env: SinkEnv): BatcherOptions {
  const { usage } = gatewayConfig(env);
  return {
    ...DEFAULT_BATCH_OPTIONS,
    maxDelayMs: usage.batchMaxDelayMs ?? DEFAULT_BATCH_OPTIONS.maxDelayMs,
    maxEvents: usage.batchMaxEvents ?? DEFAULT_BATCH_OPTIONS.maxEvents,
  };
}
