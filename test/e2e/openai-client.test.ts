/**
 * The official `openai` npm client against the running dev stack: what app developers and coding
 * agents actually do.
 */
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";

const baseURL = `${inject("gatewayUrl")}/v1`;
const client = new OpenAI({ baseURL, apiKey: inject("devKey"), maxRetries: 0 });

async function adminUsage(requestIds: string[]) {
  const res = await fetch(`${inject("gatewayUrl")}/admin/usage?subscriber_id=sub_dev&rows=10000`, {
    headers: { authorization: `Bearer ${inject("adminToken")}` },
  });
  const body = (await res.json()) as { rows: { request_id: string; status: string; completion_tokens_counted: number }[] };
  return body.rows.filter((r) => requestIds.includes(r.request_id));
}

async function waitForUsage(requestIds: string[]) {
  for (let i = 0; i < 100; i++) {
    const rows = await adminUsage(requestIds);
    if (rows.length >= requestIds.length) return rows;
    await new Promise((r) => setTimeout(r, 150));
  }
  return adminUsage(requestIds);
}

describe("openai client against the dev stack", () => {
  it("lists models", async () => {
    const ids: string[] = [];
    for await (const m of client.models.list()) ids.push(m.id);
    expect(ids).toEqual(expect.arrayContaining(["demo/tiny-chat", "demo/tiny-embed"]));
    const one = await client.models.retrieve("demo/tiny-chat");
    expect(one.id).toBe("demo/tiny-chat");
  });

  it("chats without streaming", async () => {
    const { data, response } = await client.chat.completions
      .create({ model: "demo/tiny-chat", messages: [{ role: "user", content: "Repeat exactly: hello gateway" }] })
      .withResponse();
    expect(data.choices[0]!.message.content).toBe("hello gateway");
    expect(data.usage!.completion_tokens).toBeGreaterThan(0);
    const rows = await waitForUsage([response.headers.get("x-request-id")!]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.status).toBe("ok");
  });

  it("streams chat with usage", async () => {
    const stream = await client.chat.completions.create({
      model: "demo/tiny-chat",
      messages: [{ role: "user", content: "Tell me a story" }],
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 20,
    });
    let text = "";
    let usage: OpenAI.CompletionUsage | undefined;
    let chunks = 0;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta.content ?? "";
      if (chunk.usage) usage = chunk.usage;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text.length).toBeGreaterThan(0);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    expect(usage!.completion_tokens).toBeLessThanOrEqual(20);
  });

  it("completes a streamed tool-call round trip", async () => {
    const tools: OpenAI.ChatCompletionTool[] = [
      {
        type: "function",
        function: {
          name: "get_weather",
          description: "Weather for a city",
          parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } }, required: ["city"] },
        },
      },
    ];
    const messages: OpenAI.ChatCompletionMessageParam[] = [{ role: "user", content: "What is the weather in Paris? Use get_weather." }];
    const stream = client.chat.completions.stream({ model: "demo/tiny-chat", messages, tools, tool_choice: "auto" });
    const first = await stream.finalChatCompletion();
    const call = first.choices[0]!.message.tool_calls?.[0];
    expect(first.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call?.type).toBe("function");
    if (call?.type !== "function") throw new Error("expected a function call");
    expect(call.function.name).toBe("get_weather");
    const args = JSON.parse(call.function.arguments) as { city: string };
    expect(typeof args.city).toBe("string");

    messages.push(first.choices[0]!.message, { role: "tool", tool_call_id: call.id, content: "Sunny, 21C" });
    const second = await client.chat.completions
      .stream({ model: "demo/tiny-chat", messages, tools })
      .finalChatCompletion();
    expect(second.choices[0]!.finish_reason).toBe("stop");
    expect(second.choices[0]!.message.content).toContain("Sunny, 21C");
  });

  it("does legacy completions", async () => {
    const res = await client.completions.create({ model: "demo/tiny-chat", prompt: "The network", max_tokens: 6 });
    expect(res.object).toBe("text_completion");
    expect(res.choices[0]!.text.length).toBeGreaterThan(0);
    expect(res.usage!.completion_tokens).toBeLessThanOrEqual(6);
  });

  it("embeds", async () => {
    const res = await client.embeddings.create({ model: "demo/tiny-embed", input: ["alpha", "beta"] });
    expect(res.data).toHaveLength(2);
    const v = res.data[0]!.embedding;
    expect(Math.abs(Math.hypot(...v) - 1)).toBeLessThan(1e-3);
  });

  it("surfaces gateway errors as typed client errors", async () => {
    await expect(client.chat.completions.create({ model: "no/such", messages: [{ role: "user", content: "x" }] })).rejects.toMatchObject({
      status: 404,
      code: "model_not_found",
    });
    const bad = new OpenAI({ baseURL, apiKey: "sk-wrong-key-0000000000", maxRetries: 0 });
    await expect(bad.models.list()).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("meters concurrent requests and cancelled streams once each", async () => {
    const ids: string[] = [];
    const cancelledIds: string[] = [];
    const plain = Array.from({ length: 10 }, async () => {
      const { response } = await client.chat.completions
        .create({ model: "demo/tiny-chat", messages: [{ role: "user", content: "hi" }], max_tokens: 4 })
        .withResponse();
      ids.push(response.headers.get("x-request-id")!);
    });
    const cancelled = Array.from({ length: 3 }, async () => {
      const controller = new AbortController();
      const { data: stream, response } = await client.chat.completions
        .create({ model: "demo/tiny-chat", messages: [{ role: "user", content: "long" }], stream: true, max_tokens: 500 }, { signal: controller.signal })
        .withResponse();
      ids.push(response.headers.get("x-request-id")!);
      cancelledIds.push(response.headers.get("x-request-id")!);
      try {
        for await (const _ of stream) {
          controller.abort();
        }
      } catch {
        /* aborted on purpose */
      }
    });
    await Promise.all([...plain, ...cancelled]);
    const rows = await waitForUsage(ids);
    expect(rows).toHaveLength(13);
    expect(new Set(rows.map((r) => r.request_id)).size).toBe(13);
    // A stream the client abandons is metered once: as cancelled, or as complete when the whole
    // (short) answer had already left the gateway before the disconnect reached it. The exact
    // cancel path is asserted deterministically in test/worker/relay.test.ts.
    const aborted = rows.filter((r) => cancelledIds.includes(r.request_id));
    expect(aborted).toHaveLength(3);
    expect(aborted.every((r) => r.status === "client_cancelled" || r.status === "ok")).toBe(true);
    expect(rows.filter((r) => !cancelledIds.includes(r.request_id)).every((r) => r.status === "ok")).toBe(true);
  });
});
