/**
 * Exact limits through the whole Worker: real requests, the real per-subscriber Durable Object,
 * real reference miners (a paced one holds requests in flight).
 */
import { abortAllDurableObjects, env, runDurableObjectAlarm } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { limitsStub } from "../../src/billing/limits-do";
import { chat, createPlan, expectOpenAIError, limitsOf, limitsWhen, registerMiners, subscriberOnPlan } from "./helpers";

const fx = env.TEST_FIXTURES;

beforeAll(async () => {
  await registerMiners([
    { ...fx.paced, models: ["test/paced"] },
    { ...fx.priced, models: ["test/priced"] },
  ]);
  // One request warms the isolate first: on this loaded machine its cold first miner call can
  // miss the suite's 1.5 s first-byte timeout (a 504 inside the first exact-limits wave).
  const warm = await subscriberOnPlan(await createPlan("warm-up"));
  const res = await chat(warm.key, { model: "test/paced", stream: true, max_tokens: 5 });
  await res.body?.cancel();
});

const RFC3339 = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/;
const DURATION = /^(\d+ms|\d+(\.\d+)?s|\d+m\d+s|\d+h\d+m\d+s)$/;

function expectLimitHeaders(res: Response, plan: { rpm: number; tpm: number }) {
  const h = res.headers;
  expect(h.get("x-ratelimit-limit-requests")).toBe(String(plan.rpm));
  expect(Number(h.get("x-ratelimit-remaining-requests"))).toBeGreaterThanOrEqual(0);
  expect(h.get("x-ratelimit-reset-requests")).toMatch(DURATION);
  expect(h.get("x-ratelimit-limit-tokens")).toBe(String(plan.tpm));
  expect(Number(h.get("x-ratelimit-remaining-tokens"))).toBeGreaterThanOrEqual(0);
  expect(h.get("x-ratelimit-reset-tokens")).toMatch(DURATION);
  expect(h.get("x-allowance-remaining-usd")).toMatch(/^\d+\.\d{6}$/);
  expect(h.get("x-allowance-reset")).toMatch(RFC3339);
}

/** Fires `n` streamed requests at once; returns the responses (admitted ones still streaming). */
function wave(key: string, n: number): Promise<Response[]> {
  return Promise.all(Array.from({ length: n }, () => chat(key, { model: "test/paced", stream: true, max_tokens: 40 })));
}

