/**
 * Reasoning and cached prompt tokens through the whole path: a reference miner in proxy mode
 * (real Epistula checks) in front of a small upstream that answers like a reasoning model served
 * by vLLM (`reasoning_content` deltas, `prompt_tokens_details.cached_tokens`). Checked through
 * chat completions (passed through and metered), Anthropic Messages (thinking blocks, cache
 * reads) and the Responses API (reasoning items, cached_tokens), and back: thinking in the
 * history reaches the miner as reasoning_content.
 */
import { createServer, type Server } from "node:http";
import Anthropic from "@anthropic-ai/sdk";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { startMiner, type RunningMiner } from "../../miner/server";
import { countTokens } from "../../src/lib/tokens";

const MODEL = "agent/reasoner";
const REASONING = ["Let me ", "think it ", "through."];
const ANSWER = ["The answer ", "is 4."];
const USAGE = { prompt_tokens: 30, completion_tokens: 12, total_tokens: 42, prompt_tokens_details: { cached_tokens: 24 } };

const gateway = inject("gatewayUrl");
const admin = { authorization: `Bearer ${inject("adminToken")}`, "content-type": "application/json" };
let upstream: Server;
let miner: RunningMiner;
/** The last request body the upstream model received (after the gateway's translation). */
let lastBody: { messages: { role: string; reasoning_content?: string }[] } | undefined;

function reasoningModel(): Server {
  return createServer((req, res) => {
    let raw = "";
    req.on("data", (d: Buffer) => (raw += d.toString()));
    req.on("end", () => {
      const body = JSON.parse(raw) as { stream?: boolean; messages: { role: string }[] };
      lastBody = body;
      const base = { id: "chatcmpl-r", created: 1, model: MODEL };
      if (!body.stream) {
        const message = { role: "assistant", content: ANSWER.join(""), reasoning_content: REASONING.join("") };
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ ...base, object: "chat.completion", choices: [{ index: 0, message, finish_reason: "stop" }], usage: USAGE }));
        return;
      }
      res.writeHead(200, { "content-type": "text/event-stream" });
      const send = (delta: Record<string, unknown>, finish: string | null = null) =>
        res.write(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`);
      send({ role: "assistant", content: "" });
      for (const r of REASONING) send({ reasoning_content: r });
      for (const a of ANSWER) send({ content: a });
      send({}, "stop");
      res.write(`data: ${JSON.stringify({ ...base, object: "chat.completion.chunk", choices: [], usage: USAGE })}\n\n`);
      res.end("data: [DONE]\n\n");
    });
  });
}

beforeAll(async () => {
  upstream = reasoningModel();
  await new Promise<void>((r) => upstream.listen(0, "127.0.0.1", r));
  const addr = upstream.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  miner = await startMiner({ hotkey: "//ReasoningMiner", upstream: `http://127.0.0.1:${port}/v1`, models: [MODEL] });
  const put = await fetch(`${gateway}/admin/miners`, { method: "PUT", headers: admin, body: JSON.stringify({ miners: [{ hotkey: miner.hotkey, uid: 90, axon_url: miner.url, models: [MODEL] }] }) });
  expect(put.status).toBe(200);
  // The gateway caches its miner list for a few seconds; wait until the new model is served.
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${gateway}/v1/models/${MODEL}`, { headers: { authorization: `Bearer ${inject("devKey")}` } });
    if (res.ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${MODEL} never became available`);
});

afterAll(async () => {
  await fetch(`${gateway}/admin/miners/${miner.hotkey}`, { method: "DELETE", headers: admin });
  await miner.close();
  await new Promise<void>((r) => upstream.close(() => r()));
});

describe("reasoning through a proxying miner", () => {
  it("passes reasoning_content deltas through chat completions and meters them", async () => {
    const client = new OpenAI({ baseURL: `${gateway}/v1`, apiKey: inject("devKey"), maxRetries: 0 });
    const { data: stream, response } = await client.chat.completions
      .create({ model: MODEL, messages: [{ role: "user", content: "What is 2+2?" }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let reasoning = "";
    let content = "";
    let usage: OpenAI.CompletionUsage | undefined;
    for await (const chunk of stream) {
      const delta = chunk.choices[0]?.delta as { content?: string | null; reasoning_content?: string } | undefined;
      reasoning += delta?.reasoning_content ?? "";
      content += delta?.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(reasoning).toBe(REASONING.join(""));
    expect(content).toBe(ANSWER.join(""));
    expect(usage?.prompt_tokens_details?.cached_tokens).toBe(24);

    const requestId = response.headers.get("x-request-id")!;
    let row: { completion_tokens_counted: number } | undefined;
    for (let i = 0; i < 100 && !row; i++) {
      const res = await fetch(`${gateway}/admin/usage?subscriber_id=sub_dev&rows=10000`, { headers: admin });
      row = ((await res.json()) as { rows: ({ request_id: string } & { completion_tokens_counted: number })[] }).rows.find((r) => r.request_id === requestId);
      if (!row) await new Promise((r) => setTimeout(r, 150));
    }
    // The gateway's own count covers the reasoning it relayed, not just the answer.
    expect(row?.completion_tokens_counted).toBe(countTokens(REASONING.join("") + ANSWER.join("")));
  });

  it("maps reasoning to thinking blocks and cached tokens to cache reads in Messages, and thinking back to reasoning_content", async () => {
    const client = new Anthropic({ baseURL: gateway, apiKey: inject("devKey"), maxRetries: 0 });
    const streamed = await client.messages.stream({ model: MODEL, max_tokens: 100, messages: [{ role: "user", content: "What is 2+2?" }] }).finalMessage();
    expect(streamed.content).toEqual([
      { type: "thinking", thinking: REASONING.join(""), signature: "" },
      { type: "text", text: ANSWER.join("") },
    ]);
    expect(streamed.usage).toMatchObject({ input_tokens: 6, cache_read_input_tokens: 24, output_tokens: 12 });

    const plain = await client.messages.create({
      model: MODEL,
      max_tokens: 100,
      messages: [{ role: "user", content: "What is 2+2?" }, { role: "assistant", content: streamed.content }, { role: "user", content: "And 3+3?" }],
    });
    expect(plain.content.map((b) => b.type)).toEqual(["thinking", "text"]);
    expect(lastBody?.messages[1]).toMatchObject({ role: "assistant", content: ANSWER.join(""), reasoning_content: REASONING.join("") });
  });

  it("maps reasoning to reasoning items and cached tokens to input_tokens_details in Responses", async () => {
    const client = new OpenAI({ baseURL: `${gateway}/v1`, apiKey: inject("devKey"), maxRetries: 0 });
    const streamed = await client.responses.stream({ model: MODEL, input: "What is 2+2?" }).finalResponse();
    expect(streamed.output.map((o) => o.type)).toEqual(["reasoning", "message"]);
    expect(streamed.output[0]).toMatchObject({ type: "reasoning", content: [{ type: "reasoning_text", text: REASONING.join("") }] });
    expect(streamed.output_text).toBe(ANSWER.join(""));
    expect(streamed.usage).toMatchObject({ input_tokens: 30, input_tokens_details: { cached_tokens: 24 }, output_tokens: 12 });
    const plain = await client.responses.create({ model: MODEL, input: "What is 2+2?" });
    expect(plain.output.map((o) => o.type)).toEqual(["reasoning", "message"]);
  });
});
