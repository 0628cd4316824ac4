/**
 * Where usage events go: the USAGE_QUEUE. If the queue refuses the send, the event is written to
 * D1 directly (idempotent by request id), so an outage of one path loses nothing.
 */
import type { Env } from "../env";
import type { UsageEvent } from "./usage-event";
import { writeUsageEvents } from "./usage-writer";

export function usageSink(env: Env): (event: UsageEvent) => Promise<void> {
  return async (event) => {
    try {
      await env.USAGE_QUEUE.send(event, { contentType: "json" });
    } catch (err) {
      console.error(`usage queue send failed for ${event.requestId}; writing to D1 directly`, err);
      await writeUsageEvents(env.DB, [event]);
    }
  };
}
