/**
 * Streams that survive their miner, through the real pipeline (serveInference inside workerd)
 * against real reference miners: a stream that breaks after content reached the client is
 * continued on the next miner and spliced into the same stream (same id and created, no text
 * repeated or lost, one usage chunk, one [DONE]); a stream that fails before any content fails
 * over with no client-visible error; where continuation is not sound the break ends with the
 * error event as before. Candidates come in a fixed order (faulty first) so each case is exact.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { minerShares } from "../../src/billing/usage-class";
import type { UsageEvent } from "../../src/billing/usage-event";
import { messagesDialect } from "../../src/dialects/anthropic/dialect";
import { chatDialect, completionsDialect } from "../../src/dialects/openai/dialect";
import { responsesDialect } from "../../src/dialects/responses/dialect";
import { parseGatewayConfig } from "../../src/config/gateway";
import type { Config } from "../../src/env";
import type { JsonObject } from "../../src/lib/json";
import { SseDecoder } from "../../src/lib/sse";
import type { Admission, Dialect, PipelineDeps } from "../../src/pipeline/contracts";
import { countPrompt } from "../../src/pipeline/count-prompt";
import { serveInference } from "../../src/pipeline/serve";
import { keypairFromUri } from "../../src/protocol/keys";
import type { Miner } from "../../src/routing/directory";
import type { MinerFixture } from "./fixtures";

const MODEL = "cont/chat";
const fx = env.TEST_FIXTURES.continuation;
const config: Config = parseGatewayConfig({
  MINER_TIMEOUT_MS: "10000",
  FIRST_BYTE_TIMEOUT_MS: "1500",
  STREAM_IDLE_TIMEOUT_MS: "1500",
  ROUTING_DEADLINE_MS: "20000",
  MAX_MINER_ATTEMPTS: "3",
  AUTH_CACHE_TTL_MS: "0",
  MINER_CACHE_TTL_MS: "0",
  METAGRAPH_STALE_AFTER_MS: "60000",
});
const signer = keypairFromUri("//Alice");
const price = { model: "*", inputMicroUsdPerMtok: 1_000_000, outputMicroUsdPerMtok: 2_000_000, cachedInputMicroUsdPerMtok: 0 };

interface Harness {
  deps: PipelineDeps;
  events: UsageEvent[];
  failures: { hotkey: string; kind: string }[];
  pending: Promise<unknown>[];
}

const asMiner = (m: MinerFixture): Miner => ({ hotkey: m.hotkey, uid: 1, axonUrl: m.url, models: new Set([MODEL]), incentive: 0, stakeRao: 0n });

/** The pipeline over in-memory admission and usage, with candidates in exactly this order. */
function harness(order: MinerFixture[]): Harness {
  const h: Harness = { events: [], failures: [], pending: [], deps: undefined as unknown as PipelineDeps };
  const miners = order.map(asMiner);
  h.deps = {
    config,
    admitter: {
      async admit(): Promise<Admission> {
        return { headers: {}, price, settle: async () => {}, release: () => {} };
      },
    },
    budgets: { prices: async () => [price], sessionSpent: async () => 0, addSessionSpend: async () => {} },
    miners: { snapshot: async () => ({ miners, byModel: new Map([[MODEL, miners]]), loadedAt: Date.now() }) },
    health: {
      rank: (serving) => serving,
      attemptStarted: () => {},
      attemptEnded: () => {},
      attemptFailed: (_model, hotkey, kind) => void h.failures.push({ hotkey, kind }),
      observe: async () => {},
    },
    signer: () => signer,
    countPrompt,
    usage: async (event) => void h.events.push(event),
    fetch: (input, init) => fetch(input, init),
    clock: Date.now,
    waitUntil: (p) => void h.pending.push(p),
  };
  return h;
}

async function serve<Ctx>(h: Harness, dialect: Dialect<Ctx>, body: JsonObject, headers: Record<string, string> = {}) {
  const info = { requestId: `req_${crypto.randomUUID().replace(/-/g, "")}`, subscriberId: "sub_test", apiKeyId: null, headers: new Headers(headers), signal: new AbortController().signal };
  const res = await serveInference(h.deps, info, dialect, body);
  const decoder = new SseDecoder();
  const events = [...decoder.push(new Uint8Array(await res.arrayBuffer())), ...decoder.end()];
  await Promise.all(h.pending);
  return { res, events };
}

let n = 0;
const chatBody = (extra: JsonObject = {}): JsonObject => ({
  model: MODEL,
  stream: true,
  stream_options: { include_usage: true },
  messages: [{ role: "user", content: `Tell me a story, number ${++n}` }],
  ...extra,
});

interface Chunk {
  id: string;
  created: number;
  choices: { delta: { content?: string; role?: string }; finish_reason: string | null }[];
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number } | null;
}

