// Miners' answers are read under a cap (issue #15, finding 4): a 2,048-input embeddings request
// with `dimensions: 4096` once made the gateway buffer a 180 MB answer. Non-streamed answers over
// MINER_MAX_ANSWER_BYTES fail over (a 502 when every miner's is too large), a stream over
// MINER_MAX_STREAM_BYTES ends with an error event, one SSE event over MINER_MAX_EVENT_BYTES is a bad answer, and `dimensions`
// is bounded at validation. With real reference miners (the caps lowered per request so the
// answers stay small) and, for the per-event cap, the relay fed hand-made bytes.
import { createExecutionContext, env, waitOnExecutionContext } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { UsageMeter } from "../../src/billing/meter";
import type { UsageEvent } from "../../src/billing/usage-event";
import { createApp } from "../../src/http/app";
import { SseDecoder, SseEventTooLarge } from "../../src/lib/sse";
import type { RelayEvent } from "../../src/pipeline/contracts";
import { relayStream } from "../../src/pipeline/stream";
import { peekStream } from "../../src/pipeline/stream-peek";
import { admin, expectOpenAIError, jsonPost, newSubscriber, registerMiners, usageRow } from "./helpers";

const fx = env.TEST_FIXTURES;
const EMBED = "test/big-embed";
let key: string;

type Routing = { data: { hotkey: string; circuit: string }[] };

beforeAll(async () => {
  ({ key } = await newSubscriber("answer-limits"));
  await registerMiners([...fx.poisoned.map((m) => ({ ...m, models: [EMBED] })), ...fx.healthy.map((m) => ({ ...m, models: ["demo/tiny-chat"] }))]);
});

/** One request through the app with some variables changed (the config is read per env object). */
async function postWith(vars: Record<string, string>, path: string, body: unknown): Promise<{ res: Response; text: string }> {
  const ctx = createExecutionContext();
  const res = await createApp().fetch(
    new Request(`http://gateway.test${path}`, { method: "POST", headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body) }),
    { ...env, ...vars },
    ctx,
  );
  const text = await res.text();
  await waitOnExecutionContext(ctx);
  return { res, text };
}

const inputs = (n: number) => Array.from({ length: n }, (_, i) => `input number ${i}`);

describe("embeddings requests", () => {
  it("refuse `dimensions` outside 1..4096, naming the field", async () => {
    for (const dimensions of [0, 4097, 1.5, "64"]) {
      await expectOpenAIError(await jsonPost("/v1/embeddings", key, { model: EMBED, input: "x", dimensions }), 400, undefined, "dimensions");
    }
    await expectOpenAIError(await jsonPost("/v1/embeddings", key, { model: EMBED, input: inputs(2049) }), 400, "invalid_value", "input");
    expect((await jsonPost("/v1/embeddings", key, { model: EMBED, input: "x", dimensions: 4096 })).status).toBe(200);
  });
});

describe("a non-streamed answer over MINER_MAX_ANSWER_BYTES", () => {
  it("is a 502 when every miner's is too large, unbilled, and opens no circuit", async () => {
    const vars = { MINER_MAX_ANSWER_BYTES: "131072" };
    // 64 vectors of 256 floats: about 330 KB of JSON from each of the three miners.
    const { res, text } = await postWith(vars, "/v1/embeddings", { model: EMBED, input: inputs(64), dimensions: 256 });
    expect(res.status, text).toBe(502);
    const err = (JSON.parse(text) as { error: { code: string; message: string } }).error;
    expect(err.code).toBe("request_failed_on_every_miner");
    expect(err.message).toContain("larger than 131072 bytes");
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "request_error", http_status: 502, attempts: 3 });
    expect((row as unknown as { cost_micro_usd: number }).cost_micro_usd).toBe(0);
    const routing = await admin<Routing>("GET", `/admin/routing?model=${encodeURIComponent(EMBED)}`);
    expect(routing.data.map((m) => m.circuit)).toEqual(["closed", "closed", "closed"]);

    // Under the cap the same miners answer (base64 is about a quarter of the size of floats).
    const small = await postWith(vars, "/v1/embeddings", { model: EMBED, input: inputs(64), dimensions: 256, encoding_format: "base64" });
    expect(small.res.status, small.text).toBe(200);
    expect((JSON.parse(small.text) as { data: unknown[] }).data).toHaveLength(64);
  });
});

