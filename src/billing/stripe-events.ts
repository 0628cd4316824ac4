/**
 * Reads a Stripe event into what it says about a subscription, as pure data. Handles the
 * payload shapes of both older API versions (`subscription.current_period_*`,
 * `invoice.subscription`, `line.price`) and newer ones (`items.data[].current_period_*`,
 * `invoice.parent.subscription_details`, `line.pricing.price_details`).
 *
 * Each observation carries a version: the event's `created` (zero-padded), then a rank of the
 * event type (a deletion outranks an update of the same second, an update outranks an invoice,
 * an invoice a checkout), then the event id. Stored state only ever moves to a higher version,
 * so duplicates and out-of-order deliveries converge to the same state.
 */
import { isObject, type JsonObject } from "../lib/json";

export const HANDLED_TYPES = [
  "checkout.session.completed",
  "invoice.paid",
  "invoice.payment_succeeded",
  "customer.subscription.created",
  "customer.subscription.updated",
  "customer.subscription.deleted",
] as const;

const RANK: Record<(typeof HANDLED_TYPES)[number], number> = {
  "checkout.session.completed": 1,
  "invoice.paid": 2,
  "invoice.payment_succeeded": 2,
  "customer.subscription.created": 3,
  "customer.subscription.updated": 3,
  "customer.subscription.deleted": 4,
};

export interface StripeEventHead {
  id: string;
  type: string;
  /** Unix seconds. */
  created: number;
}

export interface SubscriptionObservation {
  id: string;
  customerId: string | null;
  subscriberId: string | null;
  status: string | null;
  priceId: string | null;
  /** Unix ms. */
  periodStart: number | null;
  periodEnd: number | null;
}

export interface Observation {
  event: StripeEventHead;
  version: string;
  /** A checkout tells which subscriber a Stripe customer is. */
  customerLink: { customerId: string; subscriberId: string } | null;
  subscription: SubscriptionObservation | null;
}

const str = (v: unknown): string | null => (typeof v === "string" && v !== "" ? v : null);
/** An id field that may be expanded into its object. */
const idOf = (v: unknown): string | null => str(v) ?? (isObject(v) ? str(v.id) : null);
const ms = (v: unknown): number | null => (typeof v === "number" && Number.isInteger(v) && v >= 0 ? v * 1000 : null);
const list = (v: unknown): JsonObject[] => (isObject(v) && Array.isArray(v.data) ? v.data.filter(isObject) : []);
const path = (v: unknown, ...keys: string[]): unknown => keys.reduce<unknown>((o, k) => (isObject(o) ? o[k] : undefined), v);

export function eventHead(v: unknown): StripeEventHead | null {
  if (!isObject(v)) return null;
  const id = str(v.id);
  const type = str(v.type);
  const created = v.created;
  if (!id || !type || typeof created !== "number" || !Number.isInteger(created)) return null;
  return { id, type, created };
}

export function isHandled(type: string): type is (typeof HANDLED_TYPES)[number] {
  return (HANDLED_TYPES as readonly string[]).includes(type);
}

export function versionOf(e: StripeEventHead): string {
  const rank = isHandled(e.type) ? RANK[e.type] : 0;
  return `${String(e.created).padStart(12, "0")}:${rank}:${e.id}`;
}

/** What the event says; null for event types this gateway does not act on. */
export function observe(event: unknown): Observation | null {
  const head = eventHead(event);
  if (!head || !isHandled(head.type)) return null;
  const object = path(event, "data", "object");
  if (!isObject(object)) return null;
  const base = { event: head, version: versionOf(head) };
  switch (head.type) {
    case "checkout.session.completed":
      return { ...base, ...fromCheckout(object) };
    case "invoice.paid":
    case "invoice.payment_succeeded":
      return { ...base, customerLink: null, subscription: fromInvoice(object) };
    case "customer.subscription.created":
    case "customer.subscription.updated":
    case "customer.subscription.deleted":
      return { ...base, customerLink: null, subscription: fromSubscription(object, head.type === "customer.subscription.deleted") };
  }
}

function fromCheckout(s: JsonObject): Pick<Observation, "customerLink" | "subscription"> {
  if (s.mode !== "subscription") return { customerLink: null, subscription: null };
  const subscriberId = str(s.client_reference_id) ?? str(path(s, "metadata", "subscriber_id"));
  const customerId = idOf(s.customer);
  const subscriptionId = idOf(s.subscription);
  const paid = s.payment_status === "paid" || s.payment_status === "no_payment_required";
  // Line items are only present when the session was expanded; the price usually comes from
  // the subscription and invoice events that Stripe sends alongside.
  const priceId = list(s.line_items).map((l) => idOf(l.price)).find((p) => p !== null) ?? str(path(s, "metadata", "price_id"));
  return {
    customerLink: customerId && subscriberId ? { customerId, subscriberId } : null,
    subscription: subscriptionId
      ? { id: subscriptionId, customerId, subscriberId, status: paid ? "active" : null, priceId, periodStart: null, periodEnd: null }
      : null,
  };
}

function fromSubscription(s: JsonObject, deleted: boolean): SubscriptionObservation | null {
  const id = str(s.id);
  if (!id) return null;
  const items = list(s.items);
  const item = items.find((i) => idOf(i.price) !== null) ?? items[0];
  const priceId = (item ? idOf(item.price) : null) ?? idOf(path(s, "plan"));
  const periodStart = ms(item?.current_period_start) ?? ms(s.current_period_start);
  const periodEnd = ms(item?.current_period_end) ?? ms(s.current_period_end);
  return {
    id,
    customerId: idOf(s.customer),
    subscriberId: str(path(s, "metadata", "subscriber_id")),
    status: deleted ? "canceled" : str(s.status),
    priceId,
    periodStart,
    periodEnd,
  };
}

function fromInvoice(inv: JsonObject): SubscriptionObservation | null {
  const lines = list(inv.lines);
  const lineSubscription = (l: JsonObject) => idOf(l.subscription) ?? str(path(l, "parent", "subscription_item_details", "subscription"));
  const id = idOf(inv.subscription) ?? idOf(path(inv, "parent", "subscription_details", "subscription")) ?? lines.map(lineSubscription).find((s) => s !== null) ?? null;
  if (!id) return null; // a one-off invoice: no subscription to renew
  const isProration = (l: JsonObject) => l.proration === true || path(l, "parent", "subscription_item_details", "proration") === true;
  const candidates = lines.filter((l) => !isProration(l) && ms(path(l, "period", "end")) !== null);
  const line = candidates.reduce<JsonObject | undefined>((best, l) => (!best || (ms(path(l, "period", "end")) ?? 0) > (ms(path(best, "period", "end")) ?? 0) ? l : best), undefined);
  const priceId = line ? (idOf(line.price) ?? str(path(line, "pricing", "price_details", "price")) ?? idOf(line.plan)) : null;
  return {
    id,
    customerId: idOf(inv.customer),
    subscriberId:
      str(path(inv, "parent", "subscription_details", "metadata", "subscriber_id")) ?? str(path(inv, "subscription_details", "metadata", "subscriber_id")),
    // A paid invoice means the subscription is paid up for the line's period.
    status: "active",
    priceId,
    periodStart: line ? ms(path(line, "period", "start")) : null,
    periodEnd: line ? ms(path(line, "period", "end")) : null,
  };
}