function chatStream(events: { data: string }[]) {
  const done = events.filter((e) => e.data === "[DONE]").length;
  const chunks = events.filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data) as Chunk & { error?: unknown });
  const errors = chunks.filter((c) => c.error !== undefined);
  const data = chunks.filter((c) => c.error === undefined);
  const text = data.map((c) => c.choices[0]?.delta.content ?? "").join("");
  const usages = data.filter((c) => c.usage).map((c) => c.usage);
  const roles = data.filter((c) => c.choices[0]?.delta.role !== undefined).length;
  return { done, errors, data, text, usages, roles, last: events.at(-1)?.data };
}

describe("a stream broken after content is continued on the next miner", () => {
  for (const [name, faulty] of Object.entries(fx.midStream)) {
    it(`${name}: the client gets exactly the unbroken answer, one usage chunk, one [DONE], and one usage event naming both miners`, async () => {
      const body = chatBody();
      const unbroken = chatStream((await serve(harness([fx.healthy]), chatDialect, body)).events);
      const h = harness([faulty, fx.healthy]);
      const { res, events } = await serve(h, chatDialect, body);
      const s = chatStream(events);

      expect(res.status).toBe(200);
      expect(s.errors).toEqual([]);
      expect(s.text).toBe(unbroken.text);
      expect(s.done).toBe(1);
      expect(s.last).toBe("[DONE]");
      expect(s.roles).toBe(1);
      expect(new Set(s.data.map((c) => c.id)).size).toBe(1);
      expect(new Set(s.data.map((c) => c.created)).size).toBe(1);
      expect(s.usages).toHaveLength(1);
      expect(s.usages[0]).toEqual(unbroken.usages[0]);
      expect(res.headers.get("x-miner-hotkey")).toBe(faulty.hotkey);

      expect(h.events).toHaveLength(1);
      const ev = h.events[0]!;
      expect(ev.status).toBe("ok");
      expect(ev.minerHotkey).toBe(fx.healthy.hotkey);
      expect(ev.completionTokensCounted).toBe(unbroken.usages[0]!.completion_tokens);
      expect(ev.attemptLog?.map((a) => [a.minerHotkey, a.outcome])).toEqual([
        [faulty.hotkey, "broken"],
        [fx.healthy.hotkey, "answered"],
      ]);
      const [first, second] = ev.attemptLog!;
      expect(first!.completionTokens).toBeGreaterThan(0);
      expect(first!.completionTokens + second!.completionTokens).toBe(ev.completionTokensCounted);
      // The miner that broke is counted as failing; the one that finished is not.
      expect(h.failures.map((f) => f.hotkey)).toEqual([faulty.hotkey]);
      // Settlement (the miner rollup) credits each its own part and the break to the one that broke.
      const shares = new Map(minerShares(ev).map((m) => [m.minerHotkey, m.counts]));
      expect(shares.get(faulty.hotkey)).toMatchObject({ failed: 1, served: 0, completionTokens: first!.completionTokens, promptTokens: 0 });
      expect(shares.get(fx.healthy.hotkey)).toMatchObject({ failed: 0, served: 1, completionTokens: second!.completionTokens, promptTokens: ev.promptTokensCounted });
    });
  }

  it("Anthropic Messages: one message_start, one message_stop, the unbroken text", async () => {
    const body = { model: MODEL, stream: true, max_tokens: 64, messages: [{ role: "user", content: `A story for Claude ${++n}` }] };
    const text = (events: { event: string; data: string }[]) =>
      events
        .filter((e) => e.event === "content_block_delta")
        .map((e) => (JSON.parse(e.data) as { delta: { text?: string } }).delta.text ?? "")
        .join("");
    const unbroken = (await serve(harness([fx.healthy]), messagesDialect, body)).events;
    const { events } = await serve(harness([fx.midStream.drop, fx.healthy]), messagesDialect, body);
    const names = events.map((e) => e.event);
    expect(names.filter((e) => e === "message_start")).toHaveLength(1);
    expect(names.filter((e) => e === "message_stop")).toHaveLength(1);
    expect(names).not.toContain("error");
    expect(text(events)).toBe(text(unbroken));
    const usage = (evs: typeof events) => (JSON.parse(evs.find((e) => e.event === "message_delta")!.data) as { usage: unknown }).usage;
    expect(usage(events)).toEqual(usage(unbroken));
  });

  it("Responses: one response.completed with the unbroken text", async () => {
    const body = { model: MODEL, stream: true, input: `A story for Responses ${++n}` };
    const completed = (events: { event: string; data: string }[]) => events.filter((e) => e.event === "response.completed");
    const outputText = (e: { data: string }) =>
      (JSON.parse(e.data) as { response: { output: { content?: { text?: string }[] }[] } }).response.output.flatMap((o) => o.content ?? []).map((c) => c.text ?? "").join("");
    const unbroken = completed((await serve(harness([fx.healthy]), responsesDialect, body)).events);
    const { events } = await serve(harness([fx.midStream.errorEvent, fx.healthy]), responsesDialect, body);
    expect(completed(events)).toHaveLength(1);
    expect(events.map((e) => e.event)).not.toContain("error");
    expect(outputText(completed(events)[0]!)).toBe(outputText(unbroken[0]!));
  });

  it("honours max_tokens across the splice: the capped answer, finish_reason length", async () => {
    const body = chatBody({ max_tokens: 9 });
    const unbroken = chatStream((await serve(harness([fx.healthy]), chatDialect, body)).events);
    const s = chatStream((await serve(harness([fx.midStream.drop, fx.healthy]), chatDialect, body)).events);
    expect(s.text).toBe(unbroken.text);
    expect(s.data.map((c) => c.choices[0]?.finish_reason).filter(Boolean)).toEqual(["length"]);
    expect(s.usages[0]?.completion_tokens).toBe(9);
  });

  it("tries the next candidate when the first continuation fails too", async () => {
    const body = chatBody();
    const unbroken = chatStream((await serve(harness([fx.healthy]), chatDialect, body)).events);
    const h = harness([fx.midStream.drop, fx.beforeContent.empty, fx.healthy]);
    const s = chatStream((await serve(h, chatDialect, body)).events);
    expect(s.text).toBe(unbroken.text);
    expect(h.events[0]!.attemptLog?.map((a) => a.outcome)).toEqual(["broken", "failed", "answered"]);
  });
});

