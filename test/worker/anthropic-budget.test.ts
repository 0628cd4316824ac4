/**
 * Per-task budgets (x-gateway-budget-usd, x-gateway-session-budget-usd) on every inference route:
 * chat completions, Anthropic Messages (Claude Code's route) and Responses. Against a priced
 * model on a real miner: max_tokens lowered to what the budget pays for, a clear 402 when it is
 * used up, sessions counted apart, and the billed cost never above the budget.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { reportCap } from "../../src/billing/pricing";
import { call, jsonPost, newSubscriber, registerMiners, setPrice, usageRow } from "./helpers";

const fx = env.TEST_FIXTURES;
const MODEL = "test/priced";
let key: string;
let subscriberId: string;

beforeAll(async () => {
  ({ key, subscriberId } = await newSubscriber("budget"));
  await registerMiners([{ ...fx.priced, models: [MODEL] }]);
  // $1 per million input tokens, $2 per million output: 1 and 2 micro-USD per token.
  await setPrice(MODEL, 1_000_000, 2_000_000, 500_000);
});

/** What the gateway lets a budget of `micro` buy after a prompt of `prompt` tokens (10% billing margin both sides). */
const affordable = (micro: number, prompt: number) => Math.floor(((micro - reportCap(prompt)) * 100) / 220);

interface CostRow {
  cost_micro_usd: number;
  prompt_tokens_counted: number;
}

describe("x-gateway-budget-usd", () => {
  it("lowers max_tokens to what the budget pays for and bills within it", async () => {
    const res = await jsonPost("/v1/chat/completions", key, { model: MODEL, messages: [{ role: "user", content: "Tell me a long story" }] }, { "x-gateway-budget-usd": "0.00005" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { choices: { finish_reason: string }[]; usage: { completion_tokens: number } };
    const row = (await usageRow(res.headers.get("x-request-id")!)) as unknown as CostRow;
    const cap = affordable(50, row.prompt_tokens_counted);
    expect(cap).toBeGreaterThan(0);
    expect(res.headers.get("x-gateway-budget-max-tokens")).toBe(String(cap));
    expect(body.choices[0]!.finish_reason).toBe("length");
    expect(body.usage.completion_tokens).toBe(cap);
    expect(row.cost_micro_usd).toBeLessThanOrEqual(50);
  });

  it("keeps a smaller max_tokens the client asked for", async () => {
    const res = await jsonPost("/v1/chat/completions", key, { model: MODEL, max_tokens: 2, messages: [{ role: "user", content: "Tell me a long story" }] }, { "x-gateway-budget-usd": "1" });
    expect(res.status).toBe(200);
    expect(res.headers.get("x-gateway-budget-max-tokens")).toBeNull();
    expect(((await res.json()) as { usage: { completion_tokens: number } }).usage.completion_tokens).toBe(2);
  });

  it("refuses with 402 budget_exceeded when not even the prompt fits, in each dialect's shape", async () => {
    const chatRes = await jsonPost("/v1/chat/completions", key, { model: MODEL, messages: [{ role: "user", content: "hi" }] }, { "x-gateway-budget-usd": "0.000001" });
    expect(chatRes.status).toBe(402);
    const chatErr = ((await chatRes.json()) as { error: { code: string; param: string; message: string } }).error;
    expect(chatErr).toMatchObject({ code: "budget_exceeded", param: "x-gateway-budget-usd" });
    expect(chatErr.message).toContain("budget of $0.000001");

    const msgRes = await call("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key, "x-gateway-budget-usd": "0.000001" },
      body: JSON.stringify({ model: MODEL, max_tokens: 100, messages: [{ role: "user", content: "hi" }] }),
    });
    expect(msgRes.status).toBe(402);
    expect(await msgRes.json()).toMatchObject({ type: "error", error: { type: "billing_error" } });
  });

  it("caps Responses through max_output_tokens (the answer ends incomplete)", async () => {
    const res = await jsonPost("/v1/responses", key, { model: MODEL, input: "Tell me a long story" }, { "x-gateway-budget-usd": "0.00004" });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { status: string; incomplete_details: unknown; usage: { output_tokens: number } };
    expect(body).toMatchObject({ status: "incomplete", incomplete_details: { reason: "max_output_tokens" } });
    expect(body.usage.output_tokens).toBe(Number(res.headers.get("x-gateway-budget-max-tokens")));
  });

  it("refuses a malformed amount naming the header", async () => {
    for (const bad of ["abc", "-1", "0", "1e3", "0.0000001"]) {
      const res = await jsonPost("/v1/chat/completions", key, { model: MODEL, messages: [{ role: "user", content: "hi" }] }, { "x-gateway-budget-usd": bad });
      expect(res.status, bad).toBe(400);
      expect(((await res.json()) as { error: { param: string } }).error.param).toBe("x-gateway-budget-usd");
    }
  });
});

describe("x-gateway-session-budget-usd", () => {
  const turn = (session: string, budget: string) =>
    call("/v1/messages", {
      method: "POST",
      headers: { "content-type": "application/json", "x-api-key": key, "x-session-id": session, "x-gateway-session-budget-usd": budget },
      body: JSON.stringify({ model: MODEL, max_tokens: 30, messages: [{ role: "user", content: "Tell me a long story" }] }),
    });

  /** The session's settled spend, once the last request has settled (its hook runs after the answer). */
  async function settled(requests: number): Promise<number> {
    for (let i = 0; i < 200; i++) {
      const row = await env.DB.prepare("SELECT spent_micro_usd, requests FROM session_spend WHERE subscriber_id = ? ORDER BY updated_at DESC LIMIT 1")
        .bind(subscriberId)
        .first<{ spent_micro_usd: number; requests: number }>();
      if (row && row.requests >= requests) return row.spent_micro_usd;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error("the session never settled");
  }

  it("lets an agent run spend up to its budget, then answers 402 with what was spent", async () => {
    const session = `run-${crypto.randomUUID()}`;
    const costs: number[] = [];
    let refusal: Response | undefined;
    for (let i = 0; i < 12 && !refusal; i++) {
      const res = await turn(session, "0.0002");
      if (res.status === 402) {
        refusal = res;
        break;
      }
      expect(res.status).toBe(200);
      expect(res.headers.get("x-gateway-session-spent-usd")).toMatch(/^0\.\d{6}$/);
      await res.arrayBuffer();
      costs.push(((await usageRow(res.headers.get("x-request-id")!)) as unknown as CostRow).cost_micro_usd);
      expect(await settled(costs.length)).toBe(costs.reduce((a, b) => a + b, 0));
    }
    expect(refusal, "the budget ran out").toBeDefined();
    expect(costs.length).toBeGreaterThan(1);
    expect(costs.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(200);
    expect(await refusal!.json()).toMatchObject({ type: "error", error: { type: "billing_error" } });
    expect(refusal!.headers.get("x-gateway-session-spent-usd")).toBe(`0.${String(costs.reduce((a, b) => a + b, 0)).padStart(6, "0")}`);

    // Another session of the same subscriber has its own budget.
    const other = await turn(`run-${crypto.randomUUID()}`, "0.0002");
    expect(other.status).toBe(200);
    await other.arrayBuffer();
  });

  it("needs a session to count against", async () => {
    const res = await jsonPost("/v1/completions", key, { model: MODEL, prompt: "Once" }, { "x-gateway-session-budget-usd": "1" });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("missing_session");
  });
});
