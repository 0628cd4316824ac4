// The platform operations a request causes are counted where they are made and shown in the admin
// usage report (`operations` in GET /admin/usage), which is what `npm run bench` derives its cost
// per request from. In the workerd tests, as under wrangler dev, the gateway and its Durable
// Objects run in one isolate, so both sides of every call show in one report. Counts only:
// nothing else in the answers changes.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, call, chat, newSubscriber, registerMiners, usageRow } from "./helpers";

const fx = env.TEST_FIXTURES;

type Counts = Record<string, number>;

async function isolateOps(): Promise<{ since: number; counts: Counts }> {
  return (await admin<{ operations: { since: number; counts: Counts } }>("GET", "/admin/usage")).operations;
}

const delta = (before: Counts, after: Counts, name: string) => (after[name] ?? 0) - (before[name] ?? 0);

beforeAll(async () => {
  await registerMiners([{ ...fx.healthy[0]!, models: ["demo/tiny-chat"] }]);
});

describe("operation counts", () => {
  it("counts a request's limits calls and rows, its usage batch's queue message, R2 put and D1 rows", async () => {
    const { key } = await newSubscriber("ops");
    const before = await isolateOps();
    const res = await chat(key, { model: "demo/tiny-chat", max_tokens: 4 });
    expect(res.status).toBe(200);
    await res.text();
    await usageRow(res.headers.get("x-request-id")!);
    const after = await isolateOps();
    const d = (name: string) => delta(before.counts, after.counts, name);

    expect(after.since).toBe(before.since); // the same isolate counted both
    // A cold book's first request pays one exchange with the subscriber's object, which wrote its
    // state (one row, however much changed); the object counted the call it served. Expiry is lazy:
    // no alarm is set (an alarm is a billed request and a row of its own).
    expect(d("limits.exchange")).toBeGreaterThanOrEqual(1);
    expect(d("limits.object.exchange")).toBe(d("limits.exchange"));
    expect(d("limits.object.rows.exchange")).toBeGreaterThanOrEqual(1);
    expect(d("limits.object.rows.exchange")).toBeLessThanOrEqual(d("limits.exchange"));
    expect(d("limits.object.alarm")).toBe(0);
    expect(d("usage.queue_send")).toBeGreaterThanOrEqual(1);
    expect(d("usage.consumer_invocation")).toBeGreaterThanOrEqual(1);
    expect(d("usage.consumer_ack")).toBeGreaterThanOrEqual(1);
    expect(d("usage.r2_put")).toBeGreaterThanOrEqual(1);
    const transactions = d("usage.d1_transaction");
    expect(transactions).toBeGreaterThanOrEqual(1);
    // Each transaction writes at least its ledger row.
    expect(d("usage.d1_rows_written")).toBeGreaterThanOrEqual(transactions);
  });

  it("leaves the subscriber's own usage report and the limits report unchanged", async () => {
    const { key, subscriberId } = await newSubscriber("ops-own");
    const res = await call("/v1/usage", { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.operations).toBeUndefined();
    const limits = await admin<Record<string, unknown>>("GET", `/admin/subscribers/${subscriberId}/limits`);
    expect(limits.operations).toBeUndefined();
  });
});
