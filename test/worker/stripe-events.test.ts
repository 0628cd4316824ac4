/** Reading Stripe payloads of older and newer API versions, and the version order of events. */
import { describe, expect, it } from "vitest";
import { observe, versionOf } from "../../src/billing/stripe-events";

describe("Stripe event reading", () => {
  it("reads an older subscription payload (periods on the subscription, legacy plan)", () => {
    const obs = observe({
      id: "evt_1",
      type: "customer.subscription.updated",
      created: 1_700_000_000,
      data: {
        object: {
          id: "sub_1",
          customer: { id: "cus_1", object: "customer" },
          status: "past_due",
          metadata: { subscriber_id: "sub_gateway" },
          plan: { id: "price_legacy" },
          items: { data: [] },
          current_period_start: 1_700_000_000,
          current_period_end: 1_702_592_000,
        },
      },
    });
    expect(obs?.subscription).toEqual({
      id: "sub_1",
      customerId: "cus_1",
      subscriberId: "sub_gateway",
      status: "past_due",
      priceId: "price_legacy",
      periodStart: 1_700_000_000_000,
      periodEnd: 1_702_592_000_000,
    });
  });

  it("ignores one-off invoices, non-subscription checkouts and unknown types", () => {
    const invoice = { id: "evt_2", type: "invoice.paid", created: 1, data: { object: { id: "in_1", customer: "cus_1", lines: { data: [] } } } };
    expect(observe(invoice)?.subscription).toBeNull();
    const payment = { id: "evt_3", type: "checkout.session.completed", created: 1, data: { object: { mode: "payment", customer: "cus_1" } } };
    expect(observe(payment)).toMatchObject({ customerLink: null, subscription: null });
    expect(observe({ id: "evt_4", type: "charge.refunded", created: 1, data: { object: {} } })).toBeNull();
  });

  it("orders versions by time, then deletion over update over invoice over checkout, then id", () => {
    const v = (type: string, created: number, id = "evt_x") => versionOf({ id, type, created });
    const sorted = [
      v("customer.subscription.deleted", 100),
      v("checkout.session.completed", 100),
      v("invoice.paid", 100),
      v("customer.subscription.updated", 100),
      v("checkout.session.completed", 99),
      v("checkout.session.completed", 1_000),
    ].sort();
    expect(sorted).toEqual([
      v("checkout.session.completed", 99),
      v("checkout.session.completed", 100),
      v("invoice.paid", 100),
      v("customer.subscription.updated", 100),
      v("customer.subscription.deleted", 100),
      v("checkout.session.completed", 1_000),
    ]);
  });
});
