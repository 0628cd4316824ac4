/**
 * The pipeline driven without HTTP, inside workerd: serveInference with in-memory admission,
 * budgets and usage sink, against a real reference miner (started in Node by the global setup, so
 * the miner's own counting is not mixed in). Checks the stage order's promises: the prompt is
 * counted once per request in every dialect (a counting wrapper around the real counter), exactly
 * one usage event settles admission, and refusals before dispatch release it.
 */
import { env } from "cloudflare:test";
import { beforeEach, describe, expect, it } from "vitest";
import type { UsageEvent } from "../../src/billing/usage-event";
import { messagesDialect } from "../../src/dialects/anthropic/dialect";
import { chatDialect, embeddingsDialect } from "../../src/dialects/openai/dialect";
import { responsesDialect } from "../../src/dialects/responses/dialect";
import { parseGatewayConfig } from "../../src/config/gateway";
import type { Config } from "../../src/env";
import { GatewayError } from "../../src/errors";
import type { JsonObject } from "../../src/lib/json";
import type { Admission, AdmissionRequest, Dialect, PipelineDeps, RelayEvent } from "../../src/pipeline/contracts";
import { countPrompt } from "../../src/pipeline/count-prompt";
import { serveInference } from "../../src/pipeline/serve";
import { keypairFromUri } from "../../src/protocol/keys";
import type { Miner } from "../../src/routing/directory";

const counted = { prompts: 0 };
const MODEL = "demo/tiny-chat";
const config: Config = parseGatewayConfig({ MINER_TIMEOUT_MS: "10000", FIRST_BYTE_TIMEOUT_MS: "10000", STREAM_IDLE_TIMEOUT_MS: "10000", ROUTING_DEADLINE_MS: "10000", MAX_MINER_ATTEMPTS: "3", AUTH_CACHE_TTL_MS: "0", MINER_CACHE_TTL_MS: "0" });
const signer = keypairFromUri("//Alice");
const price = { model: "*", inputMicroUsdPerMtok: 1_000_000, outputMicroUsdPerMtok: 2_000_000, cachedInputMicroUsdPerMtok: 0 };

const bob = env.TEST_FIXTURES.healthy[0];
if (!bob) throw new Error("fixtures: no healthy miner");
const miner = { hotkey: bob.hotkey, url: bob.url, requests: 0 };

interface Harness {
  deps: PipelineDeps;
  events: UsageEvent[];
  admitted: AdmissionRequest[];
  settled: UsageEvent[];
  released: number;
  pending: Promise<unknown>[];
}

function harness(opts: { refuse?: GatewayError } = {}): Harness {
  const h: Harness = { events: [], admitted: [], settled: [], released: 0, pending: [], deps: undefined as unknown as PipelineDeps };
  const directory: Miner = { hotkey: miner.hotkey, uid: 1, axonUrl: miner.url, models: new Set([MODEL, "demo/tiny-embed"]), incentive: 0, stakeRao: 0n };
  h.deps = {
    config,
    admitter: {
      async admit(req): Promise<Admission> {
        h.admitted.push(req);
        if (opts.refuse) throw opts.refuse;
        return {
          headers: { "x-plan": "test" },
          price,
          async settle(event) {
            h.settled.push(event);
          },
          release() {
            h.released++;
          },
        };
      },
    },
    budgets: {
      prices: async () => [price],
      sessionSpent: async () => 0,
      addSessionSpend: async () => {},
    },
    miners: {
      snapshot: async () => ({ miners: [directory], byModel: new Map([[MODEL, [directory]], ["demo/tiny-embed", [directory]]]), loadedAt: Date.now() }),
    },
    health: {
      rank: (serving) => serving,
      attemptStarted: () => {},
      attemptEnded: () => {},
      attemptFailed: () => {},
      observe: async () => {},
    },
    signer: () => signer,
    countPrompt: (request) => {
      counted.prompts++;
      return countPrompt(request);
    },
    usage: async (event) => {
      h.events.push(event);
    },
    fetch: (input, init) => {
      miner.requests++;
      return fetch(input, init);
    },
    clock: Date.now,
    waitUntil: (p) => {
      h.pending.push(p);
    },
  };
  return h;
}

const info = (headers: Record<string, string> = {}) => ({
  requestId: `req_${crypto.randomUUID().replace(/-/g, "")}`,
  subscriberId: "sub_test",
  apiKeyId: "key_test",
  headers: new Headers(headers),
  signal: new AbortController().signal,
});

async function serve<Ctx>(h: Harness, dialect: Dialect<Ctx>, body: JsonObject, headers: Record<string, string> = {}) {
  const res = await serveInference(h.deps, info(headers), dialect, body);
  const text = await res.text(); // a stream is read to its end
  await Promise.all(h.pending);
  return { res, text };
}

const chatBody = (stream: boolean): JsonObject => ({ model: MODEL, stream, max_tokens: 12, messages: [{ role: "system", content: "Be brief." }, { role: "user", content: "Say hello" }] });
const messagesBody = (stream: boolean): JsonObject => ({ model: MODEL, stream, max_tokens: 12, system: "Be brief.", messages: [{ role: "user", content: "Say hello" }] });
const responsesBody = (stream: boolean): JsonObject => ({ model: MODEL, stream, max_output_tokens: 12, instructions: "Be brief.", input: "Say hello" });

beforeEach(() => {
  counted.prompts = 0;
});

