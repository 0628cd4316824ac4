/**
 * POST /webhooks/stripe: Stripe subscription webhooks. The signature is checked over the raw
 * body bytes before anything is parsed; a wrong or stale signature is a 400 and changes nothing.
 * An event id seen before is acknowledged (200, `duplicate: true`) without being applied again.
 * Without STRIPE_WEBHOOK_SECRET the route does not exist (404). Failures to store answer 500 so
 * Stripe retries; events this gateway does not act on are acknowledged and recorded.
 */
import type { Hono } from "hono";
import { limitsStub } from "../../billing/limits-do";
import { eventHead, observe } from "../../billing/stripe-events";
import { verifyStripeSignature } from "../../billing/stripe-signature";
import { eventSeen, recordEvent } from "../../billing/stripe-store";
import { invalidRequest, notFound, payloadTooLarge } from "../../errors";
import type { AppEnv } from "../app-env";

const SIGNATURE_MESSAGES = {
  missing_header: "Missing Stripe-Signature header.",
  malformed_header: "Malformed Stripe-Signature header.",
  timestamp_out_of_tolerance: "The Stripe-Signature timestamp is outside the tolerance; refusing a possible replay.",
  no_matching_signature: "No Stripe-Signature v1 signature matches the payload.",
} as const;

export function registerWebhookRoutes(app: Hono<AppEnv>): void {
  app.post("/webhooks/stripe", async (c) => {
    const secret = c.var.config.stripeWebhookSecret;
    if (!secret) throw notFound("Not found.", "unknown_route");
    const limit = c.var.config.maxBodyBytes;
    if (Number(c.req.header("content-length") ?? "0") > limit) throw payloadTooLarge(limit);
    const body = new Uint8Array(await c.req.arrayBuffer());
    if (body.byteLength > limit) throw payloadTooLarge(limit);

    const check = await verifyStripeSignature(secret, c.req.header("stripe-signature") ?? null, body);
    if (!check.ok) throw invalidRequest(SIGNATURE_MESSAGES[check.reason], null, check.reason === "timestamp_out_of_tolerance" ? "timestamp_out_of_tolerance" : "invalid_signature");

    let event: unknown;
    try {
      event = JSON.parse(new TextDecoder().decode(body));
    } catch {
      throw invalidRequest("The webhook body is not valid JSON.", null, "invalid_json");
    }
    const head = eventHead(event);
    if (!head) throw invalidRequest("The webhook body is not a Stripe event (id, type, created).", null, "invalid_event");
    if (await eventSeen(c.env.DB, head.id)) return c.json({ received: true, id: head.id, duplicate: true });

    const obs = observe(event);
    const affected = await recordEvent(c.env.DB, head, obs);
    // Plans and periods take effect at once for the subscribers concerned.
    await Promise.all(affected.map((id) => limitsStub(c.env, id).refresh()));
    return c.json({ received: true, id: head.id, type: head.type, handled: obs !== null, subscribers: affected });
  });
}
