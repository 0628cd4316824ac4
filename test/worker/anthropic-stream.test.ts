/**
 * The Anthropic translation units on inputs the reference miner never produces: reasoning
 * (`reasoning_content` / `reasoning`), cached prompt tokens, parallel tool calls, vLLM's matched
 * stop string, streams cut at any byte. The same chat SSE bytes a real relay would pass are fed
 * through the real transforms; the request translation is checked field by field.
 */
import { describe, expect, it } from "vitest";
import { anthropicStream } from "../../src/dialects/anthropic/stream";
import { messagesToChat } from "../../src/dialects/anthropic/request";
import { chatAnswerToMessage, type AnswerContext } from "../../src/dialects/anthropic/response";
import { readChatCompletion } from "../../src/dialects/chat-answer";
import { chatEvents } from "../../src/dialects/chat-stream";
import { relayEvents } from "./relay-events";
import { GatewayError } from "../../src/errors";
import { SseDecoder } from "../../src/lib/sse";

const ctx: AnswerContext = { requestId: "req_0123456789abcdef0123456789abcdef", model: "m", stopSequences: ["END"], hideThinking: false, promptTokensCounted: 11 };

const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish, ...extra }] })}\n\n`;
const usage = (u: Record<string, unknown>) => `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [], usage: u })}\n\n`;
const DONE = "data: [DONE]\n\n";

/** Runs chat SSE text through the real transforms, cut into pieces of `size` bytes. */
async function translate(sse: string, size: number, c: AnswerContext = ctx) {
  const bytes = new TextEncoder().encode(sse);
  const src = new ReadableStream<Uint8Array>({
    start(ctrl) {
      for (let i = 0; i < bytes.length; i += size) ctrl.enqueue(bytes.slice(i, i + size));
      ctrl.close();
    },
  });
  const out = new Uint8Array(await new Response(src.pipeThrough(relayEvents()).pipeThrough(chatEvents()).pipeThrough(anthropicStream(c))).arrayBuffer());
  const d = new SseDecoder();
  return [...d.push(out), ...d.end()].map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
}

const REASONING_TEXT_TOOLS =
  chunk({ role: "assistant", content: "" }) +
  chunk({ reasoning_content: "Think " }) +
  chunk({ reasoning_content: "héllo ✓" }) +
  chunk({ content: "Answer" }) +
  chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "Bash", arguments: "" } }] }) +
  chunk({ tool_calls: [{ index: 0, function: { arguments: '{"command":' } }] }) +
  chunk({ tool_calls: [{ index: 1, id: "call_b", type: "function", function: { name: "Read", arguments: '{"path":"a"}' } }] }) +
  chunk({ tool_calls: [{ index: 0, function: { arguments: '"ls"}' } }] }) +
  chunk({}, "tool_calls") +
  usage({ prompt_tokens: 100, completion_tokens: 20, prompt_tokens_details: { cached_tokens: 64 } }) +
  DONE;

describe("Anthropic stream translation", () => {
  it("maps reasoning, text and parallel tool calls to blocks in exact order, at every chunking", async () => {
    const expected = [
      ["message_start", { type: "message_start", message: { id: "msg_0123456789abcdef0123456789abcdef", type: "message", role: "assistant", model: "m", content: [], stop_reason: null, stop_sequence: null, usage: { input_tokens: 11, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } } }],
      ["ping", { type: "ping" }],
      ["content_block_start", { type: "content_block_start", index: 0, content_block: { type: "thinking", thinking: "", signature: "" } }],
      ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "Think " } }],
      ["content_block_delta", { type: "content_block_delta", index: 0, delta: { type: "thinking_delta", thinking: "héllo ✓" } }],
      ["content_block_stop", { type: "content_block_stop", index: 0 }],
      ["content_block_start", { type: "content_block_start", index: 1, content_block: { type: "text", text: "" } }],
      ["content_block_delta", { type: "content_block_delta", index: 1, delta: { type: "text_delta", text: "Answer" } }],
      ["content_block_stop", { type: "content_block_stop", index: 1 }],
      ["content_block_start", { type: "content_block_start", index: 2, content_block: { type: "tool_use", id: "call_a", name: "Bash", input: {} } }],
      ["content_block_delta", { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '{"command":' } }],
      ["content_block_stop", { type: "content_block_stop", index: 2 }],
      ["content_block_start", { type: "content_block_start", index: 3, content_block: { type: "tool_use", id: "call_b", name: "Read", input: {} } }],
      ["content_block_delta", { type: "content_block_delta", index: 3, delta: { type: "input_json_delta", partial_json: '{"path":"a"}' } }],
      // A late fragment of the first call keeps its own block index.
      ["content_block_delta", { type: "content_block_delta", index: 2, delta: { type: "input_json_delta", partial_json: '"ls"}' } }],
      ["content_block_stop", { type: "content_block_stop", index: 3 }],
      ["message_delta", { type: "message_delta", delta: { stop_reason: "tool_use", stop_sequence: null }, usage: { input_tokens: 36, output_tokens: 20, cache_creation_input_tokens: 0, cache_read_input_tokens: 64 } }],
      ["message_stop", { type: "message_stop" }],
    ];
    for (const size of [1, 3, 17, 1 << 20]) {
      const events = await translate(REASONING_TEXT_TOOLS, size);
      expect(events.map((e) => [e.event, e.data]), `chunks of ${size} bytes`).toEqual(expected);
    }
  });

  it("reads `reasoning` as well as `reasoning_content`, and hides thinking when the client disabled it", async () => {
    const sse = chunk({ reasoning: "hmm" }) + chunk({ content: "ok" }) + chunk({}, "stop") + DONE;
    const shown = await translate(sse, 1 << 20);
    expect(shown.find((e) => e.event === "content_block_delta")!.data.delta).toEqual({ type: "thinking_delta", thinking: "hmm" });
    const hidden = await translate(sse, 1 << 20, { ...ctx, hideThinking: true });
    expect(hidden.filter((e) => e.event === "content_block_start").map((e) => (e.data.content_block as { type: string }).type)).toEqual(["text"]);
  });

  it("reports stop_sequence when the miner names the matched stop string (vLLM), and counts output itself without usage", async () => {
    const events = await translate(chunk({ content: "one two" }) + chunk({}, "stop", { stop_reason: "END" }) + DONE, 1 << 20);
    const delta = events.find((e) => e.event === "message_delta")!.data;
    expect(delta.delta).toEqual({ stop_reason: "stop_sequence", stop_sequence: "END" });
    expect(delta.usage).toMatchObject({ input_tokens: 11, output_tokens: 2 });
  });

  it("turns a relay error event, or a stream that just stops, into one Anthropic error event", async () => {
    const relayError = `data: ${JSON.stringify({ error: { message: "The miner stopped sending; the answer is incomplete.", type: "api_error", code: "miner_timeout", param: null } })}\n\n`;
    const timedOut = await translate(chunk({ content: "par" }) + relayError, 5);
    expect(timedOut.at(-1)).toEqual({ event: "error", data: { type: "error", error: { type: "timeout_error", message: "The miner stopped sending; the answer is incomplete." } } });
    expect(timedOut.map((e) => e.event)).toEqual(["message_start", "ping", "content_block_start", "content_block_delta", "error"]);
    const stopped = await translate(chunk({ content: "par" }), 4);
    expect(stopped.at(-1)!.data).toMatchObject({ type: "error", error: { type: "api_error" } });
  });
});

describe("Anthropic answer translation", () => {
  it("builds thinking, text and tool_use blocks with cache reads split out of input_tokens", () => {
    const message = chatAnswerToMessage(
      readChatCompletion({
        choices: [
          {
            index: 0,
            finish_reason: "tool_calls",
            message: { role: "assistant", content: "Let me look.", reasoning_content: "Need a tool.", tool_calls: [{ id: "call_1", type: "function", function: { name: "Read", arguments: '{"path":"x"}' } }, { id: "call_2", type: "function", function: { name: "Cut", arguments: '{"pa' } }] },
          },
        ],
        usage: { prompt_tokens: 50, completion_tokens: 9, prompt_tokens_details: { cached_tokens: 48 } },
      }),
      ctx,
    );
    expect(message.content).toEqual([
      { type: "thinking", thinking: "Need a tool.", signature: "" },
      { type: "text", text: "Let me look." },
      { type: "tool_use", id: "call_1", name: "Read", input: { path: "x" } },
      // Arguments cut short by max_tokens cannot be parsed: an empty input, not a crash.
      { type: "tool_use", id: "call_2", name: "Cut", input: {} },
    ]);
    expect(message.stop_reason).toBe("tool_use");
    expect(message.usage).toEqual({ input_tokens: 2, output_tokens: 9, cache_creation_input_tokens: 0, cache_read_input_tokens: 48 });
  });
});

describe("Anthropic request translation", () => {
  it("maps every supported field to chat completions", () => {
    const t = messagesToChat({
      model: "m",
      max_tokens: 1000,
      stream: true,
      system: [{ type: "text", text: "Sys A", cache_control: { type: "ephemeral" } }, { type: "text", text: "Sys B" }],
      messages: [
        { role: "user", content: [{ type: "text", text: "Look" }, { type: "image", source: { type: "url", url: "https://x/y.png" } }] },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "plan", signature: "s" },
            { type: "redacted_thinking", data: "xx" },
            { type: "text", text: "Calling" },
            { type: "tool_use", id: "t1", name: "Read", input: { path: "a" } },
            { type: "tool_use", id: "t2", name: "Read", input: { path: "b" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "text", text: "and then" },
            { type: "tool_result", tool_use_id: "t1", content: [{ type: "text", text: "A" }, { type: "image", source: { type: "base64", media_type: "image/png", data: "AAA" } }] },
            { type: "tool_result", tool_use_id: "t2", content: "boom", is_error: true },
          ],
        },
        { role: "system", content: [{ type: "text", text: "late system" }] },
        { role: "user", content: [{ type: "document", source: { type: "text", media_type: "text/plain", data: "doc text" } }] },
      ],
      tools: [
        { name: "Read", description: "Reads", input_schema: { type: "object", properties: { path: { type: "string" } } } },
        { type: "custom", name: "Cut", input_schema: { type: "object" } },
        { type: "bash_20250124", name: "bash" },
      ],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
      stop_sequences: ["END", ""],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 5,
      metadata: { user_id: "user-1" },
      thinking: { type: "enabled", budget_tokens: 2000 },
      context_management: {},
    });
    expect(t.droppedTools).toEqual(["bash_20250124"]);
    expect(t.stopSequences).toEqual(["END"]);
    expect(t.chat).toEqual({
      model: "m",
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 1000,
      stop: ["END"],
      temperature: 0.5,
      top_p: 0.9,
      user: "user-1",
      parallel_tool_calls: false,
      tool_choice: "required",
      tools: [
        { type: "function", function: { name: "Read", description: "Reads", parameters: { type: "object", properties: { path: { type: "string" } } } } },
        { type: "function", function: { name: "Cut", parameters: { type: "object" } } },
      ],
      messages: [
        // The system entry inside messages is folded into the leading system message.
        { role: "system", content: "Sys A\n\nSys B\n\nlate system" },
        { role: "user", content: [{ type: "text", text: "Look" }, { type: "image_url", image_url: { url: "https://x/y.png" } }] },
        {
          role: "assistant",
          content: "Calling",
          reasoning_content: "plan",
          tool_calls: [
            { id: "t1", type: "function", function: { name: "Read", arguments: '{"path":"a"}' } },
            { id: "t2", type: "function", function: { name: "Read", arguments: '{"path":"b"}' } },
          ],
        },
        // Tool answers come first, right after the calls; the user's other content follows.
        { role: "tool", tool_call_id: "t1", content: "A" },
        { role: "tool", tool_call_id: "t2", content: "Error: boom" },
        { role: "user", content: [{ type: "text", text: "and then" }, { type: "image_url", image_url: { url: "data:image/png;base64,AAA" } }] },
        { role: "user", content: "doc text" },
      ],
    });
  });

  it("maps each tool_choice and refuses what miners cannot honour, naming the field", () => {
    const base = { model: "m", messages: [{ role: "user", content: "x" }], tools: [{ name: "f", input_schema: { type: "object" } }] };
    expect(messagesToChat({ ...base, tool_choice: { type: "auto" } }).chat.tool_choice).toBe("auto");
    expect(messagesToChat({ ...base, tool_choice: { type: "none" } }).chat.tool_choice).toBe("none");
    expect(messagesToChat({ ...base, tool_choice: { type: "tool", name: "f" } }).chat.tool_choice).toEqual({ type: "function", function: { name: "f" } });
    const refused = (body: Record<string, unknown>): GatewayError => {
      try {
        messagesToChat(body);
      } catch (e) {
        if (e instanceof GatewayError) return e;
      }
      throw new Error("expected a refusal");
    };
    expect(refused({ ...base, stop_sequences: ["a", "b", "c", "d", "e"] }).param).toBe("stop_sequences");
    expect(refused({ ...base, messages: [{ role: "user", content: [{ type: "document", source: { type: "base64", media_type: "application/pdf", data: "x" } }] }] }).param).toBe("messages.0.content.0.source");
    expect(refused({ ...base, messages: [{ role: "assistant", content: [{ type: "server_tool_use", id: "s" }] }] }).param).toBe("messages.0.content.0.type");
    expect(refused({ ...base, tool_choice: { type: "sometimes" } }).param).toBe("tool_choice.type");
    expect(refused({ model: "m", messages: [] }).param).toBe("messages");
  });
});
