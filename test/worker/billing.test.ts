/**
 * Prices, cost and allowance through the whole Worker: the cost in `usage`, in the usage row and
 * in the subscriber's Durable Object agree; an allowance is never overspent; a cancelled stream
 * pays for what was delivered; the admin API edits plans, prices and credit.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { reportCap } from "../../src/billing/pricing";
import { SseDecoder } from "../../src/lib/sse";
import { countTokens } from "../../src/lib/tokens";
import {
  admin,
  ADMIN,
  call,
  chat,
  createPlan,
  expectOpenAIError,
  limitsOf,
  limitsWhen,
  registerMiners,
  setPrice,
  subscriberOnPlan,
  usageRow,
  type UsageRow,
} from "./helpers";

const fx = env.TEST_FIXTURES;
type CostRow = UsageRow & { cost_micro_usd: number; cached_prompt_tokens_reported: number | null };
type Usage = { prompt_tokens: number; completion_tokens: number; cost: number; cost_micro_usd: number };

beforeAll(async () => {
  await registerMiners([
    { ...fx.paced, models: ["test/paced"] },
    { ...fx.priced, models: ["test/priced"] },
    { ...fx.overReporting, models: ["test/over-report"] },
  ]);
  // $1 per million input tokens and $2 per million output: a request costs prompt + 2 x completion micro-USD.
  for (const model of ["test/priced", "test/paced", "test/over-report"]) await setPrice(model, 1_000_000, 2_000_000, 500_000);
});

async function costRow(res: Response): Promise<CostRow> {
  return (await usageRow(res.headers.get("x-request-id")!)) as CostRow;
}

describe("cost of a request", () => {
  it("is in usage, in the usage row and in the subscriber's spend, all equal", async () => {
    const { key, subscriberId } = await subscriberOnPlan(await createPlan("cost"));
    const res = await chat(key, { model: "test/priced", max_tokens: 12 });
    expect(res.status).toBe(200);
    const { usage } = (await res.json()) as { usage: Usage };
    const expected = usage.prompt_tokens + 2 * usage.completion_tokens;
    expect(usage.cost_micro_usd).toBe(expected);
    expect(usage.cost).toBe(expected / 1_000_000);
    expect((await costRow(res)).cost_micro_usd).toBe(expected);
    const limits = await limitsWhen(subscriberId, (l) => l.spend.period_cost_micro_usd === expected);
    expect(limits.spend.period_cost_micro_usd).toBe(expected);
    expect(limits.spend.allowance_used_micro_usd).toBe(expected);
  });

  it("is in the final streamed usage chunk", async () => {
    const { key } = await subscriberOnPlan(await createPlan("stream-cost"));
    const res = await chat(key, { model: "test/priced", stream: true, stream_options: { include_usage: true }, max_tokens: 12 });
    const decoder = new SseDecoder();
    const events: string[] = [];
    for await (const chunk of res.body!) events.push(...decoder.push(chunk).map((e) => e.data));
    expect(events.at(-1)).toBe("[DONE]");
    const last = JSON.parse(events.at(-2)!) as { choices: unknown[]; usage: Usage };
    expect(last.choices).toEqual([]);
    const expected = last.usage.prompt_tokens + 2 * last.usage.completion_tokens;
    expect(last.usage.cost_micro_usd).toBe(expected);
    expect(last.usage.cost).toBe(expected / 1_000_000);
    expect((await costRow(res)).cost_micro_usd).toBe(expected);
  });

  it("never bills a miner's over-reported tokens beyond the gateway's own count plus 10%", async () => {
    const { key } = await subscriberOnPlan(await createPlan("over-report"));
    const res = await chat(key, { model: "test/over-report", max_tokens: 20 });
    const { usage } = (await res.json()) as { usage: Usage };
    const row = await costRow(res);
    expect(row.completion_tokens_reported).toBeGreaterThan(2 * row.completion_tokens_counted);
    const billed = reportCap(row.prompt_tokens_counted) + 2 * reportCap(row.completion_tokens_counted);
    expect(row.cost_micro_usd).toBe(billed);
    expect(usage.cost_micro_usd).toBe(billed);
    expect(billed).toBeLessThan(usage.prompt_tokens + 2 * usage.completion_tokens);
  });

  it("of a stream the client stops is what was delivered, not what was reserved", async () => {
    const { key, subscriberId } = await subscriberOnPlan(await createPlan("cancel"));
    const res = await chat(key, { model: "test/paced", stream: true, max_tokens: 200 });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    const decoder = new SseDecoder();
    let seen = "";
    let deltas = 0;
    while (deltas < 2) {
      const { done, value } = await reader.read();
      if (done) break;
      for (const e of decoder.push(value)) {
        const content = (JSON.parse(e.data) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content;
        if (content) {
          seen += content;
          deltas++;
        }
      }
    }
    await reader.cancel();
    const row = await costRow(res);
    expect(row.status).toBe("client_cancelled");
    expect(row.completion_tokens_reported).toBeNull();
    // What the gateway relayed: what the client read, give or take the chunk in flight.
    expect(row.completion_tokens_counted).toBeGreaterThanOrEqual(countTokens(seen));
    expect(row.completion_tokens_counted).toBeLessThan(20);
    expect(row.cost_micro_usd).toBe(row.prompt_tokens_counted + 2 * row.completion_tokens_counted);
    const limits = await limitsWhen(subscriberId, (l) => l.limits.concurrency.in_flight === 0);
    expect(limits.spend.period_cost_micro_usd).toBe(row.cost_micro_usd);
    expect(limits.spend.reserved_micro_usd).toBe(0);
  });
});

describe("allowance", () => {
  it("is never overspent: past it comes 402 insufficient_quota, and granted credit lets the subscriber go on", async () => {
    const allowance = 300;
    const { key, subscriberId } = await subscriberOnPlan(await createPlan("allowance", { allowance_micro_usd: allowance }));
    let refused: Response | null = null;
    let admitted = 0;
    for (let i = 0; i < 20 && !refused; i++) {
      const res = await chat(key, { model: "test/priced", max_tokens: 50 });
      if (res.status === 200) {
        admitted++;
        await res.text();
      } else refused = res;
    }
    expect(admitted).toBeGreaterThan(0);
    expect(refused).not.toBeNull();
    const error = await expectOpenAIError(refused!, 402, "insufficient_quota");
    expect(error.type).toBe("insufficient_quota");
    expect(error.message).toContain("may cost up to $");
    expect(refused!.headers.get("x-allowance-limit-usd")).toBe("0.000300");
    expect(refused!.headers.get("x-allowance-reset")).toMatch(/^\d{4}-\d{2}-01T00:00:00Z$/);

    const spent = await limitsWhen(subscriberId, (l) => l.limits.concurrency.in_flight === 0);
    expect(spent.spend.period_cost_micro_usd).toBeLessThanOrEqual(allowance);
    expect(spent.spend.period_cost_micro_usd).toBeGreaterThan(0);

    const grant = await admin<{ credit_granted_micro_usd: number }>("POST", `/admin/subscribers/${subscriberId}/credits`, { amount_micro_usd: 1_000, note: "goodwill" });
    expect(grant.credit_granted_micro_usd).toBe(1_000);
    const res = await chat(key, { model: "test/priced", max_tokens: 50 });
    expect(res.status).toBe(200);
    const { usage } = (await res.json()) as { usage: Usage };
    const after = await limitsWhen(subscriberId, (l) => l.spend.period_cost_micro_usd === spent.spend.period_cost_micro_usd + usage.cost_micro_usd);
    // The allowance pays first, the credit the rest.
    const fromAllowance = Math.min(usage.cost_micro_usd, allowance - spent.spend.allowance_used_micro_usd);
    expect(after.spend.allowance_used_micro_usd).toBe(spent.spend.allowance_used_micro_usd + fromAllowance);
    expect(after.spend.credit_micro_usd).toBe(1_000 - (usage.cost_micro_usd - fromAllowance));
  });

  it("GET /v1/usage shows the period's spend against the plan", async () => {
    const plan = await createPlan("usage", { allowance_micro_usd: 5_000_000 });
    const { key, subscriberId } = await subscriberOnPlan(plan);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await chat(key, { model: "test/priced", max_tokens: 8 });
      ids.push(res.headers.get("x-request-id")!);
      await res.text();
    }
    const rows = await Promise.all(ids.map((id) => usageRow(id) as Promise<CostRow>));
    const total = rows.reduce((s, r) => s + r.cost_micro_usd, 0);
    await limitsWhen(subscriberId, (l) => l.spend.period_cost_micro_usd === total);
    const res = await call("/v1/usage", { headers: { authorization: `Bearer ${key}` } });
    expect(res.status).toBe(200);
    const body = (await res.json()) as {
      totals: { cost_micro_usd: number; requests: number };
      plan: { id: string; allowance_micro_usd: number };
      period: { start: string; end: string };
      spend: { period_cost_micro_usd: number; remaining_micro_usd: number; remaining_usd: string };
    };
    expect(body.totals).toMatchObject({ requests: 3, cost_micro_usd: total });
    expect(body.plan).toMatchObject({ id: plan, allowance_micro_usd: 5_000_000 });
    expect(body.period.start).toMatch(/^\d{4}-\d{2}-01T00:00:00Z$/);
    expect(body.spend.period_cost_micro_usd).toBe(total);
    expect(body.spend.remaining_micro_usd).toBe(5_000_000 - total);
    expect(body.spend.remaining_usd).toBe(`4.${String(1_000_000 - total).padStart(6, "0")}`);
  });
});

describe("billing admin API", () => {
  it("lists the seeded plans and creates, edits and assigns plans", async () => {
    const list = await admin<{ data: { id: string; price_micro_usd: number; allowance_micro_usd: number }[] }>("GET", "/admin/plans");
    expect(list.data.find((p) => p.id === "free")).toMatchObject({ price_micro_usd: 0 });
    expect(list.data.find((p) => p.id === "pro")).toMatchObject({ price_micro_usd: 10_000_000, allowance_micro_usd: 10_000_000 });
    expect(list.data.some((p) => p.id === "unlimited")).toBe(true);

    const missing = await call("/admin/plans", { method: "POST", headers: ADMIN, body: JSON.stringify({ id: "half", name: "Half", allowance_micro_usd: 5 }) });
    await expectOpenAIError(missing, 400, "missing_required_parameter", "requests_per_minute");
    const floaty = await call("/admin/plans", {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({ id: "floaty", name: "F", allowance_micro_usd: 1.5, requests_per_minute: 1, tokens_per_minute: 1, concurrent_requests: 1 }),
    });
    await expectOpenAIError(floaty, 400, "invalid_value", "allowance_micro_usd");

    const id = await createPlan("edit", { requests_per_minute: 10 });
    const dup = await call("/admin/plans", { method: "POST", headers: ADMIN, body: JSON.stringify({ id, name: "again", allowance_micro_usd: 1, requests_per_minute: 1, tokens_per_minute: 1, concurrent_requests: 1 }) });
    await expectOpenAIError(dup, 409, "conflict");
    const patched = await admin<{ requests_per_minute: number; name: string }>("PATCH", `/admin/plans/${id}`, { requests_per_minute: 11, name: "Edited" });
    expect(patched).toMatchObject({ requests_per_minute: 11, name: "Edited" });

    const { key, subscriberId } = await subscriberOnPlan(id);
    const moved = await admin<{ plan: { id: string; source: string } }>("PUT", `/admin/subscribers/${subscriberId}/plan`, { plan_id: "pro" });
    expect(moved.plan).toMatchObject({ id: "pro", source: "subscriber" });
    const res = await chat(key, { model: "test/priced", max_tokens: 3 });
    expect(res.headers.get("x-ratelimit-limit-requests")).toBe("600");
    await res.text();
    const back = await admin<{ plan: { id: string; source: string } }>("PUT", `/admin/subscribers/${subscriberId}/plan`, { plan_id: null });
    expect(back.plan).toMatchObject({ id: "unlimited", source: "default" }); // DEFAULT_PLAN_ID in the test config
    const unknown = await call(`/admin/subscribers/${subscriberId}/plan`, { method: "PUT", headers: ADMIN, body: JSON.stringify({ plan_id: "nope" }) });
    await expectOpenAIError(unknown, 404, "plan_not_found", "plan_id");
  });

  it("edits prices, keeps the default price, and refuses bad credit", async () => {
    await setPrice("test/other", 1, 2, 3);
    const prices = await admin<{ data: { model: string }[] }>("GET", "/admin/prices");
    expect(prices.data.map((p) => p.model)).toEqual(expect.arrayContaining(["*", "test/other"]));
    expect(await admin("DELETE", "/admin/prices/test/other")).toEqual({ model: "test/other", deleted: true });
    await expectOpenAIError(await call("/admin/prices/*", { method: "DELETE", headers: ADMIN }), 400, "invalid_value", "model");
    const negative = await call("/admin/prices", { method: "PUT", headers: ADMIN, body: JSON.stringify({ model: "x", input_micro_usd_per_mtok: -1, output_micro_usd_per_mtok: 1, cached_input_micro_usd_per_mtok: 1 }) });
    await expectOpenAIError(negative, 400, "invalid_value", "input_micro_usd_per_mtok");
    const { subscriberId } = await subscriberOnPlan(await createPlan("credit"));
    const zero = await call(`/admin/subscribers/${subscriberId}/credits`, { method: "POST", headers: ADMIN, body: JSON.stringify({ amount_micro_usd: 0 }) });
    await expectOpenAIError(zero, 400, "invalid_value", "amount_micro_usd");
    const limits = await limitsOf(subscriberId);
    expect(limits.spend.credit_micro_usd).toBe(0);
  });
});
