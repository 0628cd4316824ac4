/**
 * The USAGE_QUEUE consumer. A batch is written to D1 at once; if the write fails every message is
 * retried (with backoff) rather than acknowledged, and the queue's dead-letter queue catches what
 * keeps failing. Duplicate deliveries are harmless: the writer ignores known request ids.
 */
import type { Env } from "../env";
import type { UsageEvent } from "./usage-event";
import { writeUsageEvents } from "./usage-writer";

export async function consumeUsageBatch(batch: MessageBatch<unknown>, env: Env): Promise<void> {
  const valid: Message<unknown>[] = [];
  const events: UsageEvent[] = [];
  for (const msg of batch.messages) {
    if (isUsageEvent(msg.body)) {
      valid.push(msg);
      events.push(msg.body);
    } else {
      // A body that can never be written must not block the queue; it is logged whole.
      console.error("dropping malformed usage message", msg.id, JSON.stringify(msg.body));
      msg.ack();
    }
  }
  if (events.length === 0) return;
  try {
    await writeUsageEvents(env.DB, events);
  } catch (err) {
    console.error(`usage batch of ${events.length} failed to write; retrying`, err);
    for (const msg of valid) msg.retry({ delaySeconds: Math.min(60, 2 ** msg.attempts) });
    return;
  }
  for (const msg of valid) msg.ack();
}

function isUsageEvent(v: unknown): v is UsageEvent {
  if (v === null || typeof v !== "object") return false;
  const e = v as Record<string, unknown>;
  return (
    typeof e.requestId === "string" &&
    typeof e.endpoint === "string" &&
    typeof e.model === "string" &&
    typeof e.status === "string" &&
    typeof e.httpStatus === "number" &&
    typeof e.createdAt === "number" &&
    typeof e.durationMs === "number" &&
    typeof e.promptTokensCounted === "number" &&
    typeof e.completionTokensCounted === "number"
  );
}
