import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countMessageTokens, countTokens } from "../../../src/lib/tokens";
import { startMiners, type MinerFleet, type RunningMiner } from "../../support/miner";
import { signRequest } from "../../../src/protocol/epistula";
import { alice, call, chunksOf, streamCall, streamedContent } from "./helpers";

type ChatCompletion = {
  id: string;
  object: string;
  created: number;
  model: string;
  choices: Array<{ index: number; message: { role: string; content: string | null; tool_calls?: unknown }; finish_reason: string }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
};

let fleet: MinerFleet;
let miner: RunningMiner;
beforeAll(async () => {
  fleet = await startMiners(1);
  miner = fleet.miners[0] as RunningMiner;
});
afterAll(() => fleet.close());

const user = (content: unknown) => [{ role: "user", content }];
async function chat(body: Record<string, unknown>): Promise<ChatCompletion> {
  const res = await call(miner, "/v1/chat/completions", { model: "demo/tiny-chat", ...body });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json as ChatCompletion;
}

describe("chat completions (non-stream)", () => {
  it("answers in the exact OpenAI shape with honest usage", async () => {
    const messages = [
      { role: "system", content: "You are terse." },
      { role: "user", content: "Tell me something about rivers." },
    ];
    const r = await chat({ messages });
    expect(r).toMatchObject({ object: "chat.completion", model: "demo/tiny-chat", choices: [{ index: 0, finish_reason: "stop" }] });
    expect(r.id).toMatch(/^chatcmpl-/);
    expect(Number.isInteger(r.created)).toBe(true);
    const content = r.choices[0]?.message.content ?? "";
    expect(r.choices[0]?.message.role).toBe("assistant");
    const n = countTokens(content);
    expect(n).toBeGreaterThanOrEqual(16);
    expect(n).toBeLessThanOrEqual(48);
    expect(r.usage).toEqual({ prompt_tokens: countMessageTokens(messages), completion_tokens: n, total_tokens: countMessageTokens(messages) + n });
  });

  it("is deterministic for the same request and varies with seed", async () => {
    const a = await chat({ messages: user("same question") });
    const b = await chat({ messages: user("same question") });
    const c = await chat({ messages: user("same question"), seed: 7 });
    expect(a.choices[0]?.message.content).toBe(b.choices[0]?.message.content);
    expect(c.choices[0]?.message.content).not.toBe(a.choices[0]?.message.content);
  });

  it("answers known-answer prompts exactly", async () => {
    const text = "The quick brown fox, 42 times — héllo ✓";
    const rep = await chat({ messages: user(`Repeat exactly: ${text}`) });
    expect(rep.choices[0]?.message.content).toBe(text);
    expect(rep.usage.completion_tokens).toBe(countTokens(text));
    const sum = await chat({ messages: user("What is 17+25?") });
    expect(sum.choices[0]?.message.content).toBe("42");
    const parts = await chat({ messages: user([{ type: "text", text: "What is 1000 + 234?" }]) });
    expect(parts.choices[0]?.message.content).toBe("1234");
  });

  it("honours max_tokens and max_completion_tokens with finish_reason length", async () => {
    const a = await chat({ messages: user("long please"), max_tokens: 5 });
    expect(a.choices[0]?.finish_reason).toBe("length");
    expect(a.usage.completion_tokens).toBe(5);
    expect(countTokens(a.choices[0]?.message.content ?? "")).toBe(5);
    const b = await chat({ messages: user("long please"), max_tokens: 50, max_completion_tokens: 3 });
    expect(b.usage.completion_tokens).toBe(3);
    expect(b.choices[0]?.finish_reason).toBe("length");
  });

  it("truncates before a stop string (string or array) with finish_reason stop", async () => {
    const r = await chat({ messages: user("Repeat exactly: alpha beta gamma delta"), stop: " gamma" });
    expect(r.choices[0]).toMatchObject({ finish_reason: "stop", message: { content: "alpha beta" } });
    expect(r.usage.completion_tokens).toBe(countTokens("alpha beta"));
    const arr = await chat({ messages: user("Repeat exactly: one, two; three"), stop: [";", ","] });
    expect(arr.choices[0]?.message.content).toBe("one");
    // A stop string beyond the max_tokens cap never gets generated: length wins.
    const capped = await chat({ messages: user("Repeat exactly: a b c d e f"), stop: " f", max_tokens: 2 });
    expect(capped.choices[0]).toMatchObject({ finish_reason: "length", message: { content: "a b" } });
  });

  it("answers json_object and json_schema with valid JSON", async () => {
    const j = await chat({ messages: user("give json"), response_format: { type: "json_object" } });
    expect(JSON.parse(j.choices[0]?.message.content ?? "")).toEqual(expect.any(Object));
    const schema = { type: "object", properties: { name: { type: "string" }, age: { type: "integer" }, ok: { type: "boolean" } }, required: ["name"] };
    const s = await chat({ messages: user("give json"), response_format: { type: "json_schema", json_schema: { name: "x", schema } } });
    expect(JSON.parse(s.choices[0]?.message.content ?? "")).toEqual({ name: expect.any(String), age: 42, ok: true });
  });

  it("mentions the tool result when the last message is a tool result", async () => {
    const messages = [
      { role: "user", content: "weather in Paris? use get_weather" },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: "sunny, 21C" },
    ];
    const r = await chat({ messages, tools: [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: {} } } }] });
    expect(r.choices[0]?.finish_reason).toBe("stop");
    expect(r.choices[0]?.message.content).toContain("sunny, 21C");
    expect(r.usage.prompt_tokens).toBe(countMessageTokens(messages));
  });

  it("refuses what it cannot honour with OpenAI-shaped 4xx", async () => {
    const n = await call(miner, "/v1/chat/completions", { model: "demo/tiny-chat", messages: user("hi"), n: 2 });
    expect(n).toMatchObject({ status: 400, json: { error: { type: "invalid_request_error", param: "n", code: "unsupported_parameter" } } });
    const unknown = await call(miner, "/v1/chat/completions", { model: "nope", messages: user("hi") });
    expect(unknown).toMatchObject({ status: 404, json: { error: { code: "model_not_found" } } });
    const embedModel = await call(miner, "/v1/chat/completions", { model: "demo/tiny-embed", messages: user("hi") });
    expect(embedModel).toMatchObject({ status: 400, json: { error: { code: "model_not_supported" } } });
    const noMessages = await call(miner, "/v1/chat/completions", { model: "demo/tiny-chat", messages: [] });
    expect(noMessages).toMatchObject({ status: 400, json: { error: { param: "messages" } } });
    const badMax = await call(miner, "/v1/chat/completions", { model: "demo/tiny-chat", messages: user("x"), max_tokens: 0 });
    expect(badMax).toMatchObject({ status: 400, json: { error: { param: "max_tokens" } } });
    const wrongMethod = await call(miner, "/v1/models", {});
    expect(wrongMethod.status).toBe(405);
  });

  it("answers invalid JSON with 400 invalid_json", async () => {
    const body = "{not json";
    const headers = await signRequest({ body, signer: alice, signedFor: miner.hotkey });
    const res = await fetch(`${miner.url}/v1/chat/completions`, { method: "POST", headers, body });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", code: "invalid_json" } });
  });
});