describe("exact limits", () => {
  it("50 concurrent requests against concurrency 5 and 20 per minute: exactly 5 per wave, 20 in all, the rest 429; nothing leaks", async () => {
    const plan = await createPlan("conc", { concurrent_requests: 5, requests_per_minute: 20, tokens_per_minute: 1_000_000 });
    const { key, subscriberId } = await subscriberOnPlan(plan);
    const admittedPerWave: number[] = [];
    const remainingSeen: number[] = [];

    for (let w = 0; w < 5; w++) {
      const responses = await wave(key, 50);
      const ok = responses.filter((r) => r.status === 200);
      const refused = responses.filter((r) => r.status !== 200);
      admittedPerWave.push(ok.length);
      for (const r of ok) {
        expectLimitHeaders(r, { rpm: 20, tpm: 1_000_000 });
        remainingSeen.push(Number(r.headers.get("x-ratelimit-remaining-requests")));
      }
      for (const r of refused) {
        expectLimitHeaders(r, { rpm: 20, tpm: 1_000_000 });
        // The first four waves hit the concurrency limit, the fifth the per-minute limit.
        const error = await expectOpenAIError(r, 429, w < 4 ? "concurrency_limit_exceeded" : "rate_limit_exceeded");
        expect(error.type).toBe("rate_limit_error");
        const retryAfter = Number(r.headers.get("retry-after"));
        expect(retryAfter).toBeGreaterThanOrEqual(1);
        expect(retryAfter).toBeLessThanOrEqual(60);
        expect(Number(r.headers.get("retry-after-ms"))).toBeLessThanOrEqual(60_000);
        if (w === 4) expect(r.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      }
      // The admitted ones are still streaming: the Durable Object holds exactly them.
      expect((await limitsOf(subscriberId)).limits.concurrency.in_flight).toBe(ok.length);
      await Promise.all(ok.map((r) => r.body!.cancel()));
      const settled = await limitsWhen(subscriberId, (l) => l.limits.concurrency.in_flight === 0);
      expect(settled.limits.concurrency.in_flight).toBe(0);
    }

    expect(admittedPerWave).toEqual([5, 5, 5, 5, 0]);
    // Each admitted request saw its own place in the minute's budget: 19 down to 0, once each.
    expect(remainingSeen.sort((a, b) => b - a)).toEqual(Array.from({ length: 20 }, (_, i) => 19 - i));
    const after = await limitsOf(subscriberId);
    expect(after.limits.concurrency.in_flight).toBe(0);
    expect(after.in_flight).toEqual([]);
    expect(after.spend.reserved_micro_usd).toBe(0);
    expect(after.limits.requests.remaining).toBe(0);
  });

  it("50 concurrent requests against 20 per minute: exactly 20 succeed", async () => {
    const plan = await createPlan("rpm", { requests_per_minute: 20, concurrent_requests: 50 });
    const { key, subscriberId } = await subscriberOnPlan(plan);
    const responses = await Promise.all(Array.from({ length: 50 }, () => chat(key, { model: "test/priced", max_tokens: 5 })));
    const ok = responses.filter((r) => r.status === 200);
    expect(ok).toHaveLength(20);
    for (const r of responses.filter((r) => r.status !== 200)) {
      await expectOpenAIError(r, 429, "rate_limit_exceeded");
      expect(r.headers.get("x-ratelimit-remaining-requests")).toBe("0");
      expect(Number(r.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    }
    await Promise.all(ok.map((r) => r.text()));
    const after = await limitsWhen(subscriberId, (l) => l.limits.concurrency.in_flight === 0 && l.spend.reserved_micro_usd === 0);
    expect(after.limits.concurrency.in_flight).toBe(0);
    expect(after.spend.reserved_micro_usd).toBe(0);
  });

  it("holds the worst case of tokens while a request runs and counts what was billed after", async () => {
    const plan = await createPlan("tpm", { tokens_per_minute: 2_000 });
    const { key, subscriberId } = await subscriberOnPlan(plan);
    const held = await chat(key, { model: "test/paced", stream: true, max_tokens: 1_500 });
    expect(held.status).toBe(200);
    const remaining = Number(held.headers.get("x-ratelimit-remaining-tokens"));
    expect(remaining).toBeLessThan(500);

    const refused = await chat(key, { model: "test/paced", stream: true, max_tokens: 1_500 });
    const error = await expectOpenAIError(refused, 429, "token_rate_limit_exceeded");
    expect(error.message).toContain("2000 tokens per minute");

    await held.body!.cancel();
    const after = await limitsWhen(subscriberId, (l) => l.limits.concurrency.in_flight === 0);
    // The cancelled stream delivered a handful of tokens: that is all the window keeps of it.
    expect(after.limits.tokens.remaining).toBeGreaterThan(1_900);
    const next = await chat(key, { model: "test/paced", stream: true, max_tokens: 1_500 });
    expect(next.status).toBe(200);
    await next.body!.cancel();
  });

  it("refuses what the plan can never allow: a model outside it (403), a request above its TPM (400)", async () => {
    const plan = await createPlan("narrow", { tokens_per_minute: 1_000, models: ["test/pri*"] });
    const { key } = await subscriberOnPlan(plan);
    const outside = await chat(key, { model: "test/paced", max_tokens: 5 });
    expect((await expectOpenAIError(outside, 403, "model_not_in_plan", "model")).type).toBe("permission_error");
    expectLimitHeaders(outside, { rpm: 100_000, tpm: 1_000 });
    const tooLarge = await chat(key, { model: "test/priced", max_tokens: 5_000 });
    await expectOpenAIError(tooLarge, 400, "request_too_large_for_plan", "max_tokens");
    const fine = await chat(key, { model: "test/priced", max_tokens: 5 });
    expect(fine.status).toBe(200);
    await fine.text();
  });

  it("puts the limit headers on every answer of an admitted request and releases one that never reached a miner", async () => {
    const plan = await createPlan("headers", { requests_per_minute: 50, tokens_per_minute: 50_000 });
    const { key, subscriberId } = await subscriberOnPlan(plan);
    const ok = await chat(key, { model: "test/priced", max_tokens: 5 });
    expect(ok.status).toBe(200);
    expectLimitHeaders(ok, { rpm: 50, tpm: 50_000 });
    expect(ok.headers.get("x-ratelimit-remaining-requests")).toBe("49");
    expect(ok.headers.get("x-plan")).toBe(plan);
    expect(ok.headers.get("server-timing")).toMatch(/^admission;dur=\d+$/);
    await ok.text();

    const unknown = await chat(key, { model: "no/such-model", max_tokens: 5 });
    await expectOpenAIError(unknown, 404, "model_not_found");
    expectLimitHeaders(unknown, { rpm: 50, tpm: 50_000 });
    const after = await limitsWhen(subscriberId, (l) => l.limits.concurrency.in_flight === 0);
    expect(after.limits.concurrency.in_flight).toBe(0);
    expect(after.spend.reserved_micro_usd).toBe(0);
    // Both requests count against the minute; the unknown model's tokens do not.
    expect(after.limits.requests.remaining).toBe(48);
  });

  it("expires the reservation of a request whose isolate stopped renewing it (at the next call, no alarm)", async () => {
    const plan = await createPlan("lease", { concurrent_requests: 1 });
    const { key, subscriberId } = await subscriberOnPlan(plan);
    // A reservation made as a request would, then abandoned: nobody settles or renews it.
    const stub = limitsStub(env, subscriberId);
    const r = await stub.reserve(subscriberId, { requestId: "req_abandoned", model: "test/priced", promptTokens: 5, maxOutputTokens: 5, choices: 1, leaseTtlMs: 2_000 });
    expect(r.ok).toBe(true);
    await expectOpenAIError(await chat(key, { model: "test/priced", max_tokens: 5 }), 429, "concurrency_limit_exceeded");

    const expiresAt = Date.now() + 2_000;
    while (Date.now() <= expiresAt) await new Promise((res) => setTimeout(res, 100));
    // Nothing scheduled: the next call (here the report) drops the expired lease before it counts.
    expect(await runDurableObjectAlarm(stub)).toBe(false);
    const after = await limitsWhen(subscriberId, (l) => l.limits.concurrency.in_flight === 0);
    expect(after.in_flight).toEqual([]);
    const again = await chat(key, { model: "test/priced", max_tokens: 5 });
    expect(again.status).toBe(200);
    await again.text();
  });

  it("keeps its counters when the Durable Object restarts", async () => {
    const plan = await createPlan("restart", { requests_per_minute: 10 });
    const { key, subscriberId } = await subscriberOnPlan(plan);
    for (let i = 0; i < 3; i++) {
      const r = await chat(key, { model: "test/priced", max_tokens: 5 });
      expect(r.status).toBe(200);
      await r.text();
    }
    const before = await limitsWhen(subscriberId, (l) => l.limits.concurrency.in_flight === 0 && l.spend.period_cost_micro_usd > 0);
    await abortAllDurableObjects();
    const after = await limitsOf(subscriberId);
    expect(after.limits.requests.remaining).toBe(7);
    expect(after.spend.period_cost_micro_usd).toBe(before.spend.period_cost_micro_usd);
    expect(after.limits.tokens.remaining).toBe(before.limits.tokens.remaining);
  });
});
