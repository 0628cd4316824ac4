/**
 * Stripe Checkout and Billing Portal sessions, created by the gateway through Stripe's REST API
 * (form-encoded bodies, `Authorization: Bearer <secret key>`). The Checkout Session links the
 * subscriber three ways (client_reference_id, the session's metadata and the subscription's
 * metadata), which is what the webhook (src/billing/stripe-events.ts) reads to apply the plan.
 */
import { desc, eq } from "drizzle-orm";
import { database } from "../db/client";
import { stripeCustomers } from "../db/schema";
import { GatewayError } from "../errors";
import { isObject } from "../lib/json";

export interface StripeApi {
  secretKey: string;
  apiBase: string;
}

export interface CheckoutRequest {
  subscriberId: string;
  priceId: string;
  email: string | null;
  /** Known Stripe customer of this subscriber (a second subscription stays on one customer). */
  customerId: string | null;
  successUrl: string;
  cancelUrl: string;
}

const stripeFailed = (what: string) => new GatewayError(502, "api_error", "stripe_error", `Stripe did not create the ${what}. Try again in a moment.`);

async function post(api: StripeApi, path: string, form: URLSearchParams, idempotencyKey: string, what: string): Promise<string> {
  let body: unknown;
  let status = 0;
  try {
    const res = await fetch(`${api.apiBase}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${api.secretKey}`, "content-type": "application/x-www-form-urlencoded", "idempotency-key": idempotencyKey },
      body: form,
    });
    status = res.status;
    body = await res.json().catch(() => null);
  } catch {
    throw stripeFailed(what);
  }
  const url = isObject(body) ? body.url : undefined;
  if (status !== 200 || typeof url !== "string" || !/^https?:\/\//.test(url)) {
    // The detail goes to the log (never the secret key); the person gets a plain message.
    const err = isObject(body) && isObject(body.error) ? String(body.error.message ?? body.error.type) : `status ${status}`;
    console.warn(`stripe ${path} failed: ${err}`);
    throw stripeFailed(what);
  }
  return url;
}

/** The Checkout Session's URL, where the person pays. */
export async function createCheckoutSession(api: StripeApi, req: CheckoutRequest, idempotencyKey: string): Promise<string> {
  const form = new URLSearchParams({
    mode: "subscription",
    "line_items[0][price]": req.priceId,
    "line_items[0][quantity]": "1",
    success_url: req.successUrl,
    cancel_url: req.cancelUrl,
    client_reference_id: req.subscriberId,
    "metadata[subscriber_id]": req.subscriberId,
    "metadata[price_id]": req.priceId,
    "subscription_data[metadata][subscriber_id]": req.subscriberId,
  });
  if (req.customerId) form.set("customer", req.customerId);
  else if (req.email) form.set("customer_email", req.email);
  return post(api, "/v1/checkout/sessions", form, idempotencyKey, "checkout session");
}

/** The Billing Portal's URL for the subscriber's Stripe customer. */
export async function createPortalSession(api: StripeApi, customerId: string, returnUrl: string, idempotencyKey: string): Promise<string> {
  return post(api, "/v1/billing_portal/sessions", new URLSearchParams({ customer: customerId, return_url: returnUrl }), idempotencyKey, "billing portal session");
}

/** The subscriber's Stripe customer, as the checkout webhook recorded it (newest first). */
export async function stripeCustomerOf(d1: D1Database, subscriberId: string): Promise<string | null> {
  const row = await database(d1)
    .select({ id: stripeCustomers.customerId })
    .from(stripeCustomers)
    .where(eq(stripeCustomers.subscriberId, subscriberId))
    .orderBy(desc(stripeCustomers.createdAt))
    .get();
  return row?.id ?? null;
}
