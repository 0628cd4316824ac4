/**
 * Plans: what a subscriber buys (monthly allowance, per-minute limits, concurrency, models).
 * Stored in D1 and edited through the admin API; enforced by the subscriber's Durable Object,
 * which re-reads its plan at most PROFILE_TTL_MS after a change (at once for the subscriber an
 * admin or webhook change names).
 */
import { eq } from "drizzle-orm";
import { database } from "../db/client";
import { plans, subscribers, type Plan } from "../db/schema";
import { GatewayError, notFound } from "../errors";
import type { JsonObject } from "../lib/json";
import { PLAN_INPUT, PLAN_PATCH } from "../validation/bodies/admin";
import { parseBody } from "../validation/check";

export type { Plan } from "../db/schema";

/** The part of a plan the limiter needs (also what crosses into the Durable Object). */
export interface PlanLimits {
  id: string;
  name: string;
  allowanceMicroUsd: number;
  requestsPerMinute: number;
  tokensPerMinute: number;
  concurrentRequests: number;
  /** Allowed model ids (a trailing `*` matches a prefix); null = all. */
  models: string[] | null;
}

export function planLimits(p: Plan): PlanLimits {
  return {
    id: p.id,
    name: p.name,
    allowanceMicroUsd: p.allowanceMicroUsd,
    requestsPerMinute: p.requestsPerMinute,
    tokensPerMinute: p.tokensPerMinute,
    concurrentRequests: p.concurrentRequests,
    models: parseModels(p.models),
  };
}

export function parseModels(text: string | null): string[] | null {
  if (text === null) return null;
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v.filter((m): m is string => typeof m === "string") : null;
}

export function modelAllowed(models: readonly string[] | null, model: string): boolean {
  if (models === null) return true;
  return models.some((m) => (m.endsWith("*") ? model.startsWith(m.slice(0, -1)) : m === model));
}

/** The API shape of a plan. */
export function planJson(p: Plan) {
  return {
    id: p.id,
    object: "plan",
    name: p.name,
    price_micro_usd: p.priceMicroUsd,
    allowance_micro_usd: p.allowanceMicroUsd,
    requests_per_minute: p.requestsPerMinute,
    tokens_per_minute: p.tokensPerMinute,
    concurrent_requests: p.concurrentRequests,
    models: parseModels(p.models),
    stripe_price_id: p.stripePriceId,
    created_at: p.createdAt,
    updated_at: p.updatedAt,
  };
}

// ---- admin input ----

type PlanFields = Omit<Plan, "id" | "createdAt" | "updatedAt">;

/**
 * The plan fields present in an admin body (or the console's plan form), by their one definition
 * (src/validation/bodies/admin.ts): PLAN_INPUT requires every limit (creation), PLAN_PATCH any.
 */
export function parsePlanFields(body: JsonObject, complete: boolean): Partial<PlanFields> {
  const b = complete ? parseBody(PLAN_INPUT, body) : parseBody(PLAN_PATCH, body);
  const out: Partial<PlanFields> = {};
  if (b.name != null) out.name = b.name;
  if (b.price_micro_usd !== undefined) out.priceMicroUsd = b.price_micro_usd;
  if (b.allowance_micro_usd !== undefined) out.allowanceMicroUsd = b.allowance_micro_usd;
  if (b.requests_per_minute !== undefined) out.requestsPerMinute = b.requests_per_minute;
  if (b.tokens_per_minute !== undefined) out.tokensPerMinute = b.tokens_per_minute;
  if (b.concurrent_requests !== undefined) out.concurrentRequests = b.concurrent_requests;
  if (b.models !== undefined) out.models = b.models === null ? null : JSON.stringify(b.models);
  if (b.stripe_price_id !== undefined) out.stripePriceId = b.stripe_price_id;
  return out;
}

function conflictOn(err: unknown): never {
  if (String(err).includes("UNIQUE")) {
    throw new GatewayError(409, "invalid_request_error", "conflict", "Another plan already uses this id or stripe_price_id.", "stripe_price_id");
  }
  throw err;
}

// ---- D1 ----

export async function listPlans(d1: D1Database): Promise<Plan[]> {
  return database(d1).select().from(plans).orderBy(plans.priceMicroUsd, plans.id).all();
}

export async function getPlan(d1: D1Database, id: string): Promise<Plan> {
  const row = await database(d1).select().from(plans).where(eq(plans.id, id)).get();
  if (!row) throw notFound(`No plan '${id}'.`, "plan_not_found", "plan_id");
  return row;
}

export async function createPlan(d1: D1Database, body: JsonObject, now = Date.now()): Promise<Plan> {
  const id = parseBody(PLAN_INPUT, body).id;
  const f = parsePlanFields(body, true) as PlanFields;
  const existing = await database(d1).select({ id: plans.id }).from(plans).where(eq(plans.id, id)).get();
  if (existing) throw new GatewayError(409, "invalid_request_error", "conflict", `A plan '${id}' already exists; PATCH it instead.`, "id");
  try {
    await database(d1)
      .insert(plans)
      .values({ ...f, id, priceMicroUsd: f.priceMicroUsd ?? 0, models: f.models ?? null, stripePriceId: f.stripePriceId ?? null, createdAt: now, updatedAt: now });
  } catch (err) {
    conflictOn(err);
  }
  return getPlan(d1, id);
}

export async function updatePlan(d1: D1Database, id: string, body: JsonObject, now = Date.now()): Promise<Plan> {
  await getPlan(d1, id);
  const f = parsePlanFields(body, false);
  try {
    await database(d1).update(plans).set({ ...f, updatedAt: now }).where(eq(plans.id, id));
  } catch (err) {
    conflictOn(err);
  }
  return getPlan(d1, id);
}

/** Puts a subscriber on a plan (null: back to DEFAULT_PLAN_ID). */
export async function setSubscriberPlan(d1: D1Database, subscriberId: string, planId: string | null): Promise<void> {
  if (planId !== null) await getPlan(d1, planId);
  const res = await database(d1).update(subscribers).set({ planId }).where(eq(subscribers.id, subscriberId)).run();
  if (res.meta.changes === 0) throw notFound(`No subscriber '${subscriberId}'.`, "subscriber_not_found");
}
