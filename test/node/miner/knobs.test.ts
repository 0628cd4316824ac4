import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { countMessageTokens, countTokens } from "../../../src/lib/tokens";
import { startMiners, type MinerFleet, type RunningMiner } from "../../support/miner";
import { call, chunksOf, signedHeaders, streamCall, streamedContent } from "./helpers";

let fleet: MinerFleet;
let miner: RunningMiner;
beforeAll(async () => {
  fleet = await startMiners(1);
  miner = fleet.miners[0] as RunningMiner;
});
afterAll(() => fleet.close());

const body = (content: string, extra: Record<string, unknown> = {}) => ({ model: "demo/tiny-chat", messages: [{ role: "user", content }], ...extra });

/** Reads a streamed response until it ends or breaks; returns what arrived and how it ended. */
async function readUntilEnd(res: Response): Promise<{ text: string; error: unknown }> {
  const reader = res.body?.getReader();
  const decoder = new TextDecoder();
  let text = "";
  if (!reader) return { text, error: undefined };
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, error: undefined };
      text += decoder.decode(value, { stream: true });
    }
  } catch (error) {
    return { text, error };
  }
}

async function rawPost(m: RunningMiner, payload: unknown, signal?: AbortSignal): Promise<Response> {
  const text = JSON.stringify(payload);
  return fetch(`${m.url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...(await signedHeaders(m, text)), "content-type": "application/json" },
    body: text,
    signal,
  });
}

describe("misbehaviour knobs", () => {
  it("overReport multiplies reported usage (stream and not)", async () => {
    miner.setBehaviour({ overReport: 2 });
    try {
      const req = body("Repeat exactly: one two three");
      const r = await call(miner, "/v1/chat/completions", req);
      const p = countMessageTokens(req.messages);
      expect((r.json as { usage: unknown }).usage).toEqual({ prompt_tokens: 2 * p, completion_tokens: 6, total_tokens: 2 * p + 6 });
      const s = await streamCall(miner, "/v1/chat/completions", { ...req, stream: true, stream_options: { include_usage: true } });
      const chunks = chunksOf(s.events);
      expect(streamedContent(chunks).join("")).toBe("one two three"); // the content itself is honest
      expect(chunks.at(-1)).toMatchObject({ usage: { completion_tokens: 6 } });
    } finally {
      miner.setBehaviour({ overReport: 1 });
    }
  });

  it("failRate 1 answers an OpenAI-shaped 500 before any byte", async () => {
    miner.setBehaviour({ failRate: 1 });
    try {
      const r = await call(miner, "/v1/chat/completions", body("hi", { stream: true }));
      expect(r.status).toBe(500);
      expect(r.json).toEqual({ error: { message: expect.any(String), type: "server_error", param: null, code: "simulated_failure" } });
      expect(miner.stats().simulatedFailures).toBeGreaterThanOrEqual(1);
      // Models listing keeps working: failures target inference only.
      expect((await call(miner, "/v1/models")).status).toBe(200);
    } finally {
      miner.setBehaviour({ failRate: 0 });
    }
  });

  it("failRate draws from a seeded PRNG: same seed, same failure sequence", async () => {
    const pair = await startMiners(2, { failRate: 0.5, seed: 1234 });
    try {
      const pattern = async (m: RunningMiner): Promise<number[]> => {
        const out: number[] = [];
        for (let i = 0; i < 12; i++) out.push((await call(m, "/v1/chat/completions", body("x"))).status);
        return out;
      };
      const [a, b] = pair.miners as [RunningMiner, RunningMiner];
      const pa = await pattern(a);
      expect(await pattern(b)).toEqual(pa);
      expect(pa).toContain(500);
      expect(pa).toContain(200);
    } finally {
      await pair.close();
    }
  });

  it("garbage answers known-answer prompts wrongly", async () => {
    miner.setBehaviour({ garbage: true });
    try {
      const sum = await call(miner, "/v1/chat/completions", body("What is 2+3?"));
      const content = (sum.json as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content;
      expect(content).toMatch(/^\d+$/);
      expect(content).not.toBe("5");
      const rep = await call(miner, "/v1/chat/completions", body("Repeat exactly: canary-7f3a"));
      expect((rep.json as { choices: Array<{ message: { content: string } }> }).choices[0]?.message.content).not.toContain("canary-7f3a");
    } finally {
      miner.setBehaviour({ garbage: false });
    }
  });

  it("dropAfterTokens destroys the socket mid-stream: N tokens, no finish, no [DONE]", async () => {
    miner.setBehaviour({ dropAfterTokens: 3 });
    try {
      const res = await rawPost(miner, body("Repeat exactly: a b c d e f g", { stream: true }));
      expect(res.status).toBe(200);
      const { text, error } = await readUntilEnd(res);
      expect(error).toBeDefined();
      expect(text).not.toContain("[DONE]");
      const payloads = text.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => JSON.parse(e.slice(6)) as unknown);
      expect(streamedContent(payloads)).toEqual(["a", " b", " c"]);
      // Non-streamed: the connection dies without a response.
      await expect(rawPost(miner, body("Repeat exactly: a b c d e f g"))).rejects.toThrow();
      expect(miner.stats().dropped).toBeGreaterThanOrEqual(2);
    } finally {
      miner.setBehaviour({ dropAfterTokens: undefined });
    }
  });

  it("malformedStream emits one invalid data line and carries on", async () => {
    miner.setBehaviour({ malformedStream: true });
    try {
      const s = await streamCall(miner, "/v1/chat/completions", body("Repeat exactly: a b c d", { stream: true }));
      expect(s.events.at(-1)).toBe("[DONE]");
      const bad = s.events.filter((e) => {
        if (e === "[DONE]") return false;
        try {
          JSON.parse(e);
          return false;
        } catch {
          return true;
        }
      });
      expect(bad).toHaveLength(1);
    } finally {
      miner.setBehaviour({ malformedStream: false });
    }
  });

  it("stops generating when the client disconnects", async () => {
    const slow = await startMiners(1, { ttftMs: 0, tokensPerSec: 20 });
    try {
      const m = slow.miners[0] as RunningMiner;
      const ac = new AbortController();
      const res = await rawPost(m, body("long", { stream: true, max_tokens: 40 }), ac.signal);
      const reader = res.body?.getReader();
      await reader?.read(); // first chunk arrived, ~2 s of tokens still to go
      ac.abort();
      await vi.waitFor(() => expect(m.stats().clientClosed).toBe(1), { timeout: 2000, interval: 10 });
      expect(m.stats().completed).toBe(0);
    } finally {
      await slow.close();
    }
  });

  it("validates knob values", () => {
    expect(() => miner.setBehaviour({ failRate: 2 })).toThrow(RangeError);
    expect(() => miner.setBehaviour({ tokensPerSec: 0 })).toThrow(RangeError);
    expect(miner.behaviour().failRate).toBe(0);
  });

  it("counts honest usage in stats", () => {
    const s = miner.stats();
    expect(s.completed).toBeGreaterThan(0);
    expect(s.completionTokens).toBeGreaterThan(0);
    expect(countTokens("x")).toBe(1);
  });
});
