/** Shared helpers for the workerd tests: calling the Worker, seeding D1 through the admin API. */
import { env, SELF } from "cloudflare:test";
import { expect } from "vitest";
import { isUsageEvent } from "../../src/billing/usage-event";
import { requestRow } from "../../src/billing/usage-query";

export const ADMIN = { authorization: "Bearer test-admin-token", "content-type": "application/json" };

export function call(path: string, init: RequestInit = {}): Promise<Response> {
  return SELF.fetch(`http://gateway.test${path}`, init);
}

export async function admin<T = unknown>(method: string, path: string, body?: unknown): Promise<T> {
  const res = await call(path, { method, headers: ADMIN, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path} -> ${res.status} ${text}`);
  return JSON.parse(text) as T;
}

let counter = 0;

/** A fresh subscriber with one key; returns the plain key and ids. */
export async function newSubscriber(label = "test"): Promise<{ subscriberId: string; keyId: string; key: string }> {
  const sub = await admin<{ id: string }>("POST", "/admin/subscribers", { name: `${label}-${++counter}` });
  const key = await admin<{ id: string; key: string }>("POST", `/admin/subscribers/${sub.id}/keys`, { name: "k" });
  return { subscriberId: sub.id, keyId: key.id, key: key.key };
}

export async function registerMiners(miners: { hotkey: string; url: string; models: string[] }[]): Promise<void> {
  await admin("PUT", "/admin/miners", { miners: miners.map((m, i) => ({ hotkey: m.hotkey, uid: 100 + i, axon_url: m.url, models: m.models })) });
}

export function jsonPost(path: string, key: string | null, body: unknown, extra: Record<string, string> = {}): Promise<Response> {
  const headers: Record<string, string> = { "content-type": "application/json", ...extra };
  if (key) headers.authorization = `Bearer ${key}`;
  return call(path, { method: "POST", headers, body: typeof body === "string" ? body : JSON.stringify(body) });
}

export const chat = (key: string, body: Record<string, unknown>) =>
  jsonPost("/v1/chat/completions", key, { messages: [{ role: "user", content: "Say something" }], ...body });

export interface UsageRow {
  request_id: string;
  created_at: number;
  subscriber_id: string | null;
  status: string;
  http_status: number;
  miner_hotkey: string | null;
  attempts: number;
  streamed: number;
  prompt_tokens_counted: number;
  completion_tokens_counted: number;
  prompt_tokens_reported: number | null;
  completion_tokens_reported: number | null;
  error_code: string | null;
  ttft_ms: number | null;
}

/**
 * One metered request in the shape the per-request rows had (booleans as 0/1, as SQLite stored
 * them), read from the recent-requests list the consumer keeps (the usage_recent_events view).
 */
function asRow(json: string): UsageRow {
  const event: unknown = JSON.parse(json);
  if (!isUsageEvent(event)) throw new Error(`not a usage event in the recent-requests list: ${json}`);
  const row = requestRow(event);
  return { ...row, streamed: row.streamed ? 1 : 0 };
}

async function recentRows(where: string, bind: string): Promise<UsageRow[]> {
  const { results } = await env.DB.prepare(`SELECT e.value AS event FROM usage_recent_events r, json_each(r.events) e WHERE ${where}`).bind(bind).all<{ event: string }>();
  return results.map((r) => asRow(r.event)).sort((a, b) => Number(a.created_at) - Number(b.created_at));
}

/** Waits until the queue consumer has recorded `requestId` (the queue batches ~1 s). */
export async function usageRow(requestId: string, timeoutMs = 10_000): Promise<UsageRow> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const [row] = await recentRows("json_extract(e.value, '$.requestId') = ?", requestId);
    if (row) return row;
    if (Date.now() > until) throw new Error(`no usage row for ${requestId} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function usageRowsFor(subscriberId: string, expected: number, timeoutMs = 15_000): Promise<UsageRow[]> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const results = await recentRows("r.subscriber_id = ?", subscriberId);
    if (results.length >= expected || Date.now() > until) return results;
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function expectOpenAIError(res: Response, status: number, code?: string, param?: string | null) {
  expect(res.status).toBe(status);
  expect(res.headers.get("x-request-id")).toMatch(/^req_[0-9a-f]{32}$/);
  const body = (await res.json()) as { error: { message: string; type: string; code: string | null; param: string | null } };
  expect(Object.keys(body.error).sort()).toEqual(["code", "message", "param", "type"]);
  expect(typeof body.error.message).toBe("string");
  expect(body.error.message.length).toBeGreaterThan(0);
  if (code !== undefined) expect(body.error.code).toBe(code);
  if (param !== undefined) expect(body.error.param).toBe(param);
  return body.error;
}

// ---- plans, prices and limits (billing and limits tests) ----

export interface PlanFields {
  allowance_micro_usd?: number;
  requests_per_minute?: number;
  tokens_per_minute?: number;
  concurrent_requests?: number;
  models?: string[] | null;
  stripe_price_id?: string | null;
  price_micro_usd?: number;
}

let planCounter = 0;

/** A fresh plan, generous in everything the test does not set; returns its id. */
export async function createPlan(label: string, fields: PlanFields = {}): Promise<string> {
  const id = `t-${label}-${++planCounter}`;
  await admin("POST", "/admin/plans", {
    id,
    name: `Test ${label}`,
    allowance_micro_usd: 1_000_000_000,
    requests_per_minute: 100_000,
    tokens_per_minute: 100_000_000,
    concurrent_requests: 1_000,
    ...fields,
  });
  return id;
}

/** A fresh subscriber on `planId` with one key. */
export async function subscriberOnPlan(planId: string, label = "plan"): Promise<{ subscriberId: string; keyId: string; key: string }> {
  const sub = await admin<{ id: string }>("POST", "/admin/subscribers", { name: `${label}-${++counter}`, plan_id: planId });
  const key = await admin<{ id: string; key: string }>("POST", `/admin/subscribers/${sub.id}/keys`, { name: "k" });
  return { subscriberId: sub.id, keyId: key.id, key: key.key };
}

export async function setPrice(model: string, input: number, output: number, cachedInput: number): Promise<void> {
  await admin("PUT", "/admin/prices", { model, input_micro_usd_per_mtok: input, output_micro_usd_per_mtok: output, cached_input_micro_usd_per_mtok: cachedInput });
}

export interface LimitsJson {
  plan: { id: string; source: string; allowance_micro_usd: number };
  period: { start: string; end: string };
  spend: { period_cost_micro_usd: number; allowance_used_micro_usd: number; credit_micro_usd: number; reserved_micro_usd: number; remaining_micro_usd: number };
  limits: { requests: { limit: number; remaining: number }; tokens: { limit: number; remaining: number }; concurrency: { limit: number; in_flight: number } };
  in_flight: { request_id: string; tokens: number; cost_micro_usd: number }[];
}

/** The live counters of a subscriber's limits Durable Object. */
export function limitsOf(subscriberId: string): Promise<LimitsJson> {
  return admin<LimitsJson>("GET", `/admin/subscribers/${subscriberId}/limits`);
}

/** Polls the live counters until `done` holds (settlement runs after the response). */
export async function limitsWhen(subscriberId: string, done: (l: LimitsJson) => boolean, timeoutMs = 10_000): Promise<LimitsJson> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const l = await limitsOf(subscriberId);
    if (done(l) || Date.now() > until) return l;
    await new Promise((r) => setTimeout(r, 50));
  }
}
