/**
 * Anthropic Messages API through the real gateway (workerd, D1) to real reference miners:
 * translation both ways, the exact stream event order checked event by event, errors in
 * Anthropic's shape, count_tokens, and the probes Claude Code sends.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { SseDecoder } from "../../src/lib/sse";
import { call, createPlan, newSubscriber, registerMiners, subscriberOnPlan, usageRow } from "./helpers";

const fx = env.TEST_FIXTURES;
let key: string;

beforeAll(async () => {
  ({ key } = await newSubscriber("anthropic"));
  await registerMiners([
    { ...fx.healthy[0]!, models: ["demo/tiny-chat"] },
    { ...fx.healthy[1]!, models: ["demo/tiny-chat"] },
    { ...fx.failing, models: ["test/failing"] },
    { ...fx.dropping, models: ["test/dropping"] },
    { ...fx.paced, models: ["test/paced"] },
  ]);
});

type Json = Record<string, unknown>;
interface Ev {
  event: string;
  data: Json;
}

const WEATHER_TOOL = {
  name: "get_weather",
  description: "Weather for a city",
  input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
};

function messages(body: unknown, headers: Record<string, string> = {}, path = "/v1/messages"): Promise<Response> {
  return call(path, {
    method: "POST",
    headers: { "content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01", ...headers },
    body: JSON.stringify(body),
  });
}

async function readEvents(res: Response): Promise<Ev[]> {
  const decoder = new SseDecoder();
  const raw = [...decoder.push(new Uint8Array(await res.arrayBuffer())), ...decoder.end()];
  return raw.map((e) => ({ event: e.event, data: JSON.parse(e.data) as Json }));
}

/**
 * Checks Anthropic's stream grammar event by event and returns the assembled message:
 * message_start, then blocks (start, deltas of the block's own kind, stop) with indices 0..n-1
 * in order, then message_delta and message_stop as the last events; ping anywhere.
 */
function conformance(events: Ev[]) {
  for (const e of events) expect(e.data.type, `event name and data.type agree`).toBe(e.event);
  const seq = events.filter((e) => e.event !== "ping");
  expect(seq[0]!.event).toBe("message_start");
  const start = seq[0]!.data.message as Json;
  expect(start).toMatchObject({ type: "message", role: "assistant", content: [], stop_reason: null, stop_sequence: null });
  const blocks: Json[] = [];
  let i = 1;
  while (seq[i]?.event === "content_block_start") {
    const index = blocks.length;
    expect(seq[i]!.data.index).toBe(index);
    const block = { ...(seq[i]!.data.content_block as Json) };
    const deltaType = { text: "text_delta", thinking: "thinking_delta", tool_use: "input_json_delta" }[block.type as string];
    expect(deltaType, `known block type ${String(block.type)}`).toBeDefined();
    let json = "";
    i++;
    while (seq[i]?.event === "content_block_delta") {
      expect(seq[i]!.data.index).toBe(index);
      const delta = seq[i]!.data.delta as Json;
      expect(delta.type).toBe(deltaType);
      if (delta.type === "text_delta") block.text = (block.text as string) + (delta.text as string);
      if (delta.type === "thinking_delta") block.thinking = (block.thinking as string) + (delta.thinking as string);
      if (delta.type === "input_json_delta") json += delta.partial_json as string;
      i++;
    }
    if (block.type === "tool_use") block.input = JSON.parse(json || "{}");
    expect(seq[i]).toEqual({ event: "content_block_stop", data: { type: "content_block_stop", index } });
    blocks.push(block);
    i++;
  }
  expect(seq[i]!.event).toBe("message_delta");
  const messageDelta = seq[i]!.data;
  expect(seq[i + 1]).toEqual({ event: "message_stop", data: { type: "message_stop" } });
  expect(seq.length).toBe(i + 2);
  return { start, blocks, delta: messageDelta.delta as Json, usage: messageDelta.usage as Json };
}

