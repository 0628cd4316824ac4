/**
 * Per-task budgets for agent runs, on every inference route and dialect:
 *
 *   x-gateway-budget-usd: 0.05          caps this request's cost
 *   x-gateway-session-budget-usd: 2.00  caps the session's total (session = the affinity key:
 *                                       a session header, prompt_cache_key or the conversation's
 *                                       opening), counted from its first request with the header
 *
 * The cap is enforced before the miner is called, from the model's price: the prompt's worst-case
 * cost must fit in what is left, and `max_tokens` is lowered to the output the rest can pay for
 * (an answer that runs out ends as a normal max_tokens stop). Nothing left, or not even the
 * prompt affordable: 402 `budget_exceeded`, never retried by SDKs. Billing believes a miner up to
 * REPORT_TOLERANCE_PERCENT above the gateway's own count, so both sides of the estimate carry
 * that margin and the billed cost stays within the budget.
 *
 * A session's spend is the settled cost of its finished requests; requests still running in
 * parallel in the same session are not yet counted (agents run their turns one after another).
 */
import { GatewayError, invalidRequest } from "../errors";
import type { JsonObject } from "../lib/json";
import type { BudgetStore } from "../pipeline/contracts";
import type { InferenceRequest } from "../validation/requests";
import { costMicroUsd, formatUsd, priceFor, REPORT_TOLERANCE_PERCENT, reportCap, type ModelPrice } from "./pricing";
import type { UsageEvent } from "./usage-event";

export const REQUEST_BUDGET_HEADER = "x-gateway-budget-usd";
export const SESSION_BUDGET_HEADER = "x-gateway-session-budget-usd";

export interface BudgetInput {
  /** The request's budget headers as sent (undefined when absent). */
  requestBudget: string | undefined;
  sessionBudget: string | undefined;
  subscriberId: string;
  /** The session (affinity) key, when the request has one. */
  sessionKey: string | undefined;
  request: InferenceRequest;
  /** The gateway's own prompt count. */
  promptTokens: number;
}

export interface BudgetOutcome {
  /** The request, with max_tokens lowered when the budget cannot pay for more. */
  request: InferenceRequest;
  /** Settles the session's spend from the usage event (absent without a session budget). */
  settle?: (event: UsageEvent) => Promise<void>;
  /** Response headers telling the client what the budget did. */
  headers: Record<string, string>;
}

const MAX_BUDGET_MICRO_USD = 1_000_000_000_000; // $1M: far above any task, far below 2^53.
/** The largest max_tokens request validation accepts. */
const MAX_TOKENS_FIELD = 10_000_000;

/** "2", "0.05", "1.234567" -> micro-USD, exactly (no floats); at most 6 decimals. */
export function parseUsd(value: string, header: string): number {
  const m = /^\s*(\d{1,7})(?:\.(\d{1,6}))?\s*$/.exec(value);
  if (!m) throw invalidRequest(`'${header}' must be a positive amount of US dollars with at most 6 decimals, like 0.25; got '${value}'.`, header, "invalid_value");
  const micro = Number(m[1]) * 1_000_000 + Number((m[2] ?? "").padEnd(6, "0"));
  if (micro <= 0 || micro > MAX_BUDGET_MICRO_USD) throw invalidRequest(`'${header}' must be more than 0 and at most 1000000.`, header, "invalid_value");
  return micro;
}

const budgetExceeded = (message: string, header: string, headers: Record<string, string> = {}) =>
  new GatewayError(402, "insufficient_quota", "budget_exceeded", message, header, headers);

/** Output tokens `micro` pays for at `price`, with the billing tolerance as margin. */
function affordableOutputTokens(micro: number, price: ModelPrice): number {
  if (price.outputMicroUsdPerMtok === 0) return Number.MAX_SAFE_INTEGER;
  const n = (BigInt(micro) * 1_000_000n * 100n) / (BigInt(price.outputMicroUsdPerMtok) * BigInt(100 + REPORT_TOLERANCE_PERCENT));
  return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
}

function withMaxTokens(req: InferenceRequest, n: number): InferenceRequest {
  const body: JsonObject = { ...req.body, max_tokens: n };
  if (body.max_completion_tokens !== undefined && body.max_completion_tokens !== null) body.max_completion_tokens = n;
  return { ...req, maxTokens: n, body };
}

/** Applies the request's budget headers, if any; without them it costs nothing (no D1 read). */
export async function applyBudget(store: BudgetStore, input: BudgetInput): Promise<BudgetOutcome> {
  const { request: req, subscriberId, sessionKey } = input;
  if (input.requestBudget === undefined && input.sessionBudget === undefined) return { request: req, headers: {} };
  if (req.endpoint === "embeddings") return { request: req, headers: {} };

  const requestBudget = input.requestBudget === undefined ? null : parseUsd(input.requestBudget, REQUEST_BUDGET_HEADER);
  const sessionBudget = input.sessionBudget === undefined ? null : parseUsd(input.sessionBudget, SESSION_BUDGET_HEADER);
  if (sessionBudget !== null && sessionKey === undefined) {
    throw invalidRequest(`'${SESSION_BUDGET_HEADER}' needs a session: send an x-session-id header (or x-session-affinity, session-id, x-claude-code-session-id).`, SESSION_BUDGET_HEADER, "missing_session");
  }
  const [prices, spent] = await Promise.all([
    store.prices(),
    sessionBudget !== null && sessionKey !== undefined ? store.sessionSpent(subscriberId, sessionKey) : Promise.resolve(0),
  ]);
  const price = priceFor(prices, req.model);
  const headers: Record<string, string> = {};
  if (sessionBudget !== null) headers["x-gateway-session-spent-usd"] = formatUsd(spent);

  // What this request may still cost, and which header set that limit (for the error).
  let left = Number.MAX_SAFE_INTEGER;
  let limitedBy = REQUEST_BUDGET_HEADER;
  if (requestBudget !== null) left = requestBudget;
  if (sessionBudget !== null && sessionBudget - spent < left) {
    left = sessionBudget - spent;
    limitedBy = SESSION_BUDGET_HEADER;
  }
  if (left <= 0) {
    throw budgetExceeded(`The session budget of $${formatUsd(sessionBudget ?? 0)} is used up: this session has spent $${formatUsd(spent)}. Start a new session or raise ${SESSION_BUDGET_HEADER}.`, SESSION_BUDGET_HEADER, headers);
  }
  const promptCost = costMicroUsd(price, { prompt: reportCap(input.promptTokens), cached: 0, completion: 0 });
  const outputTokens = affordableOutputTokens(left - promptCost, price);
  if (promptCost >= left || outputTokens < 1) {
    const what = limitedBy === SESSION_BUDGET_HEADER ? `the $${formatUsd(left)} left in this session's budget` : `this request's budget of $${formatUsd(left)}`;
    throw budgetExceeded(`This request's prompt would cost up to $${formatUsd(promptCost)} on '${req.model}', leaving no room for an answer within ${what} (${limitedBy}).`, limitedBy, headers);
  }

  // Lowered only when the budget is the tighter limit (a free model's budget limits nothing).
  let capped = req;
  if (outputTokens <= MAX_TOKENS_FIELD && (req.maxTokens === undefined || req.maxTokens > outputTokens)) {
    capped = withMaxTokens(req, outputTokens);
    headers["x-gateway-budget-max-tokens"] = String(outputTokens);
  }
  if (sessionBudget === null || sessionKey === undefined) return { request: capped, headers };
  return {
    request: capped,
    settle: (event) => store.addSessionSpend(subscriberId, sessionKey, event.costMicroUsd ?? 0),
    headers,
  };
}
