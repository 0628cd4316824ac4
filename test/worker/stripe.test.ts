/**
 * Stripe webhooks against the real Worker and D1: payloads are signed here with the test secret
 * (HMAC-SHA256 over `${t}.${body}`, computed independently of the gateway's code).
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { call, chat, createPlan, expectOpenAIError, limitsOf, limitsWhen, newSubscriber, registerMiners } from "./helpers";

const SECRET = "whsec_test_secret_for_the_workerd_suite";
const DAY = 86_400;
const enc = new TextEncoder();

async function hmacHex(secret: string, payload: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", enc.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  return [...new Uint8Array(await crypto.subtle.sign("HMAC", key, enc.encode(payload)))].map((b) => b.toString(16).padStart(2, "0")).join("");
}

const nowS = () => Math.floor(Date.now() / 1000);

interface DeliverOptions {
  t?: number;
  secret?: string;
  /** Replaces the whole header. */
  header?: string | null;
  /** Signs one body but sends another. */
  sendBody?: string;
}

async function deliver(event: unknown, o: DeliverOptions = {}): Promise<Response> {
  const body = JSON.stringify(event);
  const t = o.t ?? nowS();
  const header = o.header !== undefined ? o.header : `t=${t},v1=${await hmacHex(o.secret ?? SECRET, `${t}.${body}`)}`;
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (header !== null) headers["stripe-signature"] = header;
  return call("/webhooks/stripe", { method: "POST", headers, body: o.sendBody ?? body });
}

async function accepted(event: unknown): Promise<{ duplicate?: boolean; subscribers?: string[]; handled?: boolean }> {
  const res = await deliver(event);
  expect(res.status).toBe(200);
  return res.json();
}

let seq = 0;
const uid = (p: string) => `${p}_${Date.now().toString(36)}${++seq}`;

function event(type: string, object: Record<string, unknown>, created: number, id = uid("evt")) {
  return { id, object: "event", api_version: "2025-03-31.basil", type, created, livemode: false, data: { object } };
}

interface SubState {
  id: string;
  customer: string;
  status: string;
  price: string;
  start: number;
  end: number;
}

const checkout = (subscriberId: string, customer: string, subscription: string, created: number) =>
  event("checkout.session.completed", { id: uid("cs"), object: "checkout.session", mode: "subscription", payment_status: "paid", client_reference_id: subscriberId, customer, subscription }, created);

/** The newer API shape: periods on the subscription item. */
const subscriptionEvent = (type: string, s: SubState, created: number) =>
  event(type, {
    id: s.id,
    object: "subscription",
    customer: s.customer,
    status: s.status,
    items: { object: "list", data: [{ id: uid("si"), price: { id: s.price, object: "price" }, current_period_start: s.start, current_period_end: s.end }] },
  }, created);

/** The older API shape: invoice.subscription and line.price; a proration line is ignored. */
const invoicePaid = (s: SubState, created: number) =>
  event("invoice.paid", {
    id: uid("in"),
    object: "invoice",
    customer: s.customer,
    subscription: s.id,
    lines: {
      object: "list",
      data: [
        { id: uid("il"), proration: true, price: { id: "price_proration" }, period: { start: s.start - 10, end: s.start } },
        { id: uid("il"), proration: false, price: { id: s.price }, period: { start: s.start, end: s.end } },
      ],
    },
  }, created);

/** The newer API shape: invoice.parent.subscription_details and line.pricing. */
const invoicePaidNew = (s: SubState, created: number) =>
  event("invoice.paid", {
    id: uid("in"),
    object: "invoice",
    customer: s.customer,
    parent: { type: "subscription_details", subscription_details: { subscription: s.id } },
    lines: { object: "list", data: [{ id: uid("il"), pricing: { price_details: { price: s.price } }, period: { start: s.start, end: s.end } }] },
  }, created);