describe("POST /v1/messages", () => {
  it("answers a non-streamed message and meters it", async () => {
    const res = await messages({ model: "demo/tiny-chat", max_tokens: 64, messages: [{ role: "user", content: "Repeat exactly: hello claude" }] });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id")!;
    expect(res.headers.get("request-id")).toBe(requestId);
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      id: `msg_${requestId.slice(4)}`,
      type: "message",
      role: "assistant",
      model: "demo/tiny-chat",
      content: [{ type: "text", text: "hello claude" }],
      stop_reason: "end_turn",
      stop_sequence: null,
    });
    const row = await usageRow(requestId);
    expect(row.status).toBe("ok");
    expect(body.usage).toEqual({
      input_tokens: row.prompt_tokens_reported,
      output_tokens: row.completion_tokens_reported,
      cache_creation_input_tokens: 0,
      cache_read_input_tokens: 0,
    });
  });

  it("accepts what Claude Code sends: ?beta=true, betas, system blocks with cache_control, thinking, unknown fields, bearer auth", async () => {
    const res = await call("/v1/messages?beta=true", {
      method: "POST",
      headers: {
        "content-type": "application/json",
        authorization: `Bearer ${key}`,
        "anthropic-version": "2023-06-01",
        "anthropic-beta": "claude-code-20250219,interleaved-thinking-2025-05-14,some-future-beta",
        "x-app": "cli",
      },
      body: JSON.stringify({
        model: "demo/tiny-chat",
        max_tokens: 32000,
        system: [
          { type: "text", text: "x-anthropic-billing-header: cc_version=2.1.197" },
          { type: "text", text: "You are Claude Code.", cache_control: { type: "ephemeral" } },
        ],
        messages: [
          { role: "user", content: [{ type: "text", text: "Repeat exactly: ok", cache_control: { type: "ephemeral" } }] },
          // Claude Code puts one after the first user turn; the answer must still see the user last.
          { role: "system", content: "Extra instructions, folded into the system prompt." },
        ],
        metadata: { user_id: JSON.stringify({ device_id: "d", session_id: "s" }) },
        thinking: { type: "adaptive" },
        output_config: { effort: "high" },
        context_management: { edits: [] },
        temperature: 1,
        top_k: 40,
      }),
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { content: unknown }).content).toEqual([{ type: "text", text: "ok" }]);
  });

  it("streams Anthropic's exact event sequence for text", async () => {
    const res = await messages({ model: "demo/tiny-chat", max_tokens: 64, stream: true, messages: [{ role: "user", content: "Repeat exactly: one two three four" }] });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const events = await readEvents(res);
    expect(events.slice(0, 2).map((e) => e.event)).toEqual(["message_start", "ping"]);
    const m = conformance(events);
    expect(m.blocks).toEqual([{ type: "text", text: "one two three four" }]);
    expect(events.filter((e) => e.event === "content_block_delta").length).toBeGreaterThan(1);
    expect(m.delta).toEqual({ stop_reason: "end_turn", stop_sequence: null });
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "ok", streamed: 1 });
    expect(m.usage.output_tokens).toBe(row.completion_tokens_reported);
    expect(m.usage.input_tokens).toBe(row.prompt_tokens_reported);
    expect((m.start.usage as Json).input_tokens).toBe(row.prompt_tokens_counted);
  });

  it("streams a tool call as a tool_use block with input_json_delta and stop_reason tool_use", async () => {
    const res = await messages({
      model: "demo/tiny-chat",
      max_tokens: 256,
      stream: true,
      tools: [WEATHER_TOOL, { type: "web_search_20250305", name: "web_search", max_uses: 3 }],
      tool_choice: { type: "auto" },
      messages: [{ role: "user", content: "Use get_weather for Paris" }],
    });
    expect(res.status).toBe(200);
    const m = conformance(await readEvents(res));
    expect(m.blocks).toHaveLength(1);
    expect(m.blocks[0]).toMatchObject({ type: "tool_use", name: "get_weather" });
    expect(typeof (m.blocks[0]!.input as Json).city).toBe("string");
    expect(m.blocks[0]!.id).toMatch(/^call_/);
    expect(m.delta).toEqual({ stop_reason: "tool_use", stop_sequence: null });
  });

  it("completes a tool-use round trip: tool_use and tool_result blocks go back as tool_calls and a tool message", async () => {
    const first = await messages({ model: "demo/tiny-chat", max_tokens: 256, tools: [WEATHER_TOOL], tool_choice: { type: "tool", name: "get_weather" }, messages: [{ role: "user", content: "Weather?" }] });
    const answer = (await first.json()) as { content: Json[]; stop_reason: string };
    expect(answer.stop_reason).toBe("tool_use");
    const toolUse = answer.content[0]!;
    expect(toolUse).toMatchObject({ type: "tool_use", name: "get_weather" });
    expect(typeof (toolUse.input as Json).city).toBe("string");

    const second = await messages({
      model: "demo/tiny-chat",
      max_tokens: 256,
      tools: [WEATHER_TOOL],
      messages: [
        { role: "user", content: "Weather?" },
        { role: "assistant", content: [{ type: "thinking", thinking: "I should call the tool.", signature: "sig" }, { type: "text", text: "Checking." }, toolUse] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: toolUse.id, content: [{ type: "text", text: "18C and sunny" }] }] },
      ],
    });
    expect(second.status).toBe(200);
    const final = (await second.json()) as { content: Json[]; stop_reason: string };
    expect(final.content).toEqual([{ type: "text", text: "The tool returned: 18C and sunny" }]);
    expect(final.stop_reason).toBe("end_turn");
  });

  it("marks errored tool results and accepts string tool_result content", async () => {
    const res = await messages({
      model: "demo/tiny-chat",
      max_tokens: 64,
      messages: [
        { role: "user", content: "Run it" },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "Bash", input: { command: "false" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "exit code 1", is_error: true }] },
      ],
    });
    expect(((await res.json()) as { content: unknown }).content).toEqual([{ type: "text", text: "The tool returned: Error: exit code 1" }]);
  });

  it("reports max_tokens when the answer is cut", async () => {
    const res = await messages({ model: "demo/tiny-chat", max_tokens: 3, messages: [{ role: "user", content: "Tell me a long story" }] });
    const body = (await res.json()) as { stop_reason: string; usage: { output_tokens: number } };
    expect(body.stop_reason).toBe("max_tokens");
    expect(body.usage.output_tokens).toBe(3);
    const streamed = conformance(await readEvents(await messages({ model: "demo/tiny-chat", max_tokens: 3, stream: true, messages: [{ role: "user", content: "Tell me a long story" }] })));
    expect(streamed.delta.stop_reason).toBe("max_tokens");
    expect(streamed.usage.output_tokens).toBe(3);
  });

  it("passes stop_sequences to the miner", async () => {
    const res = await messages({ model: "demo/tiny-chat", max_tokens: 64, stop_sequences: ["STOP"], messages: [{ role: "user", content: "Repeat exactly: alpha beta STOP gamma" }] });
    const body = (await res.json()) as { content: { text: string }[]; stop_reason: string };
    expect(body.content[0]!.text).toBe("alpha beta ");
    // The reference miner does not say which stop string matched (vLLM's stop_reason would).
    expect(body.stop_reason).toBe("end_turn");
  });

  it("accepts base64 image blocks", async () => {
    const res = await messages({
      model: "demo/tiny-chat",
      max_tokens: 32,
      messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } }, { type: "text", text: "Repeat exactly: seen" }] }],
    });
    expect(res.status).toBe(200);
  });

  it("ends a stream cut by the miner with an Anthropic error event, never silently", async () => {
    const res = await messages({ model: "test/dropping", max_tokens: 64, stream: true, messages: [{ role: "user", content: "Tell me a long story" }] });
    expect(res.status).toBe(200);
    const events = await readEvents(res);
    expect(events[0]!.event).toBe("message_start");
    const last = events.at(-1)!;
    expect(last.event).toBe("error");
    expect(last.data).toMatchObject({ type: "error", error: { type: "api_error" } });
    expect(events.some((e) => e.event === "message_stop")).toBe(false);
  });
});

