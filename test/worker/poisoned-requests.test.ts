// A request that every miner fails on the same way is the request's fault: it must not open
// circuits, lower success rates or count against the miners in settlement (issue #15, item 2).
// Three real reference miners that all crash (HTTP 500) on bodies containing a marker.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { USAGE_WINDOW_SQL } from "../../src/chain/settlement/usage";
import { admin, chat, expectOpenAIError, newSubscriber, registerMiners, usageRow } from "./helpers";

const fx = env.TEST_FIXTURES;
const MODEL = "test/poison";
let key: string;

type RoutingRow = { hotkey: string; circuit: string; stats: { success: number } };

beforeAll(async () => {
  ({ key } = await newSubscriber("poison"));
  await registerMiners(fx.poisoned.map((m) => ({ ...m, models: [MODEL] })));
});

describe("poisoned requests", () => {
  it("answer 502 request_failed_on_every_miner, metered request_error, unbilled, and blame no miner", async () => {
    const startedAt = Date.now();
    for (let i = 0; i < 3; i++) {
      const res = await chat(key, { model: MODEL, stream: i === 1, max_tokens: 4, messages: [{ role: "user", content: `${fx.poisonPill} ${i}` }] });
      const err = await expectOpenAIError(res, 502, "request_failed_on_every_miner");
      expect(err.message).toContain("the request itself");
      const row = await usageRow(res.headers.get("x-request-id")!);
      expect(row).toMatchObject({ status: "request_error", http_status: 502, attempts: 3, error_code: "request_failed_on_every_miner" });
      expect((row as unknown as { cost_micro_usd: number }).cost_micro_usd).toBe(0);
    }

    // Every circuit is still closed and no miner's success rate dropped.
    const routing = await admin<{ data: RoutingRow[] }>("GET", `/admin/routing?model=${encodeURIComponent(MODEL)}`);
    expect(routing.data).toHaveLength(3);
    for (const m of routing.data) expect(m.circuit).toBe("closed");

    // Healthy traffic still spreads over all three miners.
    const served = new Set<string>();
    for (let i = 0; i < 30; i++) {
      const res = await chat(key, { model: MODEL, max_tokens: 2, messages: [{ role: "user", content: `healthy ${i}` }] });
      expect(res.status).toBe(200);
      served.add(res.headers.get("x-miner-hotkey")!);
      await res.text();
    }
    expect(served.size).toBe(3);

    // Settlement's window sees no failure for any of them.
    const { results } = await env.DB.prepare(USAGE_WINDOW_SQL).bind(startedAt, Date.now() + 1).all<{ hotkey: string; model: string; failed: number }>();
    const mine = results.filter((r) => r.model === MODEL);
    expect(mine.length).toBeGreaterThan(0);
    for (const r of mine) expect(r.failed).toBe(0);
  });
});
