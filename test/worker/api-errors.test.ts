import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { ADMIN, admin, call, chat, expectOpenAIError, jsonPost, newSubscriber, registerMiners, setPrice, usageRow } from "./helpers";

const fx = env.TEST_FIXTURES;
let key: string;

beforeAll(async () => {
  ({ key } = await newSubscriber("errors"));
  await registerMiners([
    ...fx.healthy.map((m) => ({ ...m, models: ["demo/tiny-chat", "demo/tiny-embed"] })),
    { ...fx.failing, models: ["test/failing"] },
    { ...fx.slow, models: ["test/slow"] },
    { hotkey: "5HpG9w8EBLe5XCrbczpwq5TSXvedjrBGCwqxK1iQ7qUsSWFc", url: fx.unreachableUrl, models: ["test/unreachable"] },
  ]);
});

describe("OpenAI-shaped errors", () => {
  it("400 for invalid JSON", async () => {
    await expectOpenAIError(await jsonPost("/v1/chat/completions", key, "{not json"), 400, "invalid_json");
  });

  it("400 naming the field for schema errors", async () => {
    await expectOpenAIError(await jsonPost("/v1/chat/completions", key, { messages: [] }), 400, "missing_required_parameter", "model");
    await expectOpenAIError(await chat(key, { model: "demo/tiny-chat", messages: "hi" }), 400, "invalid_type", "messages");
    await expectOpenAIError(
      await chat(key, { model: "demo/tiny-chat", messages: [{ role: "user", content: "a" }, { role: "robot", content: "b" }] }),
      400,
      "invalid_value",
      "messages[1].role",
    );
    await expectOpenAIError(await chat(key, { model: "demo/tiny-chat", temperature: 7 }), 400, "invalid_value", "temperature");
    await expectOpenAIError(await chat(key, { model: "demo/tiny-chat", max_tokens: 1.5 }), 400, "invalid_type", "max_tokens");
    await expectOpenAIError(await chat(key, { model: "demo/tiny-chat", tools: [{ type: "function", function: {} }] }), 400, undefined, "tools[0].function.name");
    await expectOpenAIError(await chat(key, { model: "demo/tiny-chat", stream_options: { include_usage: "yes" } }), 400, "invalid_type", "stream_options.include_usage");
    await expectOpenAIError(await jsonPost("/v1/embeddings", key, { model: "demo/tiny-embed" }), 400, "missing_required_parameter", "input");
    await expectOpenAIError(await jsonPost("/v1/completions", key, { model: "demo/tiny-chat", prompt: { a: 1 } }), 400, "invalid_type", "prompt");
    await expectOpenAIError(await jsonPost("/v1/chat/completions", key, "[1,2]"), 400, "invalid_json");
  });

  it("401 for missing, unknown and malformed credentials", async () => {
    const noKey = await expectOpenAIError(await jsonPost("/v1/chat/completions", null, { model: "demo/tiny-chat" }), 401, "missing_api_key");
    expect(noKey.type).toBe("authentication_error");
    await expectOpenAIError(await chat("sk-not-a-real-key-000000000000", { model: "demo/tiny-chat" }), 401, "invalid_api_key");
    await expectOpenAIError(await chat("garbage", { model: "demo/tiny-chat" }), 401, "invalid_api_key");
    await expectOpenAIError(await call("/v1/models", { headers: { authorization: "Bearer sk-nope-000000000" } }), 401);
  });

  it("404 for an unknown model and an unknown route", async () => {
    await expectOpenAIError(await chat(key, { model: "no/such-model" }), 404, "model_not_found", "model");
    await expectOpenAIError(await call("/v1/nothing-here"), 404, "unknown_route");
    await expectOpenAIError(await call("/v1/models/no/such-model", { headers: { authorization: `Bearer ${key}` } }), 404, "model_not_found");
  });

  it("405 with Allow for a wrong method", async () => {
    const res = await call("/v1/chat/completions", { method: "GET", headers: { authorization: `Bearer ${key}` } });
    expect(res.headers.get("allow")).toBe("POST");
    await expectOpenAIError(res, 405, "method_not_allowed");
    await expectOpenAIError(await call("/v1/models", { method: "DELETE" }), 405, "method_not_allowed");
  });

  it("413 for a body over the limit, declared or streamed", async () => {
    const big = JSON.stringify({ model: "demo/tiny-chat", messages: [{ role: "user", content: "x".repeat(1024 * 1024 + 10) }] });
    await expectOpenAIError(await jsonPost("/v1/chat/completions", key, big), 413, "request_too_large");
    const chunked = new ReadableStream<Uint8Array>({
      start(ctrl) {
        ctrl.enqueue(new TextEncoder().encode(big));
        ctrl.close();
      },
    });
    const res = await call("/v1/chat/completions", {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: chunked,
    });
    await expectOpenAIError(res, 413, "request_too_large");
  });

  it("415 for a wrong or missing content type", async () => {
    await expectOpenAIError(await jsonPost("/v1/chat/completions", key, "model=x", { "content-type": "application/x-www-form-urlencoded" }), 415, "unsupported_media_type");
    const res = await call("/v1/chat/completions", { method: "POST", headers: { authorization: `Bearer ${key}` }, body: "{}" });
    await expectOpenAIError(res, 415, "unsupported_media_type");
  });

  it("502 when every miner fails, metered once as miner_error", async () => {
    const res = await chat(key, { model: "test/failing" });
    const err = await expectOpenAIError(res, 502, "miner_error");
    expect(err.message).not.toContain("at ");
    const row = await usageRow(res.headers.get("x-request-id") as string);
    expect(row).toMatchObject({ status: "miner_error", http_status: 502, attempts: 1, miner_hotkey: fx.failing.hotkey });
  });

  it("503 when no miner can be reached", async () => {
    const res = await chat(key, { model: "test/unreachable" });
    await expectOpenAIError(res, 503, "no_miner_available");
    expect(res.headers.get("retry-after")).toBe("1");
  });

  it("504 when the miner does not answer in time", async () => {
    const res = await chat(key, { model: "test/slow", stream: true });
    await expectOpenAIError(res, 504, "miner_timeout");
    const row = await usageRow(res.headers.get("x-request-id") as string);
    expect(row).toMatchObject({ status: "timeout", http_status: 504, streamed: 1 });
  });

  it("every response carries x-request-id, including health and 404", async () => {
    for (const res of [await call("/health"), await call("/nope")]) expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  });
});

