// Request bodies nested too deeply (or holding too many values) are refused at validation with a
// 400 naming the field, on every dialect, before any miner sees them: otherwise a request every
// miner fails on (the reference miner throws on 5,000-deep tool schemas) looks like every miner
// failing, and a 10,000-deep `text.format.schema` crashed JSON.stringify inside the gateway.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { call, chat, expectOpenAIError, newSubscriber, registerMiners, usageRow, usageRowsFor } from "./helpers";

const fx = env.TEST_FIXTURES;
let key: string;
let subscriberId: string;

beforeAll(async () => {
  ({ key, subscriberId } = await newSubscriber("bounds"));
  await registerMiners(fx.healthy.map((m) => ({ ...m, models: ["demo/tiny-chat", "demo/tiny-embed"] })));
});

/** A JSON Schema nested `depth` objects deep, built as text (JSON.stringify itself would overflow). */
function deepSchema(depth: number): string {
  return '{"type":"object","properties":{"a":'.repeat(depth) + '{"type":"string"}' + "}}".repeat(depth);
}

function post(path: string, body: string, headers: Record<string, string> = {}): Promise<Response> {
  return call(path, { method: "POST", headers: { "content-type": "application/json", authorization: `Bearer ${key}`, ...headers }, body });
}

const USER = '"messages":[{"role":"user","content":"hi"}]';

describe("request nesting bounds", () => {
  it("refuses deep tool schemas on chat completions, streamed or not, naming the field", async () => {
    for (const stream of [false, true]) {
      const body = `{"model":"demo/tiny-chat","stream":${stream},${USER},"tools":[{"type":"function","function":{"name":"f","parameters":${deepSchema(5_000)}}}]}`;
      const err = await expectOpenAIError(await post("/v1/chat/completions", body), 400, "json_too_deep", "tools[0].function.parameters");
      expect(err.message).toContain("nested too deeply");
    }
  });

  it("refuses deep values on completions and embeddings", async () => {
    const deepArray = "[".repeat(1_000) + '"x"' + "]".repeat(1_000);
    await expectOpenAIError(await post("/v1/completions", `{"model":"demo/tiny-chat","prompt":"p","metadata":{"x":${deepArray}}}`), 400, "json_too_deep", "metadata");
    await expectOpenAIError(await post("/v1/embeddings", `{"model":"demo/tiny-embed","input":${deepArray}}`), 400, "json_too_deep", "input[0]");
  });

  it("refuses deep input schemas on Anthropic Messages in Anthropic's shape", async () => {
    const body = `{"model":"demo/tiny-chat","max_tokens":16,${USER},"tools":[{"name":"f","input_schema":${deepSchema(5_000)}}]}`;
    const res = await call("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key, "anthropic-version": "2023-06-01" },
      body,
    });
    expect(res.status).toBe(400);
    const json = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(json.type).toBe("error");
    expect(json.error.type).toBe("invalid_request_error");
    expect(json.error.message).toContain("tools[0].input_schema");
  });

  it("refuses a 10,000-deep text.format.schema on Responses, streamed or not", async () => {
    for (const stream of [false, true]) {
      const body = `{"model":"demo/tiny-chat","input":"hi","stream":${stream},"text":{"format":{"type":"json_schema","name":"s","schema":${deepSchema(10_000)}}}}`;
      await expectOpenAIError(await post("/v1/responses", body), 400, "json_too_deep", "text.format.schema");
    }
  });

  it("turns a parser-breaking depth into a 400, not a 500", async () => {
    const body = `{"model":"demo/tiny-chat",${USER},"x":${"[".repeat(200_000)}${"]".repeat(200_000)}}`;
    await expectOpenAIError(await post("/v1/chat/completions", body), 400);
  });

  it("refuses a body with too many values", async () => {
    const body = `{"model":"demo/tiny-embed","input":[${Array.from({ length: 210_000 }, () => "0").join(",")}]}`;
    await expectOpenAIError(await post("/v1/embeddings", body), 400, "json_too_large", "input");
  });

  it("accepts a realistically nested schema, and the refused requests left no usage rows", async () => {
    const res = await chat(key, {
      model: "demo/tiny-chat",
      max_tokens: 4,
      tools: [{ type: "function", function: { name: "f", parameters: JSON.parse(deepSchema(20)) as unknown } }],
    });
    expect(res.status).toBe(200);
    await usageRow(res.headers.get("x-request-id")!);
    const rows = await usageRowsFor(subscriberId, 1);
    expect(rows).toHaveLength(1);
  });
});
