// The platform operations a request causes are counted where they are made and shown in the admin
// reports (`operations` in GET /admin/usage and GET /admin/subscribers/{id}/limits), which is what
// `npm run bench` derives its cost per request from. Counts only: nothing else in the answers changes.
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
  it("counts the limits calls, the usage batch's queue message, R2 put and D1 rows of a request", async () => {
    const { key, subscriberId } = await newSubscriber("ops");
    const before = await isolateOps();
    const res = await chat(key, { model: "demo/tiny-chat", max_tokens: 4 });
    expect(res.status).toBe(200);
    await res.text();
    await usageRow(res.headers.get("x-request-id")!);
    const after = await isolateOps();

    expect(after.since).toBe(before.since); // the same isolate counted both
    // A cold book's first request pays one exchange with the subscriber's object.
    expect(delta(before.counts, after.counts, "limits.exchange")).toBeGreaterThanOrEqual(1);
    expect(delta(before.counts, after.counts, "usage.queue_send")).toBeGreaterThanOrEqual(1);
    expect(delta(before.counts, after.counts, "usage.consumer_ack")).toBeGreaterThanOrEqual(1);
    expect(delta(before.counts, after.counts, "usage.r2_put")).toBeGreaterThanOrEqual(1);
    const transactions = delta(before.counts, after.counts, "usage.d1_transaction");
    expect(transactions).toBeGreaterThanOrEqual(1);
    // Each transaction writes at least its ledger row.
    expect(delta(before.counts, after.counts, "usage.d1_rows_written")).toBeGreaterThanOrEqual(transactions);

    const limits = await admin<{ operations: { since: string; calls: Counts; storage_rows_written: Counts } }>("GET", `/admin/subscribers/${subscriberId}/limits`);
    expect(Number.isNaN(Date.parse(limits.operations.since))).toBe(false);
    expect(limits.operations.calls.exchange).toBeGreaterThanOrEqual(1);
    // The exchange that granted the slice wrote at least the book and the minute bucket.
    expect(limits.operations.storage_rows_written.exchange).toBeGreaterThanOrEqual(2);
  });

  it("keeps the counts out of the subscriber's own usage report", async () => {
    const { key } = await newSubscriber("ops-own");
    const res = await call("/v1/usage", { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body.operations).toBeUndefined();
    expect(body.grants).toBeUndefined();
  });
});