describe("client going away", () => {
  it("meters a Messages stream the client cancels once, as client_cancelled, and stops the miner", async () => {
    const res = await messages({ model: "test/paced", max_tokens: 200, stream: true, messages: [{ role: "user", content: "Tell me a long story" }] });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read(); // message_start: the stream is live
    await reader.cancel();
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "client_cancelled", http_status: 499, streamed: 1 });
  });
});

describe("Anthropic error shape", () => {
  const expectError = async (res: Response, status: number, type: string) => {
    expect(res.status).toBe(status);
    const body = (await res.json()) as { type: string; error: { type: string; message: string }; request_id: string };
    expect(body.type).toBe("error");
    expect(body.error.type).toBe(type);
    expect(body.error.message.length).toBeGreaterThan(0);
    expect(body.request_id).toBe(res.headers.get("x-request-id"));
    return body.error.message;
  };

  it("401 authentication_error without a key", async () => {
    const res = await call("/v1/messages", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    await expectError(res, 401, "authentication_error");
  });

  it("400 invalid_request_error naming the field", async () => {
    expect(await expectError(await messages({ model: "demo/tiny-chat", max_tokens: 5 }), 400, "invalid_request_error")).toContain("messages");
    const badBlock = await messages({ model: "demo/tiny-chat", messages: [{ role: "user", content: [{ type: "video", url: "x" }] }] });
    expect(await expectError(badBlock, 400, "invalid_request_error")).toContain("messages.0.content.0.type");
    const badRole = await messages({ model: "demo/tiny-chat", messages: [{ role: "tool", content: "x" }] });
    expect(await expectError(badRole, 400, "invalid_request_error")).toContain("messages.0.role");
  });

  it("404 not_found_error for an unknown model, 502 api_error when every miner fails", async () => {
    await expectError(await messages({ model: "no/such-model", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }), 404, "not_found_error");
    await expectError(await messages({ model: "test/failing", max_tokens: 5, messages: [{ role: "user", content: "hi" }] }), 502, "api_error");
  });

  it("405 with Allow, 415 for a non-JSON body", async () => {
    const get = await call("/v1/messages", { headers: { "x-api-key": key } });
    expect(get.headers.get("allow")).toBe("POST");
    await expectError(get, 405, "invalid_request_error");
    const text = await call("/v1/messages", { method: "POST", headers: { "x-api-key": key, "content-type": "text/plain" }, body: "hi" });
    await expectError(text, 415, "invalid_request_error");
  });

  it("applies the subscriber's plan like chat completions: 429 rate_limit_error with Retry-After, 403 permission_error", async () => {
    const body = { model: "demo/tiny-chat", max_tokens: 8, messages: [{ role: "user", content: "hi" }] };
    const limited = await subscriberOnPlan(await createPlan("anthropic-rpm", { requests_per_minute: 1 }));
    const ask = (k: string) => call("/v1/messages", { method: "POST", headers: { "content-type": "application/json", "x-api-key": k }, body: JSON.stringify(body) });
    expect((await ask(limited.key)).status).toBe(200);
    const refused = await ask(limited.key);
    expect(refused.headers.get("retry-after")).toBeTruthy();
    await expectError(refused, 429, "rate_limit_error");
    const narrow = await subscriberOnPlan(await createPlan("anthropic-models", { models: ["other/model"] }));
    await expectError(await ask(narrow.key), 403, "permission_error");
  });

  it("passes a miner's own 400 through in Anthropic's shape", async () => {
    // tool_choice names a tool that is not among the tools: the miner refuses it.
    const res = await messages({ model: "demo/tiny-chat", max_tokens: 5, tools: [WEATHER_TOOL], tool_choice: { type: "tool", name: "nope" }, messages: [{ role: "user", content: "hi" }] });
    expect(await expectError(res, 400, "invalid_request_error")).toContain("miner");
  });
});

describe("POST /v1/messages/count_tokens", () => {
  it("counts the prompt exactly as the gateway meters it", async () => {
    const conversation = {
      model: "demo/tiny-chat",
      system: "Be brief.",
      messages: [
        { role: "user", content: "Repeat exactly: counted" },
        { role: "assistant", content: [{ type: "tool_use", id: "t1", name: "get_weather", input: { city: "Oslo" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "t1", content: "cold" }] },
      ],
      tools: [WEATHER_TOOL],
    };
    const counted = await messages(conversation, {}, "/v1/messages/count_tokens");
    expect(counted.status).toBe(200);
    const { input_tokens } = (await counted.json()) as { input_tokens: number };
    expect(input_tokens).toBeGreaterThan(10);
    const res = await messages({ ...conversation, max_tokens: 16 });
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect(row.prompt_tokens_counted).toBe(input_tokens);
    expect(row.prompt_tokens_reported).toBe(input_tokens);
  });

  it("refuses a bad body in Anthropic's shape", async () => {
    const res = await messages({ model: "demo/tiny-chat" }, {}, "/v1/messages/count_tokens");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { type: string }).type).toBe("error");
  });
});

describe("what Claude Code and other agents probe", () => {
  it("answers HEAD / and HEAD /api/hello with 200", async () => {
    for (const path of ["/", "/api/hello"]) {
      const res = await call(path, { method: "HEAD" });
      expect(res.status, path).toBe(200);
    }
  });

  it("refuses a WebSocket upgrade cleanly", async () => {
    const res = await call("/v1/responses", { headers: { upgrade: "websocket", connection: "Upgrade", authorization: `Bearer ${key}` } });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("websocket_not_supported");
  });
});
