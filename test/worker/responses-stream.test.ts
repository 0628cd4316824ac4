/**
 * The Responses translation units on inputs the reference miner never produces: reasoning,
 * cached and reasoning token counts, parallel tool calls, cut streams at any byte; the request
 * translation of every input item kind; and the session affinity key.
 */
import { describe, expect, it } from "vitest";
import { chatEvents } from "../../src/dialects/chat-stream";
import { relayEvents } from "./relay-events";
import { responsesToChat } from "../../src/dialects/responses/request";
import { chatAnswerToResponse, type ResponseContext } from "../../src/dialects/responses/response";
import { responsesStream } from "../../src/dialects/responses/stream";
import { readChatCompletion } from "../../src/dialects/chat-answer";
import { affinityKey, affinitySource } from "../../src/dialects/session";
import { SseDecoder } from "../../src/lib/sse";

const echo = responsesToChat({ model: "m", input: "x" }).echo;
const ctx: ResponseContext = { requestId: "req_00000000000000000000000000000abc", model: "m", createdAt: 1_700_000_000, echo, promptTokensCounted: 7 };

const chunk = (delta: Record<string, unknown>, finish: string | null = null) =>
  `data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const usage = (u: Record<string, unknown>) => `data: ${JSON.stringify({ id: "c", choices: [], usage: u })}\n\n`;

async function translate(sse: string, size: number) {
  const bytes = new TextEncoder().encode(sse);
  const src = new ReadableStream<Uint8Array>({
    start(ctrl) {
      for (let i = 0; i < bytes.length; i += size) ctrl.enqueue(bytes.slice(i, i + size));
      ctrl.close();
    },
  });
  const out = new Uint8Array(await new Response(src.pipeThrough(relayEvents()).pipeThrough(chatEvents()).pipeThrough(responsesStream(ctx))).arrayBuffer());
  const d = new SseDecoder();
  return [...d.push(out), ...d.end()].map((e) => ({ event: e.event, data: JSON.parse(e.data) as Record<string, unknown> }));
}

describe("Responses stream translation", () => {
  const sse =
    chunk({ role: "assistant", content: "" }) +
    chunk({ reasoning_content: "think" }) +
    chunk({ content: "Hi ✓" }) +
    chunk({ tool_calls: [{ index: 0, id: "call_a", type: "function", function: { name: "shell", arguments: '{"c":' } }] }) +
    chunk({ tool_calls: [{ index: 0, function: { arguments: "1}" } }] }) +
    chunk({}, "tool_calls") +
    usage({ prompt_tokens: 40, completion_tokens: 12, prompt_tokens_details: { cached_tokens: 32 }, completion_tokens_details: { reasoning_tokens: 1 } }) +
    "data: [DONE]\n\n";

  it("emits typed events in order with sequence numbers, at every chunking", async () => {
    const rs = "rs_00000000000000000000000000000abc_0";
    const msg = "msg_00000000000000000000000000000abc_1";
    const fc = "fc_00000000000000000000000000000abc_2";
    const expected: [string, Record<string, unknown>][] = [
      ["response.created", { response: expect.objectContaining({ id: "resp_00000000000000000000000000000abc", status: "in_progress", output: [] }) }],
      ["response.in_progress", { response: expect.objectContaining({ status: "in_progress" }) }],
      ["response.output_item.added", { output_index: 0, item: { id: rs, type: "reasoning", summary: [], content: [] } }],
      ["response.content_part.added", { item_id: rs, output_index: 0, content_index: 0, part: { type: "reasoning_text", text: "" } }],
      ["response.reasoning_text.delta", { item_id: rs, output_index: 0, content_index: 0, delta: "think" }],
      ["response.reasoning_text.done", { item_id: rs, output_index: 0, content_index: 0, text: "think" }],
      ["response.content_part.done", { item_id: rs, output_index: 0, content_index: 0, part: { type: "reasoning_text", text: "think" } }],
      ["response.output_item.done", { output_index: 0, item: { id: rs, type: "reasoning", summary: [], content: [{ type: "reasoning_text", text: "think" }] } }],
      ["response.output_item.added", { output_index: 1, item: { id: msg, type: "message", status: "in_progress", role: "assistant", content: [] } }],
      ["response.content_part.added", { item_id: msg, output_index: 1, content_index: 0, part: { type: "output_text", text: "", annotations: [], logprobs: [] } }],
      ["response.output_text.delta", { item_id: msg, output_index: 1, content_index: 0, delta: "Hi ✓", logprobs: [] }],
      ["response.output_text.done", { item_id: msg, output_index: 1, content_index: 0, text: "Hi ✓", logprobs: [] }],
      ["response.content_part.done", { item_id: msg, output_index: 1, content_index: 0, part: { type: "output_text", text: "Hi ✓", annotations: [], logprobs: [] } }],
      ["response.output_item.done", { output_index: 1, item: { id: msg, type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: "Hi ✓", annotations: [], logprobs: [] }] } }],
      ["response.output_item.added", { output_index: 2, item: { id: fc, type: "function_call", status: "in_progress", call_id: "call_a", name: "shell", arguments: "" } }],
      ["response.function_call_arguments.delta", { item_id: fc, output_index: 2, delta: '{"c":' }],
      ["response.function_call_arguments.delta", { item_id: fc, output_index: 2, delta: "1}" }],
      ["response.function_call_arguments.done", { item_id: fc, output_index: 2, name: "shell", arguments: '{"c":1}' }],
      ["response.output_item.done", { output_index: 2, item: { id: fc, type: "function_call", status: "completed", call_id: "call_a", name: "shell", arguments: '{"c":1}' } }],
      [
        "response.completed",
        {
          response: expect.objectContaining({
            status: "completed",
            usage: { input_tokens: 40, input_tokens_details: { cached_tokens: 32 }, output_tokens: 12, output_tokens_details: { reasoning_tokens: 1 }, total_tokens: 52 },
          }),
        },
      ],
    ];
    for (const size of [1, 5, 1 << 20]) {
      const events = await translate(sse, size);
      expect(events.map((e) => e.event), `chunks of ${size} bytes`).toEqual(expected.map(([name]) => name));
      events.forEach((e, i) => {
        const [name, fields] = expected[i]!;
        expect(e.data).toEqual({ type: name, sequence_number: i, ...fields });
      });
      const completed = events.at(-1)!.data.response as { output: unknown[] };
      expect(completed.output).toEqual([events[7]!.data.item, events[13]!.data.item, events[18]!.data.item]);
    }
  });

  it("ends with response.failed on a relay error event or a stream that just stops", async () => {
    const err = `data: ${JSON.stringify({ error: { message: "broke", type: "api_error", code: "miner_stream_interrupted", param: null } })}\n\n`;
    for (const tail of [err, ""]) {
      const events = await translate(chunk({ content: "par" }) + tail, 3);
      expect(events.at(-1)!.event).toBe("response.failed");
      expect(events.at(-1)!.data.response).toMatchObject({ status: "failed", error: { code: "server_error" } });
      expect(events.filter((e) => e.event === "response.completed")).toEqual([]);
    }
  });

  it("builds the non-streamed response with reasoning and cached tokens", () => {
    const r = chatAnswerToResponse(
      readChatCompletion({
        choices: [{ index: 0, finish_reason: "stop", message: { role: "assistant", content: "Done.", reasoning: "quick" } }],
        usage: { prompt_tokens: 20, completion_tokens: 3, prompt_tokens_details: { cached_tokens: 16 } },
      }),
      ctx,
    );
    expect(r.output.map((o) => o.type)).toEqual(["reasoning", "message"]);
    expect(r.usage).toEqual({ input_tokens: 20, input_tokens_details: { cached_tokens: 16 }, output_tokens: 3, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 23 });
  });
});

describe("Responses request translation", () => {
  it("maps instructions and every input item kind", () => {
    const t = responsesToChat({
      model: "m",
      instructions: "Be terse.",
      input: [
        { type: "message", role: "developer", content: [{ type: "input_text", text: "Dev rules" }] },
        { role: "user", content: [{ type: "input_text", text: "Look " }, { type: "input_image", image_url: "https://x/i.png", detail: "low" }] },
        { type: "reasoning", id: "rs_1", summary: [], content: [{ type: "reasoning_text", text: "full reasoning" }] },
        { type: "message", role: "assistant", content: [{ type: "output_text", text: "Calling two tools." }] },
        { type: "function_call", id: "fc_1", call_id: "c1", name: "shell", arguments: '{"a":1}' },
        { type: "function_call", id: "fc_2", call_id: "c2", name: "shell", arguments: '{"a":2}' },
        { type: "function_call_output", call_id: "c1", output: "one" },
        { type: "function_call_output", call_id: "c2", output: [{ type: "input_text", text: "two" }] },
        { type: "function_call", call_id: "c3", name: "shell", arguments: "{}" },
        { type: "function_call_output", call_id: "c3", output: "three" },
      ],
      tools: [{ type: "function", name: "shell", parameters: { type: "object" }, strict: true }, { type: "web_search" }, { type: "custom", name: "apply_patch" }],
      tool_choice: { type: "function", name: "shell" },
      parallel_tool_calls: true,
      max_output_tokens: 500,
      temperature: 0.3,
      safety_identifier: "u-9",
      text: { format: { type: "json_object" } },
      stream: true,
      store: false,
      prompt_cache_key: "k",
      reasoning: { effort: "high" },
    });
    expect(t.droppedTools).toEqual(["web_search", "custom"]);
    expect(t.chat).toEqual({
      model: "m",
      stream: true,
      stream_options: { include_usage: true },
      max_tokens: 500,
      temperature: 0.3,
      user: "u-9",
      response_format: { type: "json_object" },
      tools: [{ type: "function", function: { name: "shell", parameters: { type: "object" } } }],
      tool_choice: { type: "function", function: { name: "shell" } },
      parallel_tool_calls: true,
      messages: [
        { role: "system", content: "Be terse." },
        { role: "system", content: "Dev rules" },
        { role: "user", content: [{ type: "text", text: "Look " }, { type: "image_url", image_url: { url: "https://x/i.png", detail: "low" } }] },
        {
          role: "assistant",
          content: "Calling two tools.",
          reasoning_content: "full reasoning",
          tool_calls: [
            { id: "c1", type: "function", function: { name: "shell", arguments: '{"a":1}' } },
            { id: "c2", type: "function", function: { name: "shell", arguments: '{"a":2}' } },
          ],
        },
        { role: "tool", tool_call_id: "c1", content: "one" },
        { role: "tool", tool_call_id: "c2", content: "two" },
        { role: "assistant", content: null, tool_calls: [{ id: "c3", type: "function", function: { name: "shell", arguments: "{}" } }] },
        { role: "tool", tool_call_id: "c3", content: "three" },
      ],
    });
    expect(t.echo).toMatchObject({ instructions: "Be terse.", maxOutputTokens: 500, parallelToolCalls: true, temperature: 0.3, user: "u-9", reasoning: { effort: "high" } });
  });
});

describe("session affinity key", () => {
  const conversation = [
    { role: "system", content: "You are an agent." },
    { role: "user", content: "Fix the bug" },
  ];
  const key = async (headers: Record<string, string>, body: Record<string, unknown>, messages: unknown, subscriber = "sub_a") =>
    affinityKey(subscriber, affinitySource(new Headers(headers), body, messages));

  it("prefers session headers in order, then prompt_cache_key, then the conversation's opening", () => {
    const h = new Headers({ "x-claude-code-session-id": "cc", "session-id": "codex", "x-session-id": "oc", "x-session-affinity": "aff" });
    expect(affinitySource(h, {}, conversation)).toEqual({ kind: "header", value: "aff" });
    h.delete("x-session-affinity");
    expect(affinitySource(h, {}, conversation)).toEqual({ kind: "header", value: "oc" });
    h.delete("x-session-id");
    expect(affinitySource(h, {}, conversation)).toEqual({ kind: "header", value: "codex" });
    h.delete("session-id");
    expect(affinitySource(h, {}, conversation)).toEqual({ kind: "header", value: "cc" });
    expect(affinitySource(new Headers(), { prompt_cache_key: "pck" }, conversation)).toEqual({ kind: "prompt_cache_key", value: "pck" });
    expect(affinitySource(new Headers(), {}, conversation)?.kind).toBe("prefix");
    expect(affinitySource(new Headers({ "x-session-id": "  " }), {}, [{ role: "assistant", content: "x" }])).toBeNull();
    // A one-shot prompt without a system prompt is not a session: identical ones keep spreading.
    expect(affinitySource(new Headers(), {}, [{ role: "user", content: "Say something" }])).toBeNull();
  });

  it("stays the same as the conversation grows, differs per conversation and per subscriber", async () => {
    const first = await key({}, {}, conversation);
    const later = await key({}, {}, [...conversation, { role: "assistant", content: "Done" }, { role: "user", content: "Thanks" }]);
    expect(first).toMatch(/^aff_[0-9a-f]{32}$/);
    expect(later).toBe(first);
    expect(await key({}, {}, [conversation[0], { role: "user", content: "Another task" }])).not.toBe(first);
    expect(await key({}, {}, conversation, "sub_b")).not.toBe(first);
    expect(await key({ "x-session-id": "s1" }, {}, conversation)).toBe(await key({ "x-session-id": "s1" }, {}, []));
  });
});
