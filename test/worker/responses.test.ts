/**
 * OpenAI Responses API through the real gateway (workerd, D1) to real reference miners:
 * translation both ways, the typed stream checked event by event, what Codex sends, and the
 * refusals (stored-response features, bad items).
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { SseDecoder } from "../../src/lib/sse";
import { call, expectOpenAIError, newSubscriber, registerMiners, usageRow } from "./helpers";

const fx = env.TEST_FIXTURES;
let key: string;

beforeAll(async () => {
  ({ key } = await newSubscriber("responses"));
  await registerMiners([
    { ...fx.healthy[0]!, models: ["demo/tiny-chat"] },
    { ...fx.healthy[1]!, models: ["demo/tiny-chat"] },
    { ...fx.dropping, models: ["test/dropping"] },
    { ...fx.paced, models: ["test/paced"] },
  ]);
});

type Json = Record<string, unknown>;
interface Ev {
  event: string;
  data: Json;
}

const SHELL_TOOL = {
  type: "function",
  name: "shell",
  description: "Runs a shell command",
  parameters: { type: "object", properties: { command: { type: "array", items: { type: "string" } } }, required: ["command"] },
  strict: false,
};

function responses(body: unknown, headers: Record<string, string> = {}): Promise<Response> {
  return call("/v1/responses", {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers },
    body: JSON.stringify(body),
  });
}

async function readEvents(res: Response): Promise<Ev[]> {
  const decoder = new SseDecoder();
  const raw = [...decoder.push(new Uint8Array(await res.arrayBuffer())), ...decoder.end()];
  return raw.map((e) => ({ event: e.event, data: JSON.parse(e.data) as Json }));
}

/**
 * Checks the Responses stream grammar event by event: sequence numbers 0..n-1, created then
 * in_progress, each output item added / filled / done in order with matching ids and indices,
 * and exactly one terminal event last. response.failed may cut an item short. Returns the
 * terminal event's response and the finished items.
 */
function conformance(events: Ev[]): { terminal: string; response: Json; items: Json[] } {
  events.forEach((e, i) => {
    expect(e.data.type, "event name and data.type agree").toBe(e.event);
    expect(e.data.sequence_number).toBe(i);
  });
  expect(events[0]!.event).toBe("response.created");
  expect((events[0]!.data.response as Json).status).toBe("in_progress");
  expect(events[1]!.event).toBe("response.in_progress");
  const last = events.length - 1;
  const terminal = events[last]!;
  expect(["response.completed", "response.failed"]).toContain(terminal.event);
  const failed = terminal.event === "response.failed";
  const items: Json[] = [];
  let i = 2;
  const at = (type: string) => i < last && events[i]!.event === type;
  const next = (type: string, fields: Json = {}) => {
    expect(events[i]?.event, `event ${i}`).toBe(type);
    expect(events[i]!.data).toMatchObject(fields);
    return events[i++]!.data;
  };
  /** A failed stream may stop anywhere inside an item. */
  const cut = () => failed && i === last;
  while (at("response.output_item.added")) {
    const output_index = items.length;
    const item = next("response.output_item.added", { output_index }).item as Json;
    const item_id = item.id as string;
    const ref = { item_id, output_index };
    if (item.type === "message" || item.type === "reasoning") {
      const [part, delta, done] =
        item.type === "message"
          ? ["output_text", "response.output_text.delta", "response.output_text.done"]
          : ["reasoning_text", "response.reasoning_text.delta", "response.reasoning_text.done"];
      if (item.type === "message") expect(item).toMatchObject({ status: "in_progress", role: "assistant", content: [] });
      next("response.content_part.added", { ...ref, content_index: 0, part: { type: part, text: "" } });
      let text = "";
      while (at(delta)) text += next(delta, { ...ref, content_index: 0 }).delta as string;
      if (cut()) break;
      next(done, { ...ref, content_index: 0, text });
      next("response.content_part.done", { ...ref, content_index: 0, part: { type: part, text } });
      items.push(next("response.output_item.done", { output_index, item: { id: item_id, type: item.type, content: [{ type: part, text }] } }).item as Json);
    } else {
      expect(item).toMatchObject({ type: "function_call", status: "in_progress", arguments: "" });
      let args = "";
      while (at("response.function_call_arguments.delta")) args += next("response.function_call_arguments.delta", ref).delta as string;
      if (cut()) break;
      next("response.function_call_arguments.done", { ...ref, arguments: args, name: item.name });
      items.push(next("response.output_item.done", { output_index, item: { id: item_id, type: "function_call", call_id: item.call_id, arguments: args } }).item as Json);
    }
  }
  expect(i, "nothing between the last item and the terminal event").toBe(last);
  const response = terminal.data.response as Json;
  if (!failed) expect(response.output).toEqual(items);
  return { terminal: terminal.event, response, items };
}

