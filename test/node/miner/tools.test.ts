import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countTokens } from "../../../src/lib/tokens";
import { startMiners, type MinerFleet, type RunningMiner } from "../../support/miner";
import { call, chunksOf, streamCall } from "./helpers";

const weather = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Current weather",
    parameters: {
      type: "object",
      properties: {
        city: { type: "string" },
        unit: { type: "string", enum: ["celsius", "fahrenheit"] },
        days: { type: "integer" },
        detailed: { type: "boolean" },
        tags: { type: "array", items: { type: "string" } },
        where: { type: "object", properties: { lat: { type: "number" }, note: { type: ["string", "null"] } }, required: ["lat"] },
      },
      required: ["city", "unit"],
    },
  },
};
const search = { type: "function", function: { name: "search_docs", parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] } } };
const tools = [weather, search];

type ToolCall = { id: string; type: string; function: { name: string; arguments: string } };
type Completion = {
  choices: Array<{ message: { content: string | null; tool_calls?: ToolCall[] }; finish_reason: string }>;
  usage: { completion_tokens: number };
};

let fleet: MinerFleet;
let miner: RunningMiner;
beforeAll(async () => {
  fleet = await startMiners(1);
  miner = fleet.miners[0] as RunningMiner;
});
afterAll(() => fleet.close());

async function chat(body: Record<string, unknown>): Promise<Completion> {
  const res = await call(miner, "/v1/chat/completions", { model: "demo/tiny-chat", tools, ...body });
  expect(res.status, JSON.stringify(res.json)).toBe(200);
  return res.json as Completion;
}

function expectWeatherArgs(args: string): void {
  expect(JSON.parse(args)).toEqual({
    city: expect.any(String),
    unit: "celsius",
    days: 42,
    detailed: true,
    tags: [expect.any(String)],
    where: { lat: 42, note: expect.any(String) },
  });
}

describe("tool calls", () => {
  it("tool_choice auto calls the function the user names", async () => {
    const r = await chat({ messages: [{ role: "user", content: "Please call get_weather for Paris" }] });
    const choice = r.choices[0];
    expect(choice?.finish_reason).toBe("tool_calls");
    expect(choice?.message.content).toBeNull();
    const calls = choice?.message.tool_calls ?? [];
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ id: expect.stringMatching(/^call_[0-9a-f]+$/), type: "function", function: { name: "get_weather" } });
    expectWeatherArgs(calls[0]?.function.arguments ?? "");
    expect(r.usage.completion_tokens).toBe(countTokens("get_weather") + countTokens(calls[0]?.function.arguments ?? ""));
  });

  it("tool_choice auto answers in text when no function is named; none never calls", async () => {
    const auto = await chat({ messages: [{ role: "user", content: "hello there" }] });
    expect(auto.choices[0]?.finish_reason).toBe("stop");
    expect(auto.choices[0]?.message.tool_calls).toBeUndefined();
    const none = await chat({ tool_choice: "none", messages: [{ role: "user", content: "call get_weather" }] });
    expect(none.choices[0]?.finish_reason).toBe("stop");
  });

  it("required and named tool_choice always call (named picks that function)", async () => {
    const req = await chat({ tool_choice: "required", messages: [{ role: "user", content: "anything" }] });
    expect(req.choices[0]?.message.tool_calls?.[0]?.function.name).toBe("get_weather");
    const named = await chat({ tool_choice: { type: "function", function: { name: "search_docs" } }, messages: [{ role: "user", content: "x" }] });
    const call0 = named.choices[0]?.message.tool_calls?.[0];
    expect(call0?.function.name).toBe("search_docs");
    expect(JSON.parse(call0?.function.arguments ?? "")).toEqual({ query: expect.any(String) });
    const bad = await call(miner, "/v1/chat/completions", { model: "demo/tiny-chat", tools, tool_choice: { type: "function", function: { name: "nope" } }, messages: [{ role: "user", content: "x" }] });
    expect(bad).toMatchObject({ status: 400, json: { error: { param: "tool_choice" } } });
  });

  it("call ids are deterministic per request", async () => {
    const body = { tool_choice: "required", messages: [{ role: "user", content: "same" }] };
    const a = await chat(body);
    const b = await chat(body);
    expect(a.choices[0]?.message.tool_calls?.[0]?.id).toBe(b.choices[0]?.message.tool_calls?.[0]?.id);
  });

  it("streams a tool call as OpenAI does", async () => {
    const res = await streamCall(miner, "/v1/chat/completions", {
      model: "demo/tiny-chat",
      tools,
      stream: true,
      stream_options: { include_usage: true },
      messages: [{ role: "user", content: "use get_weather" }],
    });
    type D = { role?: string; content?: null; tool_calls?: Array<{ index: number; id?: string; type?: string; function: { name?: string; arguments: string } }> };
    const chunks = chunksOf(res.events) as Array<{ choices: Array<{ delta: D; finish_reason: string | null }>; usage?: { completion_tokens: number } | null }>;
    const first = chunks[0]?.choices[0]?.delta;
    expect(first).toEqual({
      role: "assistant",
      content: null,
      tool_calls: [{ index: 0, id: expect.stringMatching(/^call_/), type: "function", function: { name: "get_weather", arguments: "" } }],
    });
    const fragments = chunks.slice(1, -2).map((c) => {
      const tc = c.choices[0]?.delta.tool_calls?.[0];
      expect(tc).toEqual({ index: 0, function: { arguments: expect.any(String) } });
      return tc?.function.arguments ?? "";
    });
    expect(fragments.length).toBeGreaterThan(3);
    expectWeatherArgs(fragments.join(""));
    expect(chunks.at(-2)?.choices[0]).toMatchObject({ delta: {}, finish_reason: "tool_calls" });
    expect(chunks.at(-1)?.usage?.completion_tokens).toBe(countTokens("get_weather") + countTokens(fragments.join("")));
  });

  it("max_tokens can cut tool arguments (finish_reason length), like OpenAI", async () => {
    const r = await chat({ tool_choice: "required", max_tokens: 3, messages: [{ role: "user", content: "x" }] });
    expect(r.choices[0]?.finish_reason).toBe("length");
    expect(countTokens(r.choices[0]?.message.tool_calls?.[0]?.function.arguments ?? "")).toBe(3);
  });

  it("refuses non-function tool types", async () => {
    const res = await call(miner, "/v1/chat/completions", { model: "demo/tiny-chat", tools: [{ type: "web_search" }], messages: [{ role: "user", content: "x" }] });
    expect(res).toMatchObject({ status: 400, json: { error: { param: "tools[0]" } } });
  });
});
