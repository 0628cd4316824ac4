/**
 * Applies a Stripe observation to D1 in one batch (one transaction): the event id, the
 * customer -> subscriber link, and the subscription's fields. Each field group (status; price;
 * period) is replaced only by a higher event version, in the UPSERT itself, so concurrent and
 * out-of-order deliveries converge without read-modify-write races.
 */
import { eq, sql } from "drizzle-orm";
import type { AnySQLiteColumn } from "drizzle-orm/sqlite-core";
import { database } from "../db/client";
import { stripeCustomers, stripeEvents, stripeSubscriptions, subscribers } from "../db/schema";
import type { Observation } from "./stripe-events";

export async function eventSeen(d1: D1Database, eventId: string): Promise<boolean> {
  const row = await database(d1).select({ id: stripeEvents.id }).from(stripeEvents).where(eq(stripeEvents.id, eventId)).get();
  return row !== undefined;
}

async function subscriberExists(d1: D1Database, id: string | null): Promise<boolean> {
  if (id === null) return false;
  return (await database(d1).select({ id: subscribers.id }).from(subscribers).where(eq(subscribers.id, id)).get()) !== undefined;
}

/** The version text, or '' (lower than any version) when the event does not carry the group. */
const versionIf = (present: boolean, version: string) => (present ? version : "");

/**
 * Records the event and applies what it says. Returns the subscribers whose plan or period may
 * have changed (their Durable Objects must re-read D1). Subscriber ids Stripe carries that do
 * not exist here are ignored (logged), so a bad reference cannot wedge the webhook in retries.
 */
export async function recordEvent(d1: D1Database, head: Observation["event"], obs: Observation | null, now = Date.now()): Promise<string[]> {
  const db = database(d1);
  const insertEvent = db
    .insert(stripeEvents)
    .values({ id: head.id, type: head.type, created: head.created, receivedAt: now })
    .onConflictDoNothing({ target: stripeEvents.id });
  if (!obs) {
    await insertEvent;
    return [];
  }

  const link = obs.customerLink;
  const linkOk = link !== null && (await subscriberExists(d1, link.subscriberId));
  if (link && !linkOk) console.warn(`stripe ${head.id}: unknown subscriber '${link.subscriberId}' for customer ${link.customerId}; link ignored`);
  const sub = obs.subscription;
  const subSubscriberOk = sub !== null && (await subscriberExists(d1, sub.subscriberId));

  const statements = [];
  if (link && linkOk) {
    statements.push(
      db.insert(stripeCustomers).values({ customerId: link.customerId, subscriberId: link.subscriberId, createdAt: now }).onConflictDoNothing({ target: stripeCustomers.customerId }),
    );
  }
  if (sub) {
    const s = stripeSubscriptions;
    const hasPeriod = sub.periodStart !== null && sub.periodEnd !== null;
    const newer = (col: AnySQLiteColumn, ex: string) => sql`excluded.${sql.identifier(ex)} > ${col}`;
    statements.push(
      db
        .insert(s)
        .values({
          id: sub.id,
          customerId: sub.customerId,
          subscriberId: subSubscriberOk ? sub.subscriberId : null,
          status: sub.status,
          statusVersion: versionIf(sub.status !== null, obs.version),
          priceId: sub.priceId,
          priceVersion: versionIf(sub.priceId !== null, obs.version),
          periodStart: hasPeriod ? sub.periodStart : null,
          periodEnd: hasPeriod ? sub.periodEnd : null,
          periodVersion: versionIf(hasPeriod, obs.version),
          updatedAt: now,
        })
        .onConflictDoUpdate({
          target: s.id,
          set: {
            customerId: sql`coalesce(${s.customerId}, excluded.customer_id)`,
            subscriberId: sql`coalesce(${s.subscriberId}, excluded.subscriber_id)`,
            status: sql`case when ${newer(s.statusVersion, "status_version")} then excluded.status else ${s.status} end`,
            statusVersion: sql`max(${s.statusVersion}, excluded.status_version)`,
            priceId: sql`case when ${newer(s.priceVersion, "price_version")} then excluded.price_id else ${s.priceId} end`,
            priceVersion: sql`max(${s.priceVersion}, excluded.price_version)`,
            periodStart: sql`case when ${newer(s.periodVersion, "period_version")} then excluded.period_start else ${s.periodStart} end`,
            periodEnd: sql`case when ${newer(s.periodVersion, "period_version")} then excluded.period_end else ${s.periodEnd} end`,
            periodVersion: sql`max(${s.periodVersion}, excluded.period_version)`,
            updatedAt: now,
          },
        }),
    );
  }
  await db.batch([insertEvent, ...statements]);

  const affected = new Set<string>();
  if (link && linkOk) affected.add(link.subscriberId);
  if (sub) {
    const row = await db
      .select({ direct: stripeSubscriptions.subscriberId, viaCustomer: stripeCustomers.subscriberId })
      .from(stripeSubscriptions)
      .leftJoin(stripeCustomers, eq(stripeCustomers.customerId, stripeSubscriptions.customerId))
      .where(eq(stripeSubscriptions.id, sub.id))
      .get();
    for (const id of [row?.direct, row?.viaCustomer]) if (id) affected.add(id);
  }
  return [...affected];
}