describe("POST /v1/responses", () => {
  it("answers a non-streamed string input and meters it", async () => {
    const res = await responses({ model: "demo/tiny-chat", input: "Repeat exactly: hello codex", max_output_tokens: 64 });
    expect(res.status).toBe(200);
    const requestId = res.headers.get("x-request-id")!;
    const body = (await res.json()) as Json;
    expect(body).toMatchObject({
      id: `resp_${requestId.slice(4)}`,
      object: "response",
      status: "completed",
      error: null,
      incomplete_details: null,
      model: "demo/tiny-chat",
      store: false,
      max_output_tokens: 64,
      output: [{ type: "message", status: "completed", role: "assistant", content: [{ type: "output_text", text: "hello codex", annotations: [] }] }],
    });
    const row = await usageRow(requestId);
    expect(body.usage).toEqual({
      input_tokens: row.prompt_tokens_reported,
      input_tokens_details: { cached_tokens: 0 },
      output_tokens: row.completion_tokens_reported,
      output_tokens_details: { reasoning_tokens: 0 },
      total_tokens: row.prompt_tokens_reported! + row.completion_tokens_reported!,
    });
  });

  it("streams what Codex sends: developer message, namespace and web_search tools, reasoning, store:false, include", async () => {
    const res = await responses(
      {
        model: "demo/tiny-chat",
        input: [
          { type: "message", role: "developer", content: [{ type: "input_text", text: "You are Codex, a coding agent." }] },
          { type: "message", role: "user", content: [{ type: "input_text", text: "Repeat exactly: streamed fine" }] },
        ],
        tools: [SHELL_TOOL, { type: "namespace", name: "mcp", tools: [] }, { type: "web_search", external_web_access: false }],
        tool_choice: "auto",
        parallel_tool_calls: false,
        reasoning: { effort: "medium", summary: "auto" },
        store: false,
        stream: true,
        include: ["reasoning.encrypted_content"],
        prompt_cache_key: "0193-thread",
      },
      { "session-id": "0193-thread", originator: "codex_exec" },
    );
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/event-stream");
    const { terminal, response, items } = conformance(await readEvents(res));
    expect(terminal).toBe("response.completed");
    expect(items).toHaveLength(1);
    expect((items[0]!.content as Json[])[0]!.text).toBe("streamed fine");
    expect(response).toMatchObject({ status: "completed", parallel_tool_calls: false, tools: [SHELL_TOOL] });
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect((response.usage as Json).output_tokens).toBe(row.completion_tokens_reported);
  });

  it("streams a function call item", async () => {
    const res = await responses({ model: "demo/tiny-chat", stream: true, tools: [SHELL_TOOL], input: "Use shell to list the files" });
    const { response, items } = conformance(await readEvents(res));
    expect(items).toHaveLength(1);
    expect(items[0]).toMatchObject({ type: "function_call", status: "completed", name: "shell" });
    expect(items[0]!.call_id).toMatch(/^call_/);
    expect(Array.isArray((JSON.parse(items[0]!.arguments as string) as Json).command)).toBe(true);
    expect(response.status).toBe("completed");
  });

  it("completes a function call round trip: function_call and function_call_output items go back as tool_calls and a tool message", async () => {
    const first = await responses({ model: "demo/tiny-chat", tools: [SHELL_TOOL], tool_choice: { type: "function", name: "shell" }, input: "List files" });
    const call1 = ((await first.json()) as { output: Json[] }).output[0]!;
    expect(call1).toMatchObject({ type: "function_call", name: "shell" });
    const second = await responses({
      model: "demo/tiny-chat",
      tools: [SHELL_TOOL],
      input: [
        { role: "user", content: "List files" },
        { type: "reasoning", id: "rs_1", summary: [{ type: "summary_text", text: "I will list them." }], encrypted_content: null },
        call1,
        { type: "function_call_output", call_id: call1.call_id, output: "README.md package.json" },
      ],
    });
    expect(second.status).toBe(200);
    const out = ((await second.json()) as { output: Json[] }).output;
    expect(out).toMatchObject([{ type: "message", content: [{ type: "output_text", text: "The tool returned: README.md package.json" }] }]);
  });

  it("ends a cut answer with response.completed carrying status incomplete", async () => {
    const res = await responses({ model: "demo/tiny-chat", stream: true, max_output_tokens: 3, input: "Tell me a long story" });
    const { terminal, response, items } = conformance(await readEvents(res));
    expect(terminal).toBe("response.completed");
    expect(response).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" }, usage: { output_tokens: 3 } });
    expect(items[0]!.status).toBe("incomplete");
    const plain = (await (await responses({ model: "demo/tiny-chat", max_output_tokens: 3, input: "Tell me a long story" })).json()) as Json;
    expect(plain).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
  });

  it("honours instructions and a json_schema text format", async () => {
    const res = await responses({
      model: "demo/tiny-chat",
      instructions: "Answer in JSON.",
      input: [{ role: "user", content: [{ type: "input_text", text: "Give me a city" }] }],
      text: { format: { type: "json_schema", name: "city", schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] } } },
    });
    const body = (await res.json()) as { instructions: string; output: { content: { text: string }[] }[] };
    expect(body.instructions).toBe("Answer in JSON.");
    expect(typeof (JSON.parse(body.output[0]!.content[0]!.text) as Json).city).toBe("string");
  });

  it("ends a stream cut by the miner with response.failed, never silently", async () => {
    const res = await responses({ model: "test/dropping", stream: true, input: "Tell me a long story" });
    const { terminal, response } = conformance(await readEvents(res));
    expect(terminal).toBe("response.failed");
    expect(response).toMatchObject({ status: "failed", error: { code: "server_error" } });
  });
});

