/**
 * Routing against real reference miners configured to misbehave: scores move traffic to the
 * best miner, failures never reach the client, dishonest and wrong miners lose their share.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { admin, chat, newSubscriber, registerMiners } from "./helpers";

const r = env.TEST_FIXTURES.routing;
let key: string;

interface RoutingView {
  data: { hotkey: string; share: number; circuit: string; score: { honesty: number; canary: number; score: number }; stats: { honesty: number; samples: number } }[];
}

/**
 * Sends `n` independent chats (distinct prompts, so no session affinity) to `model`,
 * `concurrency` at a time; returns each response's status and miner.
 */
async function drive(model: string, n: number, concurrency: number) {
  const out: { status: number; miner: string | null }[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) {
        const i = next++;
        const res = await chat(key, { model, max_tokens: 8, messages: [{ role: "user", content: `Independent request ${i} ${Math.random()}` }] });
        await res.arrayBuffer();
        out.push({ status: res.status, miner: res.headers.get("x-miner-hotkey") });
      }
    }),
  );
  return out;
}

const share = (rows: { miner: string | null }[], hotkey: string) => rows.filter((x) => x.miner === hotkey).length / rows.length;

beforeAll(async () => {
  ({ key } = await newSubscriber("routing"));
  await registerMiners([
    { ...r.fast, models: ["route/mix", "route/honesty", "route/canary"] },
    { ...r.slow, models: ["route/mix"] },
    { ...r.flaky, models: ["route/mix"] },
    { ...r.overReporter, models: ["route/honesty"] },
    { ...r.garbage, models: ["route/canary"] },
  ]);
});

describe("score-based routing", () => {
  it("sends the clear majority to the fast miner, a small minority to the flaky one, and no failure to the client", async () => {
    const warmUp = await drive("route/mix", 40, 4);
    const run = await drive("route/mix", 200, 4);
    expect([...warmUp, ...run].every((x) => x.status === 200)).toBe(true);
    const fast = share(run, r.fast.hotkey);
    const flaky = share(run, r.flaky.hotkey);
    const slow = share(run, r.slow.hotkey);
    console.log(`route/mix shares after warm-up: fast ${fast.toFixed(2)}, slow ${slow.toFixed(2)}, flaky ${flaky.toFixed(2)}`);
    expect(fast).toBeGreaterThan(0.5);
    expect(fast).toBeGreaterThan(2 * slow);
    expect(flaky).toBeLessThan(0.25);
  }, 120_000);

  it("detects a miner reporting twice its tokens and scores it down", async () => {
    // Enough requests that the over-reporter is measured several times even when timing noise on a
    // loaded machine favours the other miner for a while.
    await drive("route/honesty", 100, 4);
    const view = await admin<RoutingView>("GET", "/admin/routing?model=route/honesty");
    const over = view.data.find((m) => m.hotkey === r.overReporter.hotkey)!;
    const honest = view.data.find((m) => m.hotkey === r.fast.hotkey)!;
    expect(over.stats.honesty).toBeLessThan(0.7);
    expect(honest.stats.honesty).toBeGreaterThan(0.95);
    expect(over.share).toBeLessThan(honest.share / 2);
    const later = await drive("route/honesty", 60, 4);
    expect(share(later, r.overReporter.hotkey)).toBeLessThan(0.35);
  }, 120_000);

  it("takes the traffic away from a miner that fails known-answer canaries", async () => {
    const canaries = await admin<{ data: { hotkey: string; model: string; probe: string; pass: boolean }[] }>("POST", "/admin/canaries/run");
    const mine = canaries.data.filter((c) => c.model === "route/canary");
    expect(mine.filter((c) => c.hotkey === r.garbage.hotkey && c.probe === "repeat").every((c) => !c.pass)).toBe(true);
    expect(mine.filter((c) => c.hotkey === r.fast.hotkey).every((c) => c.pass)).toBe(true);

    const view = await admin<RoutingView>("GET", "/admin/routing?model=route/canary");
    expect(view.data.find((m) => m.hotkey === r.garbage.hotkey)!.score.canary).toBe(0);
    const after = await drive("route/canary", 40, 4);
    expect(after.every((x) => x.status === 200)).toBe(true);
    expect(share(after, r.garbage.hotkey)).toBe(0);
  }, 120_000);

  it("meters canary traffic as canary, never to a subscriber", async () => {
    // Canary events are kept in the recent-requests list (the per-request table before batching).
    const canary = "FROM usage_recent_events r, json_each(r.events) e WHERE json_extract(e.value, '$.kind') = 'canary'";
    const { results } = await env.DB.prepare(`SELECT json_extract(e.value, '$.kind') AS kind, json_extract(e.value, '$.subscriberId') AS subscriber_id ${canary} LIMIT 50`).all<{
      kind: string;
      subscriber_id: string | null;
    }>();
    expect(results.length).toBeGreaterThan(0);
    expect(results.every((row) => row.subscriber_id === null)).toBe(true);
    // Wrong answers are recorded as such, so settlement can count failed canaries.
    const wrong = await env.DB.prepare(`SELECT count(*) AS n ${canary} AND json_extract(e.value, '$.minerHotkey') = ? AND json_extract(e.value, '$.status') = 'bad_response'`)
      .bind(r.garbage.hotkey)
      .first<{ n: number }>();
    expect(wrong?.n).toBeGreaterThan(0);
  });
});
