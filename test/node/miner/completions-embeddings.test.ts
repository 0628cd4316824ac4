import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countTokens } from "../../../src/lib/tokens";
import { startMiners, type MinerFleet, type RunningMiner } from "../../support/miner";
import { call, chunksOf, streamCall } from "./helpers";

let fleet: MinerFleet;
let miner: RunningMiner;
beforeAll(async () => {
  fleet = await startMiners(1);
  miner = fleet.miners[0] as RunningMiner;
});
afterAll(() => fleet.close());

type TextCompletion = {
  id: string;
  object: string;
  choices: Array<{ text: string; index: number; logprobs: null; finish_reason: string }>;
  usage: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
};

describe("/v1/completions", () => {
  it("answers text_completion with honest usage; prompt may be [string]", async () => {
    const prompt = "Once upon a time";
    const res = await call(miner, "/v1/completions", { model: "demo/tiny-chat", prompt });
    expect(res.status).toBe(200);
    const r = res.json as TextCompletion;
    expect(r).toMatchObject({ object: "text_completion", model: "demo/tiny-chat", choices: [{ index: 0, logprobs: null, finish_reason: "stop" }] });
    expect(r.id).toMatch(/^cmpl-/);
    const text = r.choices[0]?.text ?? "";
    expect(r.usage).toEqual({ prompt_tokens: countTokens(prompt), completion_tokens: countTokens(text), total_tokens: countTokens(prompt) + countTokens(text) });
    const arr = await call(miner, "/v1/completions", { model: "demo/tiny-chat", prompt: [prompt] });
    expect((arr.json as TextCompletion).choices[0]?.text).toBe(text);
    const two = await call(miner, "/v1/completions", { model: "demo/tiny-chat", prompt: ["a", "b"] });
    expect(two).toMatchObject({ status: 400, json: { error: { param: "prompt" } } });
  });

  it("known answers, max_tokens and stop work as in chat", async () => {
    const sum = await call(miner, "/v1/completions", { model: "demo/tiny-chat", prompt: "What is 2+2?" });
    expect((sum.json as TextCompletion).choices[0]?.text).toBe("4");
    const cut = await call(miner, "/v1/completions", { model: "demo/tiny-chat", prompt: "Repeat exactly: one two three four", max_tokens: 2 });
    expect((cut.json as TextCompletion).choices[0]).toMatchObject({ text: "one two", finish_reason: "length" });
    const stop = await call(miner, "/v1/completions", { model: "demo/tiny-chat", prompt: "Repeat exactly: one two three", stop: " three" });
    expect((stop.json as TextCompletion).choices[0]).toMatchObject({ text: "one two", finish_reason: "stop" });
  });

  it("streams text_completion chunks, a finish chunk, usage, [DONE]", async () => {
    const res = await streamCall(miner, "/v1/completions", {
      model: "demo/tiny-chat",
      prompt: "Repeat exactly: alpha beta gamma",
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks = chunksOf(res.events) as Array<{ object: string; choices: Array<{ text: string; finish_reason: string | null }>; usage: unknown }>;
    expect(chunks.every((c) => c.object === "text_completion")).toBe(true);
    const pieces = chunks.slice(0, -2).map((c) => c.choices[0]?.text);
    expect(pieces).toEqual(["alpha", " beta", " gamma"]);
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ text: "", finish_reason: "stop" });
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { completion_tokens: 3, prompt_tokens: countTokens("Repeat exactly: alpha beta gamma") } });
  });
});

type Embeddings = {
  object: string;
  data: Array<{ object: string; index: number; embedding: number[] | string }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
};

describe("/v1/embeddings", () => {
  const norm = (v: number[]): number => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

  it("returns deterministic unit-norm 64-d vectors with usage", async () => {
    const input = ["hello world", "another text", "hello world"];
    const res = await call(miner, "/v1/embeddings", { model: "demo/tiny-embed", input });
    expect(res.status).toBe(200);
    const r = res.json as Embeddings;
    expect(r).toMatchObject({ object: "list", model: "demo/tiny-embed" });
    expect(r.data.map((d) => [d.object, d.index])).toEqual([["embedding", 0], ["embedding", 1], ["embedding", 2]]);
    const vecs = r.data.map((d) => d.embedding as number[]);
    for (const v of vecs) {
      expect(v).toHaveLength(64);
      expect(norm(v)).toBeCloseTo(1, 5);
    }
    expect(vecs[2]).toEqual(vecs[0]);
    expect(vecs[1]).not.toEqual(vecs[0]);
    const tokens = input.reduce((s, t) => s + countTokens(t), 0);
    expect(r.usage).toEqual({ prompt_tokens: tokens, total_tokens: tokens });
  });

  it("supports encoding_format base64 (little-endian float32) and a single string input", async () => {
    const f = (await call(miner, "/v1/embeddings", { model: "demo/tiny-embed", input: "hello world" })).json as Embeddings;
    const b = (await call(miner, "/v1/embeddings", { model: "demo/tiny-embed", input: "hello world", encoding_format: "base64" })).json as Embeddings;
    const bytes = Buffer.from(b.data[0]?.embedding as string, "base64");
    const decoded = Array.from(new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4));
    expect(decoded).toEqual(f.data[0]?.embedding);
  });

  it("refuses bad input and chat models", async () => {
    expect(await call(miner, "/v1/embeddings", { model: "demo/tiny-embed", input: 5 })).toMatchObject({ status: 400, json: { error: { param: "input" } } });
    expect(await call(miner, "/v1/embeddings", { model: "demo/tiny-chat", input: "x" })).toMatchObject({ status: 400, json: { error: { code: "model_not_supported" } } });
  });
});