describe("client going away", () => {
  it("meters a Responses stream the client cancels once, as client_cancelled", async () => {
    const res = await responses({ model: "test/paced", stream: true, input: "Tell me a long story" });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    await reader.read(); // response.created: the stream is live
    await reader.cancel();
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "client_cancelled", http_status: 499, streamed: 1 });
  });
});

describe("Responses refusals", () => {
  it("refuses previous_response_id and item references: nothing is stored", async () => {
    const prev = await responses({ model: "demo/tiny-chat", input: "hi", previous_response_id: "resp_123" });
    const err = await expectOpenAIError(prev, 400, "unsupported_parameter", "previous_response_id");
    expect(err.message).toContain("does not store responses");
    await expectOpenAIError(await responses({ model: "demo/tiny-chat", input: [{ type: "item_reference", id: "msg_1" }] }), 400, "unsupported_parameter", "input[0]");
  });

  it("names the offending item or field", async () => {
    await expectOpenAIError(await responses({ model: "demo/tiny-chat" }), 400, "missing_required_parameter", "input");
    await expectOpenAIError(await responses({ model: "demo/tiny-chat", input: [{ type: "computer_call", id: "c" }] }), 400, "invalid_value", "input[0].type");
    await expectOpenAIError(await responses({ model: "demo/tiny-chat", input: [{ role: "tool", content: "x" }] }), 400, "invalid_value", "input[0].role");
  });

  it("401 without credentials, 404 for an unknown model, 405 on GET", async () => {
    await expectOpenAIError(await call("/v1/responses", { method: "POST", headers: { "content-type": "application/json" }, body: "{}" }), 401);
    await expectOpenAIError(await responses({ model: "no/such-model", input: "hi" }), 404, "model_not_found");
    await expectOpenAIError(await call("/v1/responses", { headers: { authorization: `Bearer ${key}` } }), 405, "method_not_allowed");
  });
});
