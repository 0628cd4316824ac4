/**
 * Everything a subscriber's limiter needs from D1, read in one batch: the effective plan, the
 * billing period, the credit granted, and the model prices.
 *
 * Effective plan, first match wins: an active Stripe subscription whose price maps to a plan;
 * the plan an operator set on the subscriber; DEFAULT_PLAN_ID. Billing period: the Stripe
 * subscription's current period (rolled forward by its own length if a renewal is late), else
 * the UTC calendar month.
 */
import { and, desc, eq, inArray, or, sql } from "drizzle-orm";
import { database } from "../db/client";
import { creditGrants, modelPrices, plans, stripeCustomers, stripeSubscriptions, subscribers, type Plan } from "../db/schema";
import { planLimits, type PlanLimits } from "./plans";
import { toModelPrice, type ModelPrice } from "./pricing";

export interface BillingPeriod {
  start: number;
  /** Exclusive; also when the allowance resets. */
  end: number;
}

export interface SubscriberProfile {
  subscriberId: string;
  plan: PlanLimits;
  planSource: "stripe" | "subscriber" | "default";
  period: BillingPeriod;
  creditGrantedMicroUsd: number;
  prices: ModelPrice[];
}

/** Stripe statuses that keep the paid plan (past_due: Stripe is still retrying the payment). */
export const PAID_STATUSES = ["active", "trialing", "past_due"] as const;

export function calendarMonth(now: number): BillingPeriod {
  const d = new Date(now);
  return { start: Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), 1), end: Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1) };
}

/** The period containing `now`: the anchor itself, or the anchor stepped forward by its length. */
export function billingPeriod(now: number, anchor: { start: number | null; end: number | null } | null): BillingPeriod {
  if (!anchor || anchor.start === null || anchor.end === null || anchor.end <= anchor.start) return calendarMonth(now);
  const { start, end } = anchor;
  if (now < end) return { start, end };
  const len = end - start;
  const k = Math.floor((now - start) / len);
  return { start: start + k * len, end: start + (k + 1) * len };
}

export async function loadProfile(d1: D1Database, subscriberId: string, defaultPlanId: string, now = Date.now()): Promise<SubscriberProfile> {
  const db = database(d1);
  const s = stripeSubscriptions;
  const customersOf = db.select({ id: stripeCustomers.customerId }).from(stripeCustomers).where(eq(stripeCustomers.subscriberId, subscriberId));
  const [stripe, own, fallback, credit, priceRows] = await db.batch([
    db
      .select({ plan: plans, periodStart: s.periodStart, periodEnd: s.periodEnd })
      .from(s)
      .innerJoin(plans, eq(plans.stripePriceId, s.priceId))
      .where(and(inArray(s.status, [...PAID_STATUSES]), or(eq(s.subscriberId, subscriberId), inArray(s.customerId, customersOf))))
      .orderBy(desc(s.periodEnd))
      .limit(1),
    db.select({ plan: plans }).from(subscribers).innerJoin(plans, eq(plans.id, subscribers.planId)).where(eq(subscribers.id, subscriberId)),
    db.select().from(plans).where(eq(plans.id, defaultPlanId)),
    db
      .select({ total: sql<number>`coalesce(sum(${creditGrants.amountMicroUsd}), 0)` })
      .from(creditGrants)
      .where(eq(creditGrants.subscriberId, subscriberId)),
    db.select().from(modelPrices),
  ]);

  const paid = stripe[0];
  let plan: Plan;
  let planSource: SubscriberProfile["planSource"];
  if (paid) {
    plan = paid.plan;
    planSource = "stripe";
  } else if (own[0]) {
    plan = own[0].plan;
    planSource = "subscriber";
  } else if (fallback[0]) {
    plan = fallback[0];
    planSource = "default";
  } else {
    throw new Error(`DEFAULT_PLAN_ID '${defaultPlanId}' names no plan`);
  }
  return {
    subscriberId,
    plan: planLimits(plan),
    planSource,
    period: billingPeriod(now, paid ? { start: paid.periodStart, end: paid.periodEnd } : null),
    creditGrantedMicroUsd: Number(credit[0]?.total ?? 0),
    prices: priceRows.map(toModelPrice),
  };
}