describe("serveInference", () => {
  const cases: [string, Dialect<never>, (stream: boolean) => JsonObject][] = [
    ["chat completions", chatDialect as Dialect<never>, chatBody],
    ["Anthropic Messages", messagesDialect as Dialect<never>, messagesBody],
    ["Responses", responsesDialect as Dialect<never>, responsesBody],
  ];
  for (const [name, dialect, body] of cases) {
    for (const stream of [false, true]) {
      it(`counts the prompt once for ${name} (${stream ? "streamed" : "not streamed"}), with a budget, and meters once`, async () => {
        const h = harness();
        const { res } = await serve(h, dialect, body(stream), { "x-gateway-budget-usd": "1", "x-session-id": "s1", "x-gateway-session-budget-usd": "5" });
        expect(res.status).toBe(200);
        expect(counted.prompts).toBe(1);
        expect(h.events).toHaveLength(1);
        expect(h.events[0]?.status).toBe("ok");
        expect(h.events[0]?.promptTokensCounted).toBe(h.admitted[0]?.promptTokens);
        expect(h.settled).toEqual(h.events);
        expect(h.released).toBe(0);
        expect(res.headers.get("x-plan")).toBe("test");
        expect(res.headers.get("x-miner-hotkey")).toBe(miner.hotkey);
      });
    }
  }

  it("passes admission's refusal through and calls no miner", async () => {
    const before = miner.requests;
    const h = harness({ refuse: new GatewayError(429, "rate_limit_error", "rate_limit_exceeded", "slow down") });
    await expect(serveInference(h.deps, info(), chatDialect, chatBody(false))).rejects.toMatchObject({ status: 429 });
    expect(h.events).toHaveLength(0);
    expect(miner.requests).toBe(before);
  });

  it("releases the admission uncharged when no miner serves the model, with the limit headers on the 404", async () => {
    const h = harness();
    const err: unknown = await serveInference(h.deps, info(), chatDialect, { ...chatBody(false), model: "nobody/serves-this" }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).status).toBe(404);
    expect((err as GatewayError).headers["x-plan"]).toBe("test");
    expect(h.released).toBe(1);
    expect(h.events).toHaveLength(0);
  });

  it("refuses a bad body at decode, before budget or admission", async () => {
    const h = harness();
    await expect(serveInference(h.deps, info(), chatDialect, { model: MODEL, messages: "nope" })).rejects.toMatchObject({ status: 400, param: "messages" });
    expect(h.admitted).toHaveLength(0);
  });

  it("meters a failure to encode a miner's answer as the gateway's own (internal_error), unbilled, and settles admission with that", async () => {
    const h = harness();
    const failing: Dialect<null> = {
      ...chatDialect,
      encode() {
        throw new RangeError("Maximum call stack size exceeded");
      },
    };
    await expect(serveInference(h.deps, info(), failing, chatBody(false))).rejects.toBeInstanceOf(RangeError);
    await Promise.all(h.pending);
    expect(h.events).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ status: "internal_error", httpStatus: 500, errorCode: "internal_error", costMicroUsd: 0 });
    expect(h.events[0]?.completionTokensCounted).toBeGreaterThan(0); // the miner did answer
    expect(h.settled).toEqual(h.events);
    // The same request encoded normally is billed.
    const ok = harness();
    await serve(ok, chatDialect, chatBody(false));
    expect(ok.events[0]).toMatchObject({ status: "ok" });
    expect(ok.events[0]?.costMicroUsd).toBeGreaterThan(0);
  });

  /** A dialect whose stream translation fails after `after` relay events (a stand-in for a bug in it). */
  function failingMidStream<Ctx>(dialect: Dialect<Ctx>, after: number): Dialect<Ctx> {
    return {
      ...dialect,
      encode(outcome, context, meta) {
        if (outcome.kind !== "stream") return dialect.encode(outcome, context, meta);
        let seen = 0;
        const breaking = new TransformStream<RelayEvent, RelayEvent>({
          transform(ev, out) {
            if (++seen > after) throw new RangeError("Maximum call stack size exceeded");
            out.enqueue(ev);
          },
        });
        return dialect.encode({ ...outcome, events: outcome.events.pipeThrough(breaking) }, context, meta);
      },
    };
  }

  const translated: [string, Dialect<never>, (stream: boolean) => JsonObject, string][] = [
    ["Anthropic Messages", messagesDialect as Dialect<never>, messagesBody, "event: error\n"],
    ["Responses", responsesDialect as Dialect<never>, responsesBody, "event: response.failed\n"],
  ];
  for (const [name, dialect, body, failure] of translated) {
    it(`meters a ${name} stream whose translation fails as internal_error, unbilled, and ends it with the failure event`, async () => {
      const h = harness();
      const { res, text } = await serve(h, failingMidStream(dialect, 2), body(true));
      expect(res.status).toBe(200);
      expect(text.endsWith("\n\n")).toBe(true);
      expect(text.slice(text.lastIndexOf("event: "))).toContain(failure);
      expect(h.events).toHaveLength(1);
      expect(h.events[0]).toMatchObject({ status: "internal_error", errorCode: "internal_error", costMicroUsd: 0 });
      expect(h.settled).toEqual(h.events);
    });
  }

  it("admits embeddings with no output reserve and meters them once", async () => {
    const h = harness();
    const { res, text } = await serve(h, embeddingsDialect, { model: "demo/tiny-embed", input: ["a", "b"] });
    expect(res.status).toBe(200);
    expect((JSON.parse(text) as { data: unknown[] }).data).toHaveLength(2);
    expect(h.admitted[0]?.maxOutputTokens).toBe(0);
    expect(h.events).toHaveLength(1);
  });
});
