import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { SseDecoder } from "../../src/lib/sse";
import { countTokens } from "../../src/lib/tokens";
import { call, chat, jsonPost, newSubscriber, registerMiners, usageRow, usageRowsFor } from "./helpers";

const fx = env.TEST_FIXTURES;
let key: string;
let subscriberId: string;

beforeAll(async () => {
  ({ key, subscriberId } = await newSubscriber("relay"));
  await registerMiners([
    { ...fx.healthy[0]!, models: ["demo/tiny-chat", "demo/tiny-embed", "test/failover", "test/stream-failover"] },
    { ...fx.healthy[1]!, models: ["demo/tiny-chat", "demo/tiny-embed"] },
    { ...fx.failing, models: ["test/failing", "test/failover", "test/stream-failover"] },
    { hotkey: "5HpG9w8EBLe5XCrbczpwq5TSXvedjrBGCwqxK1iQ7qUsSWFc", url: fx.unreachableUrl, models: ["test/failover", "test/stream-failover"] },
    { ...fx.malformed, models: ["test/malformed"] },
    { ...fx.dropping, models: ["test/dropping"] },
  ]);
});

type Chunk = { choices: { delta: { content?: string | null; role?: string; tool_calls?: unknown[] }; finish_reason: string | null }[]; usage?: { completion_tokens: number } };

async function readEvents(res: Response): Promise<string[]> {
  const decoder = new SseDecoder();
  const events: string[] = [];
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    events.push(...decoder.push(value).map((e) => e.data));
  }
  events.push(...decoder.end().map((e) => e.data));
  return events;
}

