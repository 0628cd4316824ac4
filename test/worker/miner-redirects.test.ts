// SSRF through redirects: a registered miner answering 307/302 towards an internal service must not
// make the gateway call that service. A redirect is a miner failure: failover, or a clean 502.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { chat, expectOpenAIError, newSubscriber, registerMiners, usageRow } from "./helpers";

const fx = env.TEST_FIXTURES;
const { internalUrl, temporary, found } = fx.redirecting;
let key: string;

async function internalHits(): Promise<number> {
  const res = await fetch(`${internalUrl}/__hits`);
  return ((await res.json()) as { hits: number }).hits;
}

beforeAll(async () => {
  ({ key } = await newSubscriber("redirects"));
  await registerMiners([
    { ...temporary, models: ["test/redirect-only", "test/failover"] },
    { ...found, models: ["test/redirect-only", "test/failover"] },
    { ...fx.healthy[0]!, models: ["test/failover"] },
  ]);
});

describe("miners answering redirects", () => {
  it("answers 502 when every miner redirects, and never calls the redirect target", async () => {
    for (const stream of [false, true]) {
      const res = await chat(key, { model: "test/redirect-only", stream, max_tokens: 4 });
      const body = await expectOpenAIError(res, 502);
      expect(JSON.stringify(body)).not.toContain("internal");
      const row = await usageRow(res.headers.get("x-request-id")!);
      expect(row).toMatchObject({ status: "miner_error", http_status: 502, attempts: 2 });
    }
    expect(await internalHits()).toBe(0);
  });

  it("fails over past a redirecting miner to an honest one", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await chat(key, { model: "test/failover", stream: i % 2 === 1, max_tokens: 4, messages: [{ role: "user", content: `redirect ${i}` }] });
      if (res.status !== 200) throw new Error(await res.text());
      expect(res.headers.get("x-miner-hotkey")).toBe(fx.healthy[0]!.hotkey);
      expect(await res.text()).not.toContain("internal");
      ids.push(res.headers.get("x-request-id")!);
    }
    const rows = await Promise.all(ids.map((id) => usageRow(id)));
    expect(rows.every((r) => r.status === "ok")).toBe(true);
    expect(rows.some((r) => r.attempts > 1)).toBe(true);
    expect(await internalHits()).toBe(0);
  });
});