describe("a stream over MINER_MAX_STREAM_BYTES", () => {
  it("ends with a miner_answer_too_large error event, not [DONE], metered as a bad answer", async () => {
    const { res, text } = await postWith({ MINER_MAX_STREAM_BYTES: "4096" }, "/v1/chat/completions", {
      model: "demo/tiny-chat",
      stream: true,
      max_tokens: 400,
      messages: [{ role: "user", content: "Tell me a long story about the sea" }],
    });
    expect(res.status).toBe(200);
    const decoder = new SseDecoder();
    const events = [...decoder.push(new TextEncoder().encode(text)), ...decoder.end()].map((e) => e.data);
    expect(events).not.toContain("[DONE]");
    expect(JSON.parse(events.at(-1)!)).toMatchObject({ error: { code: "miner_answer_too_large" } });
    expect(events.length).toBeGreaterThan(3); // content reached the client before the cap
    const row = await usageRow(res.headers.get("x-request-id")!);
    expect(row).toMatchObject({ status: "bad_response", error_code: "answer_too_large" });
  });
});

// ---- MINER_MAX_EVENT_BYTES, on hand-made streams --------------------------------------------

const enc = new TextEncoder();
const chunk = (content: string) => `data: ${JSON.stringify({ id: "c1", object: "chat.completion.chunk", created: 1, model: "m", choices: [{ index: 0, delta: { content }, finish_reason: null }] })}\n\n`;

function source(parts: string[]): ReadableStreamDefaultReader<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(ctrl) {
      for (const p of parts) ctrl.enqueue(enc.encode(p));
      ctrl.close();
    },
  }).getReader();
}

describe("the SSE decoder's event bound", () => {
  it("throws once an unterminated line or an event's data lines pass it, and never for many small events", () => {
    expect(() => new SseDecoder(1024).push(enc.encode(`data: ${"x".repeat(2000)}`))).toThrow(SseEventTooLarge);
    const split = new SseDecoder(1024);
    split.push(enc.encode(`data: ${"x".repeat(600)}`));
    expect(() => split.push(enc.encode("y".repeat(600)))).toThrow(SseEventTooLarge);
    const lines = new SseDecoder(1024);
    expect(() => lines.push(enc.encode(`data: ${"x".repeat(600)}\ndata: ${"x".repeat(600)}\n`))).toThrow(SseEventTooLarge);
    const many = new SseDecoder(1024);
    expect(many.push(enc.encode(chunk("hi").repeat(200)))).toHaveLength(200);
  });
});

describe("an event over MINER_MAX_EVENT_BYTES", () => {
  const limits = { maxEventBytes: 1024, maxStreamBytes: 1 << 20 };

  it("before any content is a bad answer (the request fails over)", async () => {
    const peek = await peekStream(source([`data: {"pad":"${"x".repeat(4000)}`]), "chat.completions", limits);
    expect(peek).toMatchObject({ ok: false, kind: "bad_response" });
    expect(!peek.ok && peek.detail).toContain("larger than 1024 bytes");
  });

  it("mid-stream ends the stream with an error event, metered once as a bad answer", async () => {
    const events: UsageEvent[] = [];
    const meter = new UsageMeter(
      { requestId: "req_event_limit", kind: "subscriber", subscriberId: null, apiKeyId: null, endpoint: "chat.completions", model: "m", streamed: true, promptTokensCounted: 3 },
      async (e) => void events.push(e),
    );
    meter.attempt("5Miner");
    const stream = relayStream({
      endpoint: "chat.completions",
      first: enc.encode(chunk("Hello")),
      reader: source([chunk(" there"), `data: {"pad":"${"x".repeat(4000)}`, "\n\n", chunk("never")]),
      upstream: new AbortController(),
      meter,
      includeUsage: false,
      idleTimeoutMs: 5_000,
      clientSignal: new AbortController().signal,
      priced: false,
      limits,
    });
    const out: RelayEvent[] = [];
    for (const reader = stream.getReader(); ; ) {
      const r = await reader.read();
      if (r.done) break;
      out.push(r.value);
    }
    expect(out.map((e) => e.kind)).toEqual(["chunk", "chunk", "error"]);
    expect(out.at(-1)).toMatchObject({ kind: "error", code: "miner_event_too_large" });
    await meter.settled;
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ status: "bad_response", errorCode: "event_too_large", completionTokensCounted: 2 });
  });
});