describe("relay to miners", () => {
  it("answers a non-streamed chat and meters it with both token counts", async () => {
    const res = await chat(key, { model: "demo/tiny-chat", max_tokens: 12, temperature: 0.2, seed: 7, user: "u1", some_future_field: { x: 1 } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { message: { content: string }; finish_reason: string }[]; usage: { prompt_tokens: number; completion_tokens: number } };
    const text = body.choices[0]!.message.content;
    expect(text.length).toBeGreaterThan(0);
    expect(body.usage.completion_tokens).toBeLessThanOrEqual(12);
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "ok", http_status: 200, subscriber_id: subscriberId, streamed: 0, attempts: 1 });
    expect([fx.healthy[0]!.hotkey, fx.healthy[1]!.hotkey]).toContain(row.miner_hotkey);
    expect(row.completion_tokens_counted).toBe(countTokens(text));
    expect(row.completion_tokens_reported).toBe(body.usage.completion_tokens);
    expect(row.prompt_tokens_reported).toBe(body.usage.prompt_tokens);
    expect(row.prompt_tokens_counted).toBe(row.prompt_tokens_reported);
  });

  it("streams chunk by chunk and strips the usage chunk the client did not ask for", async () => {
    const res = await chat(key, { model: "demo/tiny-chat", stream: true, max_tokens: 8 });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await readEvents(res);
    expect(events.at(-1)).toBe("[DONE]");
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk);
    expect(chunks.every((c) => c.usage === undefined)).toBe(true);
    expect(chunks.some((c) => c.choices[0]?.finish_reason)).toBe(true);
    const text = chunks.map((c) => c.choices[0]?.delta.content ?? "").join("");
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "ok", streamed: 1 });
    expect(row.completion_tokens_counted).toBe(countTokens(text));
    // The gateway asked the miner for usage even though the client did not.
    expect(row.completion_tokens_reported).toBe(row.completion_tokens_counted);
    expect(row.ttft_ms).not.toBeNull();
  });

  it("passes the final usage chunk through when the client asks for it", async () => {
    const res = await chat(key, { model: "demo/tiny-chat", stream: true, stream_options: { include_usage: true } });
    const events = await readEvents(res);
    const last = JSON.parse(events.at(-2)!) as Chunk;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBeGreaterThan(0);
  });

  it("passes streamed tool_calls deltas through intact", async () => {
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } }];
    const res = await chat(key, { model: "demo/tiny-chat", stream: true, tools, tool_choice: "required" });
    const events = await readEvents(res);
    const deltas = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk).flatMap((c) => c.choices.flatMap((ch) => ch.delta.tool_calls ?? []));
    const args = deltas.map((d) => (d as { function?: { arguments?: string } }).function?.arguments ?? "").join("");
    expect(JSON.parse(args)).toHaveProperty("city");
    expect(deltas[0]).toMatchObject({ index: 0, type: "function", function: { name: "get_weather" } });
  });

  it("fails over to another miner before the first byte", async () => {
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      // Distinct prompts: independent requests, so no session affinity pins them to one miner.
      const res = await chat(key, { model: "test/failover", max_tokens: 4, messages: [{ role: "user", content: `failover ${i}` }] });
      expect(res.status).toBe(200);
      ids.push(res.headers.get("x-request-id")!);
      await res.text();
    }
    const rows = await Promise.all(ids.map((id) => usageRow(id)));
    expect(rows.every((r) => r.status === "ok" && r.miner_hotkey === fx.healthy[0]!.hotkey)).toBe(true);
    // Two of three candidates fail and each starts unmeasured: some requests needed more than one attempt.
    expect(rows.some((r) => r.attempts > 1)).toBe(true);
  });

  it("fails over for streams too", async () => {
    for (let i = 0; i < 4; i++) {
      const res = await chat(key, { model: "test/stream-failover", stream: true, max_tokens: 4 });
      expect(res.status).toBe(200);
      expect((await readEvents(res)).at(-1)).toBe("[DONE]");
    }
  });

  it("ends a stream with a malformed miner event in an SSE error event, metered as bad_response", async () => {
    const res = await chat(key, { model: "test/malformed", stream: true, max_tokens: 20 });
    expect(res.status).toBe(200);
    const events = await readEvents(res);
    const last = JSON.parse(events.at(-1)!) as { error: { code: string } };
    expect(last.error.code).toBe("bad_miner_response");
    expect((await usageRow(res.headers.get("x-request-id")!)).status).toBe("bad_response");
  });

  it("ends a cut stream in an SSE error event and meters what was delivered", async () => {
    const res = await chat(key, { model: "test/dropping", stream: true, max_tokens: 30 });
    const events = await readEvents(res);
    const last = JSON.parse(events.at(-1)!) as { error: { code: string } };
    expect(last.error.code).toBe("miner_stream_interrupted");
    const delivered = events.slice(0, -1).map((e) => JSON.parse(e) as Chunk).map((c) => c.choices[0]?.delta.content ?? "").join("");
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect(row.status).toBe("miner_error");
    expect(row.completion_tokens_counted).toBe(countTokens(delivered));
  });

  it("meters a stream the client cancels exactly once, as client_cancelled", async () => {
    const res = await chat(key, { model: "demo/tiny-chat", stream: true, max_tokens: 200 });
    const reader = res.body!.getReader();
    await reader.read();
    await reader.cancel();
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect(row.status).toBe("client_cancelled");
  });

  it("serves completions and embeddings", async () => {
    const comp = await jsonPost("/v1/completions", key, { model: "demo/tiny-chat", prompt: "Once upon a time", max_tokens: 5 });
    expect(comp.status).toBe(200);
    const cbody = (await comp.json()) as { object: string; choices: { text: string }[] };
    expect(cbody.object).toBe("text_completion");
    const emb = await jsonPost("/v1/embeddings", key, { model: "demo/tiny-embed", input: ["a", "b"] });
    expect(emb.status).toBe(200);
    const ebody = (await emb.json()) as { data: { embedding: number[] }[] };
    expect(ebody.data).toHaveLength(2);
    const row = await usageRow(emb.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "ok", completion_tokens_counted: 0 });
  });

  it("lists the models live miners serve", async () => {
    const res = await call("/v1/models", { headers: { authorization: `Bearer ${key}` } });
    const body = (await res.json()) as { object: string; data: { id: string; object: string }[] };
    expect(body.object).toBe("list");
    expect(body.data.map((m) => m.id)).toEqual(expect.arrayContaining(["demo/tiny-chat", "demo/tiny-embed"]));
    expect(body.data.every((m) => m.object === "model")).toBe(true);
  });

  it("writes one usage row per request for concurrent requests, cancelled streams included", async () => {
    const { key: k2, subscriberId: s2 } = await newSubscriber("concurrent");
    const plain = Array.from({ length: 12 }, () => chat(k2, { model: "demo/tiny-chat", max_tokens: 5 }).then((r) => r.text()));
    const cancelled = Array.from({ length: 4 }, async () => {
      const r = await chat(k2, { model: "demo/tiny-chat", stream: true, max_tokens: 200 });
      const reader = r.body!.getReader();
      await reader.read();
      await reader.cancel();
    });
    await Promise.all([...plain, ...cancelled]);
    const rows = await usageRowsFor(s2, 16);
    expect(rows).toHaveLength(16);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(16);
    expect(rows.filter((r) => r.status === "client_cancelled")).toHaveLength(4);
    expect(rows.filter((r) => r.status === "ok")).toHaveLength(12);
  });
});