describe("chat completions (stream)", () => {
  it("streams one token per chunk in OpenAI order, with include_usage and [DONE]", async () => {
    const messages = user("Stream something, please.");
    const res = await streamCall(miner, "/v1/chat/completions", {
      model: "demo/tiny-chat",
      messages,
      stream: true,
      stream_options: { include_usage: true },
    });
    expect(res.status).toBe(200);
    expect(res.contentType).toMatch(/^text\/event-stream/);
    const chunks = chunksOf(res.events);
    const first = chunks[0] as { choices: Array<{ delta: Record<string, unknown>; finish_reason: unknown }> };
    expect(first.choices[0]?.delta).toMatchObject({ role: "assistant", content: "" });
    for (const c of chunks) {
      expect(c).toMatchObject({ object: "chat.completion.chunk", model: "demo/tiny-chat", id: chunks[0]?.id, created: chunks[0]?.created });
    }
    const usageChunk = chunks.at(-1) as { choices: unknown[]; usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number } };
    const finishChunk = chunks.at(-2) as { choices: Array<{ delta: object; finish_reason: string }>; usage: unknown };
    expect(usageChunk.choices).toEqual([]);
    expect(finishChunk.choices[0]).toMatchObject({ delta: {}, finish_reason: "stop" });
    expect(finishChunk.usage).toBeNull(); // usage: null on every chunk but the last, as OpenAI
    const tokens = streamedContent(chunks.slice(1, -2));
    expect(tokens.length).toBe(chunks.length - 3); // exactly one token per middle chunk
    const text = tokens.join("");
    expect(usageChunk.usage).toEqual({
      prompt_tokens: countMessageTokens(messages),
      completion_tokens: countTokens(text),
      total_tokens: countMessageTokens(messages) + countTokens(text),
    });
    // Same answer as the non-streamed request.
    const plain = await chat({ messages });
    expect(plain.choices[0]?.message.content).toBe(text);
  });

  it("omits the usage chunk without include_usage, and honours max_tokens", async () => {
    const res = await streamCall(miner, "/v1/chat/completions", { model: "demo/tiny-chat", messages: user("x"), stream: true, max_tokens: 4 });
    const chunks = chunksOf(res.events);
    expect(chunks.some((c) => "usage" in c)).toBe(false);
    expect(streamedContent(chunks)).toHaveLength(4);
    expect(chunks.at(-1)).toMatchObject({ choices: [{ finish_reason: "length" }] });
  });

  it("paces by ttft and tokens-per-sec with timers", async () => {
    const slow = await startMiners(1, { ttftMs: 150, tokensPerSec: 100 });
    try {
      const m = slow.miners[0] as RunningMiner;
      const t0 = performance.now();
      const res = await streamCall(m, "/v1/chat/completions", { model: "demo/tiny-chat", messages: user("Repeat exactly: a b c d e f g h i j"), stream: true });
      const elapsed = performance.now() - t0;
      expect(streamedContent(chunksOf(res.events)).join("")).toBe("a b c d e f g h i j");
      // 150 ms TTFT + 10 more intervals of 10 ms (9 tokens + finish) ~= 250 ms.
      expect(elapsed).toBeGreaterThanOrEqual(240);
      expect(elapsed).toBeLessThan(2000);
    } finally {
      await slow.close();
    }
  });
});