describe("where continuation is not sound, a break ends with the error event as before", () => {
  it("a client that opts out (x-gateway-continuation: off)", async () => {
    const h = harness([fx.midStream.drop, fx.healthy]);
    const s = chatStream((await serve(h, chatDialect, chatBody(), { "x-gateway-continuation": "off" })).events);
    expect(s.errors).toHaveLength(1);
    expect(s.done).toBe(0);
    expect(h.events[0]!.status).toBe("miner_error");
    expect(h.events[0]!.attemptLog?.map((a) => a.outcome)).toEqual(["ended"]);
  });

  it('a finish_reason "error" is relayed as the miner sent it, and metered as its failure, not as an answer (found by the soak)', async () => {
    // Opted out of continuation, and the legacy completions endpoint (never continued).
    const cases: { dialect: Dialect<unknown>; body: JsonObject; headers: Record<string, string> }[] = [
      { dialect: chatDialect as Dialect<unknown>, body: chatBody(), headers: { "x-gateway-continuation": "off" } },
      { dialect: completionsDialect as Dialect<unknown>, body: { model: MODEL, stream: true, prompt: `Tell me a story, number ${++n}` }, headers: {} },
    ];
    for (const c of cases) {
      const h = harness([fx.midStream.finishError, fx.healthy]);
      const { events } = await serve(h, c.dialect, c.body, c.headers);
      const chunks = events.filter((e) => e.data !== "[DONE]").map((e) => JSON.parse(e.data) as { choices?: { finish_reason?: string | null }[] });
      expect(chunks.flatMap((ch) => ch.choices ?? []).map((ch) => ch.finish_reason).filter(Boolean)).toEqual(["error"]);
      expect(events.at(-1)?.data).toBe("[DONE]");
      expect(h.events).toHaveLength(1);
      const ev = h.events[0]!;
      expect(ev.status).toBe("miner_error");
      expect(ev.errorCode).toBe("miner_finish_error");
      expect(ev.completionTokensCounted).toBeGreaterThan(0);
      expect(ev.attemptLog?.map((a) => [a.minerHotkey, a.outcome])).toEqual([[fx.midStream.finishError.hotkey, "ended"]]);
    }
  });

  it("a tool call cut inside its arguments", async () => {
    const h = harness([fx.midStream.drop, fx.healthy]);
    const tools = [{ type: "function", function: { name: "get_weather", parameters: { type: "object", properties: { city: { type: "string" }, days: { type: "integer" }, unit: { type: "string" } } } } }];
    const s = chatStream((await serve(h, chatDialect, chatBody({ tools, tool_choice: "required" }))).events);
    expect(s.errors).toHaveLength(1);
    expect(s.done).toBe(0);
    expect(h.events[0]!.minerHotkey).toBe(fx.midStream.drop.hotkey);
  });
});

describe("a stream that fails before any content fails over with no client-visible error", () => {
  for (const [name, faulty] of Object.entries(fx.beforeContent)) {
    it(`${name}`, async () => {
      const body = chatBody();
      const unbroken = chatStream((await serve(harness([fx.healthy]), chatDialect, body)).events);
      const h = harness([faulty, fx.healthy]);
      const { res, events } = await serve(h, chatDialect, body);
      const s = chatStream(events);
      expect(res.status).toBe(200);
      expect(res.headers.get("x-miner-hotkey")).toBe(fx.healthy.hotkey);
      expect(s.errors).toEqual([]);
      expect(s.text).toBe(unbroken.text);
      expect(s.usages).toEqual(unbroken.usages);
      expect(h.failures.map((f) => f.hotkey)).toEqual([faulty.hotkey]);
      expect(h.events[0]!.attemptLog?.map((a) => [a.minerHotkey, a.outcome, a.completionTokens])).toEqual([
        [faulty.hotkey, "failed", 0],
        [fx.healthy.hotkey, "answered", unbroken.usages[0]!.completion_tokens],
      ]);
    });
  }
});
