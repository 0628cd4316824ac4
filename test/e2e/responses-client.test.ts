/**
 * The official `openai` client's Responses API against the running dev stack: non-streamed and
 * streamed (typed events, the SDK's accumulator), a function-call round trip, and the refusal
 * of stored-response features.
 */
import OpenAI from "openai";
import { describe, expect, inject, it } from "vitest";

const client = new OpenAI({ baseURL: `${inject("gatewayUrl")}/v1`, apiKey: inject("devKey"), maxRetries: 0 });

const shell: OpenAI.Responses.FunctionTool = {
  type: "function",
  name: "shell",
  description: "Runs a command",
  parameters: { type: "object", properties: { command: { type: "string" } }, required: ["command"] },
  strict: false,
};

describe("openai Responses API against the dev stack", () => {
  it("creates a response without streaming", async () => {
    const { data, response } = await client.responses
      .create({ model: "demo/tiny-chat", instructions: "Be exact.", input: "Repeat exactly: hello responses", store: false })
      .withResponse();
    expect(data.status).toBe("completed");
    expect(data.output_text).toBe("hello responses");
    expect(data.id).toBe(`resp_${response.headers.get("x-request-id")!.slice(4)}`);
    expect(data.usage!.output_tokens).toBeGreaterThan(0);
    expect(data.usage!.input_tokens_details.cached_tokens).toBe(0);
  });

  it("streams typed events that the SDK accumulates into the final response", async () => {
    const stream = client.responses.stream({ model: "demo/tiny-chat", input: [{ role: "user", content: [{ type: "input_text", text: "Repeat exactly: one two three four five" }] }] });
    const types: string[] = [];
    let text = "";
    for await (const event of stream) {
      types.push(event.type);
      if (event.type === "response.output_text.delta") text += event.delta;
    }
    const final = await stream.finalResponse();
    expect(text).toBe("one two three four five");
    expect(final.output_text).toBe("one two three four five");
    expect(final.status).toBe("completed");
    const deltas = types.filter((t) => t === "response.output_text.delta").length;
    expect(deltas).toBeGreaterThan(3);
    expect(types).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      ...Array<string>(deltas).fill("response.output_text.delta"),
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
  });

  it("completes a function-call round trip, streamed", async () => {
    const input: OpenAI.Responses.ResponseInput = [{ role: "user", content: "List the files. Use shell." }];
    const first = await client.responses.stream({ model: "demo/tiny-chat", input, tools: [shell] }).finalResponse();
    const call = first.output.find((o) => o.type === "function_call");
    if (call?.type !== "function_call") throw new Error(`expected a function call, got ${JSON.stringify(first.output)}`);
    expect(call.name).toBe("shell");
    expect(typeof (JSON.parse(call.arguments) as { command: unknown }).command).toBe("string");

    input.push({ type: "function_call", call_id: call.call_id, name: call.name, arguments: call.arguments }, { type: "function_call_output", call_id: call.call_id, output: "README.md src test" });
    const second = await client.responses.stream({ model: "demo/tiny-chat", input, tools: [shell] }).finalResponse();
    expect(second.output_text).toBe("The tool returned: README.md src test");
  });

  it("refuses previous_response_id with a clear 400", async () => {
    const err = await client.responses.create({ model: "demo/tiny-chat", input: "hi", previous_response_id: "resp_abc" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).message).toContain("does not store responses");
  });
});
