/**
 * Session affinity through the dev stack: the turns of one conversation stick to the miner that
 * served the first turn (its KV cache), move to another miner when that one starts failing, and
 * then stick to the new one. Three reference miners of our own serve a model nobody else serves,
 * so the test can make one of them fail without touching the rest of the suite.
 */
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startMiner, type RunningMiner } from "../../miner/server";

const MODEL = "agent/sticky";
const gateway = inject("gatewayUrl");
const admin = { authorization: `Bearer ${inject("adminToken")}`, "content-type": "application/json" };
let miners: RunningMiner[] = [];

beforeAll(async () => {
  miners = await Promise.all(["//AffinityA", "//AffinityB", "//AffinityC"].map((hotkey) => startMiner({ hotkey, models: [MODEL] })));
  const body = { miners: miners.map((m, i) => ({ hotkey: m.hotkey, uid: 80 + i, axon_url: m.url, models: [MODEL] })) };
  expect((await fetch(`${gateway}/admin/miners`, { method: "PUT", headers: admin, body: JSON.stringify(body) })).status).toBe(200);
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${gateway}/v1/models/${MODEL}`, { headers: { authorization: `Bearer ${inject("devKey")}` } });
    if (res.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${MODEL} never became available`);
});

afterAll(async () => {
  await Promise.all(miners.map((m) => fetch(`${gateway}/admin/miners/${m.hotkey}`, { method: "DELETE", headers: admin })));
  await Promise.all(miners.map((m) => m.close()));
});

const byHotkey = (hotkey: string | null) => miners.find((m) => m.hotkey === hotkey);

describe("session affinity", () => {
  it("keeps a Claude Code session on one miner, moves it when that miner fails, then keeps it on the new one", async () => {
    const client = new Anthropic({ baseURL: gateway, apiKey: inject("devKey"), maxRetries: 0, defaultHeaders: { "x-claude-code-session-id": crypto.randomUUID() } });
    const history: Anthropic.MessageParam[] = [];
    const turn = async (text: string): Promise<string> => {
      history.push({ role: "user", content: text });
      const { data, response } = await client.messages.create({ model: MODEL, max_tokens: 16, system: "You are an agent.", messages: history }).withResponse();
      history.push({ role: "assistant", content: data.content });
      const hotkey = response.headers.get("x-miner-hotkey");
      expect(byHotkey(hotkey), "served by one of this test's miners").toBeDefined();
      return hotkey!;
    };

    const first = await turn("Repeat exactly: turn 1");
    for (let i = 2; i <= 5; i++) expect(await turn(`Repeat exactly: turn ${i}`), `turn ${i}`).toBe(first);

    byHotkey(first)!.setBehaviour({ failRate: 1 });
    try {
      const moved = await turn("Repeat exactly: turn 6");
      expect(moved).not.toBe(first);
      for (let i = 7; i <= 9; i++) expect(await turn(`Repeat exactly: turn ${i}`), `turn ${i}`).toBe(moved);
    } finally {
      byHotkey(first)!.setBehaviour({ failRate: 0 });
    }
  });

  it("keeps a conversation without session headers on one miner by its opening (Responses API)", async () => {
    const client = new OpenAI({ baseURL: `${gateway}/v1`, apiKey: inject("devKey"), maxRetries: 0 });
    const input: OpenAI.Responses.ResponseInputItem[] = [
      { role: "developer", content: `You are a coding agent, run ${crypto.randomUUID()}.` },
      { role: "user", content: "Repeat exactly: start" },
    ];
    const served: string[] = [];
    for (let i = 0; i < 5; i++) {
      const { data, response } = await client.responses.create({ model: MODEL, input, max_output_tokens: 16 }).withResponse();
      served.push(response.headers.get("x-miner-hotkey")!);
      input.push({ role: "assistant", content: data.output_text }, { role: "user", content: `Repeat exactly: next ${i}` });
    }
    expect(new Set(served).size, served.join(", ")).toBe(1);
  });
});
