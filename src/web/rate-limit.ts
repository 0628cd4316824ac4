/**
 * Sliding one-hour windows over D1 rows: sign-ups per client address, keys per subscriber. Cheap
 * enough for the rare events they guard (they never run on the inference path). The count and the
 * insert are two statements, so a burst can overshoot by the requests in flight at once; that is
 * acceptable for abuse control (exact limits live in the Durable Objects).
 */
import { and, count, eq, gte, lt } from "drizzle-orm";
import { database } from "../db/client";
import { webRateEvents } from "../db/schema";

export type RateScope = "signup" | "key_create";

const HOUR_MS = 3600_000;

/** True and records the event when under `perHour`; false (nothing recorded) when over. */
export async function takeRateToken(d1: D1Database, scope: RateScope, key: string, perHour: number, now = Date.now()): Promise<boolean> {
  const db = database(d1);
  const since = now - HOUR_MS;
  const row = await db
    .select({ n: count() })
    .from(webRateEvents)
    .where(and(eq(webRateEvents.scope, scope), eq(webRateEvents.key, key), gte(webRateEvents.createdAt, since)))
    .get();
  if ((row?.n ?? 0) >= perHour) return false;
  await db.batch([
    db.insert(webRateEvents).values({ scope, key, createdAt: now }),
    // Old events are dropped as new ones come, so the table stays as small as the windows.
    db.delete(webRateEvents).where(and(eq(webRateEvents.scope, scope), eq(webRateEvents.key, key), lt(webRateEvents.createdAt, since))),
  ]);
  return true;
}
