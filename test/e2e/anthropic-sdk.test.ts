/**
 * The official `@anthropic-ai/sdk` client against the running dev stack: non-streamed and
 * streamed messages, a streamed tool-use round trip, count_tokens, and the SDK's typed errors
 * (which only work if the gateway answers in Anthropic's error shape).
 */
import Anthropic from "@anthropic-ai/sdk";
import { describe, expect, inject, it } from "vitest";

const client = new Anthropic({ baseURL: inject("gatewayUrl"), apiKey: inject("devKey"), maxRetries: 0 });

const weather: Anthropic.Tool = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

describe("@anthropic-ai/sdk against the dev stack", () => {
  it("creates a message without streaming", async () => {
    const { data, response } = await client.messages
      .create({ model: "demo/tiny-chat", max_tokens: 64, system: "Be exact.", messages: [{ role: "user", content: "Repeat exactly: hello anthropic" }] })
      .withResponse();
    expect(data.content).toEqual([{ type: "text", text: "hello anthropic" }]);
    expect(data.stop_reason).toBe("end_turn");
    expect(data.usage.output_tokens).toBeGreaterThan(0);
    expect(data.usage.input_tokens).toBeGreaterThan(0);
    expect(response.headers.get("x-miner-hotkey")).toBeTruthy();
    expect(response.headers.get("request-id")).toBe(response.headers.get("x-request-id"));
  });

  it("streams a message; the SDK's accumulator and the events agree", async () => {
    const stream = client.messages.stream({ model: "demo/tiny-chat", max_tokens: 64, messages: [{ role: "user", content: "Repeat exactly: streamed words arrive one by one" }] });
    const types: string[] = [];
    let text = "";
    stream.on("streamEvent", (e) => types.push(e.type));
    stream.on("text", (t) => (text += t));
    const final = await stream.finalMessage();
    expect(final.content).toEqual([{ type: "text", text: "streamed words arrive one by one" }]);
    expect(text).toBe("streamed words arrive one by one");
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage.output_tokens).toBeGreaterThan(3);
    const deltas = types.filter((t) => t === "content_block_delta").length;
    expect(deltas).toBeGreaterThan(3);
    // The SDK drops pings (the workerd tests check them on the wire).
    expect(types).toEqual([
      "message_start",
      "content_block_start",
      ...Array<string>(deltas).fill("content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
  });

  it("completes a streamed tool-use round trip", async () => {
    const messages: Anthropic.MessageParam[] = [{ role: "user", content: "What is the weather in Paris? Use get_weather." }];
    const first = await client.messages.stream({ model: "demo/tiny-chat", max_tokens: 256, tools: [weather], messages }).finalMessage();
    expect(first.stop_reason).toBe("tool_use");
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use");
    expect(use?.name).toBe("get_weather");
    expect(typeof (use!.input as { city: unknown }).city).toBe("string");

    messages.push({ role: "assistant", content: first.content });
    messages.push({ role: "user", content: [{ type: "tool_result", tool_use_id: use!.id, content: "Sunny, 21C" }] });
    const second = await client.messages.stream({ model: "demo/tiny-chat", max_tokens: 256, tools: [weather], messages }).finalMessage();
    expect(second.stop_reason).toBe("end_turn");
    expect(second.content).toEqual([{ type: "text", text: "The tool returned: Sunny, 21C" }]);
  });

  it("counts tokens", async () => {
    const counted = await client.messages.countTokens({ model: "demo/tiny-chat", messages: [{ role: "user", content: "How many tokens is this?" }] });
    expect(counted.input_tokens).toBeGreaterThan(5);
  });

  it("surfaces gateway errors as the SDK's typed errors", async () => {
    await expect(client.messages.create({ model: "no/such", max_tokens: 5, messages: [{ role: "user", content: "x" }] })).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    const bad = new Anthropic({ baseURL: inject("gatewayUrl"), apiKey: "sk-wrong-key-0000000000", maxRetries: 0 });
    const err = await bad.messages.create({ model: "demo/tiny-chat", max_tokens: 5, messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
    await expect(client.messages.create({ model: "demo/tiny-chat", max_tokens: 5, messages: [] })).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });
});
