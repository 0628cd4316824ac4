/**
 * Writes usage events to D1 in one batch (one implicit transaction): all land or none do.
 * `ON CONFLICT(request_id) DO NOTHING` makes a replayed event a no-op. One statement per row,
 * because D1 caps bound parameters per statement (100) and a row has 20 columns.
 */
import { database } from "../db/client";
import { usageEvents } from "../db/schema";
import { utcDay, type UsageEvent } from "./usage-event";

export async function writeUsageEvents(d1: D1Database, events: readonly UsageEvent[]): Promise<void> {
  if (events.length === 0) return;
  const db = database(d1);
  const [first, ...rest] = events.map((e) =>
    db.insert(usageEvents).values({ ...e, day: utcDay(e.createdAt) }).onConflictDoNothing({ target: usageEvents.requestId }),
  );
  if (!first) return;
  await db.batch([first, ...rest]);
}