describe("hostile-input findings (issue #15, item 6)", () => {
  it("answers 400, not 500, for paths that are not valid percent-encoding, on every admin route with a parameter", async () => {
    const bad = "%E0%A4%A";
    for (const [method, path] of [
      ["DELETE", `/admin/prices/${bad}`],
      ["DELETE", `/admin/prices/demo/${bad}`],
      ["GET", `/admin/subscribers/${bad}`],
      ["POST", `/admin/subscribers/${bad}/keys`],
      ["DELETE", `/admin/keys/${bad}`],
      ["DELETE", `/admin/miners/${bad}`],
      ["GET", `/admin/plans/${bad}`],
      ["PATCH", `/admin/plans/${bad}`],
      ["PUT", `/admin/subscribers/${bad}/plan`],
      ["POST", `/admin/subscribers/${bad}/credits`],
      ["GET", `/admin/subscribers/${bad}/limits`],
      ["GET", `/v1/models/${bad}`],
    ] as const) {
      const res = await call(path, { method, headers: ADMIN, body: method === "GET" || method === "DELETE" ? undefined : "{}" });
      await expectOpenAIError(res, 400, "invalid_path");
    }
  });

  it("still deletes a price whose model id is percent-encoded once", async () => {
    await setPrice("test/encoded", 1, 1, 1);
    expect(await admin("DELETE", "/admin/prices/test%2Fencoded")).toEqual({ model: "test/encoded", deleted: true });
  });

  it("answers unknown /v1/messages routes with a 404 in Anthropic's shape", async () => {
    for (const path of ["/v1/messages/foo", "/v1/messages/batches/x"]) {
      const res = await call(path, { method: "POST", headers: { "content-type": "application/json", "x-api-key": key }, body: "{}" });
      expect(res.status).toBe(404);
      const body = (await res.json()) as { type: string; error: { type: string; message: string }; request_id: string };
      expect(body).toMatchObject({ type: "error", error: { type: "not_found_error" } });
      expect(body.error.message).toContain(path);
      expect(body.request_id).toBe(res.headers.get("x-request-id"));
    }
  });

  it("refuses stream: true on embeddings", async () => {
    await expectOpenAIError(await jsonPost("/v1/embeddings", key, { model: "demo/tiny-embed", input: "x", stream: true }), 400, "invalid_value", "stream");
    expect((await jsonPost("/v1/embeddings", key, { model: "demo/tiny-embed", input: "x", stream: false })).status).toBe(200);
  });

  it("quotes a non-numeric rows value", async () => {
    const err = await expectOpenAIError(await call("/admin/usage?rows=abc", { headers: ADMIN }), 400, "invalid_value", "rows");
    expect(err.message).toContain("but got 'abc'");
    expect((await call("/admin/usage?rows=2", { headers: ADMIN })).status).toBe(200);
  });
});