const iso = (s: number) => new Date(s * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");

async function stripeRow(id: string) {
  return env.DB.prepare("SELECT status, price_id, period_start, period_end FROM stripe_subscriptions WHERE id = ?").bind(id).first();
}

async function eventStored(id: string): Promise<boolean> {
  return (await env.DB.prepare("SELECT 1 AS x FROM stripe_events WHERE id = ?").bind(id).first()) !== null;
}

beforeAll(async () => {
  await registerMiners([{ ...env.TEST_FIXTURES.priced, models: ["test/priced"] }]);
});

describe("Stripe webhooks", () => {
  it("a checkout and its subscription put the subscriber on the plan of the Stripe price, at once", async () => {
    const price = uid("price");
    const plan = await createPlan("stripe", { stripe_price_id: price, requests_per_minute: 777 });
    const { key, subscriberId } = await newSubscriber("stripe");
    const s: SubState = { id: uid("sub"), customer: uid("cus"), status: "active", price, start: nowS() - DAY, end: nowS() + 29 * DAY };

    expect((await accepted(checkout(subscriberId, s.customer, s.id, nowS()))).subscribers).toEqual([subscriberId]);
    const res = await accepted(subscriptionEvent("customer.subscription.created", s, nowS()));
    expect(res).toMatchObject({ handled: true, subscribers: [subscriberId] });

    const limits = await limitsOf(subscriberId);
    expect(limits.plan).toMatchObject({ id: plan, source: "stripe" });
    expect(limits.period).toEqual({ start: iso(s.start), end: iso(s.end) });
    const answer = await chat(key, { model: "test/priced", max_tokens: 3 });
    expect(answer.headers.get("x-ratelimit-limit-requests")).toBe("777");
    expect(answer.headers.get("x-allowance-reset")).toBe(iso(s.end));
    await answer.text();
  });

  it("refuses a wrong signature, a stale timestamp and a replayed event id without changing anything", async () => {
    const price = uid("price");
    const plan = await createPlan("stripe-guard", { stripe_price_id: price });
    const { subscriberId } = await newSubscriber("stripe-guard");
    const s: SubState = { id: uid("sub"), customer: uid("cus"), status: "active", price, start: nowS() - DAY, end: nowS() + 29 * DAY };
    await accepted(checkout(subscriberId, s.customer, s.id, nowS() - 100));
    const before = await limitsOf(subscriberId);
    expect(before.plan.source).toBe("default");

    const update = subscriptionEvent("customer.subscription.updated", s, nowS() - 50);
    await expectOpenAIError(await deliver(update, { secret: "whsec_not_the_secret" }), 400, "invalid_signature");
    await expectOpenAIError(await deliver(update, { t: nowS() - 301 }), 400, "timestamp_out_of_tolerance");
    await expectOpenAIError(await deliver(update, { t: nowS() + 301 }), 400, "timestamp_out_of_tolerance");
    await expectOpenAIError(await deliver(update, { header: null }), 400, "invalid_signature");
    await expectOpenAIError(await deliver(update, { header: "v1=abc" }), 400, "invalid_signature");
    const tampered = JSON.stringify({ ...update, data: { object: { ...update.data.object, status: "canceled" } } });
    await expectOpenAIError(await deliver(update, { sendBody: tampered }), 400, "invalid_signature");
    expect(await eventStored(update.id)).toBe(false);
    expect(await stripeRow(s.id)).toMatchObject({ status: "active", price_id: null });
    expect((await limitsOf(subscriberId)).plan).toEqual(before.plan);

    // Applied once; then cancelled; then the first event again (a replay) changes nothing.
    await accepted(update);
    expect((await limitsOf(subscriberId)).plan.id).toBe(plan);
    await accepted(subscriptionEvent("customer.subscription.deleted", { ...s, status: "canceled" }, nowS() - 10));
    expect((await limitsOf(subscriberId)).plan.source).toBe("default");
    expect(await accepted(update)).toMatchObject({ duplicate: true });
    const sameIdOtherBody = { ...subscriptionEvent("customer.subscription.updated", s, nowS()), id: update.id };
    expect(await accepted(sameIdOtherBody)).toMatchObject({ duplicate: true });
    expect(await stripeRow(s.id)).toMatchObject({ status: "canceled" });
    expect((await limitsOf(subscriberId)).plan.source).toBe("default");
  });

  it("accepts any matching v1 signature (secret rolling) and acknowledges event types it does not act on", async () => {
    const e = event("customer.created", { id: uid("cus"), object: "customer" }, nowS());
    const body = JSON.stringify(e);
    const t = nowS();
    const good = await hmacHex(SECRET, `${t}.${body}`);
    const res = await deliver(e, { header: `t=${t},v1=${"0".repeat(64)},v0=ignored,v1=${good}` });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ received: true, handled: false });
    expect(await eventStored(e.id)).toBe(true);

    const stranger = checkout("sub_does_not_exist", uid("cus"), uid("sub"), nowS());
    expect(await accepted(stranger)).toMatchObject({ handled: true, subscribers: [] });
  });

  it("converges to the same state whatever the order and however often events arrive", async () => {
    const [priceA, priceB] = [uid("price"), uid("price")];
    await createPlan("stripe-a", { stripe_price_id: priceA });
    const planB = await createPlan("stripe-b", { stripe_price_id: priceB });
    const t0 = nowS() - 31 * DAY;
    const p1 = { start: nowS() - 30 * DAY - 3600, end: nowS() - 3600 };
    const p2 = { start: nowS() - 3600, end: nowS() + 30 * DAY - 3600 };

    const lifecycle = (subscriberId: string) => {
      const base = { id: uid("sub"), customer: uid("cus") };
      return {
        subscriptionId: base.id,
        events: [
          checkout(subscriberId, base.customer, base.id, t0),
          subscriptionEvent("customer.subscription.created", { ...base, status: "incomplete", price: priceA, ...p1 }, t0),
          invoicePaid({ ...base, status: "active", price: priceA, ...p1 }, t0 + 1),
          subscriptionEvent("customer.subscription.updated", { ...base, status: "active", price: priceB, ...p1 }, t0 + 100),
          invoicePaidNew({ ...base, status: "active", price: priceB, ...p2 }, t0 + 30 * DAY),
          subscriptionEvent("customer.subscription.updated", { ...base, status: "active", price: priceB, ...p2 }, t0 + 30 * DAY),
        ],
      };
    };
    const orders: ((e: unknown[]) => unknown[])[] = [
      (e) => e,
      (e) => [...e].reverse(),
      (e) => [e[4], e[1], e[5], e[0], e[3], e[2]],
      (e) => [...e, ...e].reverse(), // every event twice
    ];
    const rows = [];
    for (const order of orders) {
      const { subscriberId } = await newSubscriber("stripe-order");
      const { subscriptionId, events } = lifecycle(subscriberId);
      for (const e of order(events)) await accepted(e);
      rows.push(await stripeRow(subscriptionId));
      const limits = await limitsOf(subscriberId);
      expect(limits.plan).toMatchObject({ id: planB, source: "stripe" });
      expect(limits.period).toEqual({ start: iso(p2.start), end: iso(p2.end) });
    }
    for (const row of rows) expect(row).toEqual({ status: "active", price_id: priceB, period_start: p2.start * 1000, period_end: p2.end * 1000 });
  });

  it("cancellation moves the subscriber back to the default plan", async () => {
    const price = uid("price");
    const plan = await createPlan("stripe-cancel", { stripe_price_id: price, requests_per_minute: 4321 });
    const { key, subscriberId } = await newSubscriber("stripe-cancel");
    const s: SubState = { id: uid("sub"), customer: uid("cus"), status: "active", price, start: nowS() - DAY, end: nowS() + 29 * DAY };
    await accepted(checkout(subscriberId, s.customer, s.id, nowS() - 60));
    await accepted(invoicePaidNew(s, nowS() - 59));
    expect((await limitsOf(subscriberId)).plan).toMatchObject({ id: plan, source: "stripe" });

    await accepted(subscriptionEvent("customer.subscription.deleted", { ...s, status: "canceled" }, nowS()));
    const after = await limitsOf(subscriberId);
    expect(after.plan).toMatchObject({ id: "unlimited", source: "default" }); // DEFAULT_PLAN_ID of the test config
    expect(after.period.start).toMatch(/^\d{4}-\d{2}-01T00:00:00Z$/);
    const res = await chat(key, { model: "test/priced", max_tokens: 3 });
    expect(res.headers.get("x-plan")).toBe("unlimited");
    await res.text();
  });

  it("a paid renewal invoice starts a new period with a fresh allowance", async () => {
    const price = uid("price");
    await createPlan("stripe-renew", { stripe_price_id: price, allowance_micro_usd: 1_000_000 });
    const { key, subscriberId } = await newSubscriber("stripe-renew");
    const s: SubState = { id: uid("sub"), customer: uid("cus"), status: "active", price, start: nowS() - 20 * DAY, end: nowS() + 10 * DAY };
    await accepted(checkout(subscriberId, s.customer, s.id, nowS() - 20 * DAY));
    await accepted(subscriptionEvent("customer.subscription.created", s, nowS() - 20 * DAY));
    const res = await chat(key, { model: "test/priced", max_tokens: 5 });
    expect(res.status).toBe(200);
    await res.text();
    const spent = await limitsWhen(subscriberId, (l) => l.spend.period_cost_micro_usd > 0);
    expect(spent.spend.period_cost_micro_usd).toBeGreaterThan(0);

    const renewed = { ...s, start: nowS() - 60, end: nowS() + 30 * DAY };
    await accepted(invoicePaid(renewed, nowS()));
    const after = await limitsOf(subscriberId);
    expect(after.period).toEqual({ start: iso(renewed.start), end: iso(renewed.end) });
    expect(after.spend.period_cost_micro_usd).toBe(0);
    expect(after.spend.remaining_micro_usd).toBe(1_000_000);
  });

  it("is answered 405 for other methods", async () => {
    const res = await call("/webhooks/stripe", { method: "GET" });
    await expectOpenAIError(res, 405, "method_not_allowed");
  });
});
