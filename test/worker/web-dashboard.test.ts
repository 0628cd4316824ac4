// What the subscriber's pages show (issue #14), from real requests through the reference miners:
// each key's requests, tokens, cost and last use; usage by day and by model; the recent requests
// and the CSV export, all scoped to the one subscriber (another's never appear).
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { keysWithUsage, latestRequests, usageCsv, usageSeries } from "../../src/web/dashboard";
import { admin, chat, jsonPost, newSubscriber, registerMiners, usageRowsFor } from "./helpers";

const fx = env.TEST_FIXTURES;
let alice: { subscriberId: string; keyId: string; key: string };
let aliceSecond: { id: string; key: string };
let bob: { subscriberId: string; keyId: string; key: string };
const ids: Record<string, string[]> = { first: [], second: [], bob: [] };

beforeAll(async () => {
  await registerMiners(fx.healthy.map((m) => ({ ...m, models: ["demo/tiny-chat", "demo/tiny-embed"] })));
  alice = await newSubscriber("dash-alice");
  aliceSecond = await admin<{ id: string; key: string }>("POST", `/admin/subscribers/${alice.subscriberId}/keys`, { name: "second" });
  bob = await newSubscriber("dash-bob");
  const send = async (bucket: string[], res: Promise<Response>) => {
    const r = await res;
    expect(r.status).toBe(200);
    await r.text();
    bucket.push(r.headers.get("x-request-id")!);
  };
  await send(ids.first!, chat(alice.key, { model: "demo/tiny-chat", max_tokens: 4 }));
  await send(ids.first!, jsonPost("/v1/embeddings", alice.key, { model: "demo/tiny-embed", input: "hello" }));
  await send(ids.second!, chat(aliceSecond.key, { model: "demo/tiny-chat", max_tokens: 4 }));
  await send(ids.bob!, chat(bob.key, { model: "demo/tiny-chat", max_tokens: 4 }));
  await usageRowsFor(alice.subscriberId, 3);
  await usageRowsFor(bob.subscriberId, 1);
});

describe("the subscriber's pages", () => {
  it("show each key's requests, tokens, cost and last use", async () => {
    const keys = await keysWithUsage(env.DB, alice.subscriberId);
    expect(keys.map((k) => k.id).sort()).toEqual([alice.keyId, aliceSecond.id].sort());
    const first = keys.find((k) => k.id === alice.keyId)!;
    const second = keys.find((k) => k.id === aliceSecond.id)!;
    expect(first.requests).toBe(2);
    expect(second.requests).toBe(1);
    expect(first.tokens).toBeGreaterThan(0);
    const recent = await latestRequests(env.DB, alice.subscriberId, 10);
    const newestOfFirst = recent.find((r) => r.api_key_id === alice.keyId)!;
    expect(newestOfFirst.request_id).toBe(ids.first!.at(-1));
    expect(first.lastUsedAt).toBe(newestOfFirst.created_at);
    expect(second.lastUsedAt).toBeGreaterThan(0);
  });

  it("chart usage by day and by model, with the totals", async () => {
    const series = await usageSeries(env.DB, alice.subscriberId, 30);
    expect(series.days).toHaveLength(30);
    expect(series.models).toEqual(["demo/tiny-chat", "demo/tiny-embed"]);
    expect(series.totals.requests).toBe(3);
    expect(series.byModel.find((m) => m.model === "demo/tiny-chat")?.requests).toBe(2);
    // Each model's tokens sit on the day its requests were made (read from the rows, so a run across midnight UTC holds too).
    const recent = await latestRequests(env.DB, alice.subscriberId, 10);
    for (const [m, model] of series.models.entries()) {
      const days = new Set(recent.filter((r) => r.model === model).map((r) => new Date(r.created_at).toISOString().slice(0, 10)));
      const perDay = series.tokens[m]!;
      expect(perDay.reduce((a, b) => a + b, 0)).toBe(series.byModel.find((x) => x.model === model)?.tokens);
      series.days.forEach((day, d) => expect(perDay[d]! > 0, `${model} on ${day}`).toBe(days.has(day)));
    }
  });

  it("list and export only the subscriber's own requests", async () => {
    const recent = await latestRequests(env.DB, alice.subscriberId, 10);
    expect(recent.map((r) => r.request_id).sort()).toEqual([...ids.first!, ...ids.second!].sort());
    const csv = await usageCsv(env.DB, alice.subscriberId, Date.now() - 86_400_000);
    const lines = csv.trimEnd().split("\r\n");
    expect(lines[0]).toMatch(/^request_id,created_at,/);
    expect(lines).toHaveLength(4);
    for (const id of [...ids.first!, ...ids.second!]) expect(csv).toContain(id);
    expect(csv).not.toContain(ids.bob![0]);
    expect((await keysWithUsage(env.DB, bob.subscriberId)).map((k) => k.id)).toEqual([bob.keyId]);
    expect((await usageSeries(env.DB, bob.subscriberId, 30)).totals.requests).toBe(1);
  });
});
