/**
 * Prices per model and the cost of one request, in integer micro-USD (never floats).
 *
 * Which tokens are billed: the gateway counts prompt and delivered completion tokens itself
 * (src/lib/tokens, an estimate of the model's tokenizer) and the miner reports its own counts.
 * The miner's tokenizer is the real one, so its count is billed, but never more than the
 * gateway's count plus REPORT_TOLERANCE_PERCENT: a miner that over-reports cannot overcharge
 * the subscriber, and an honest tokenizer difference of a few percent is still billed right.
 * Without a report (a cancelled or cut stream), the gateway's count of what was delivered is
 * billed. A request that failed before delivering anything costs nothing.
 */
import { eq } from "drizzle-orm";
import { database } from "../db/client";
import { modelPrices, type ModelPriceRow } from "../db/schema";
import { invalidRequest } from "../errors";
import type { JsonObject } from "../lib/json";
import { PRICE_INPUT } from "../validation/bodies/admin";
import { parseBody } from "../validation/check";
import type { UsageEvent } from "./usage-event";

/** Micro-USD per million tokens. */
export interface ModelPrice {
  model: string;
  inputMicroUsdPerMtok: number;
  outputMicroUsdPerMtok: number;
  cachedInputMicroUsdPerMtok: number;
}

export interface BillableTokens {
  /** Prompt tokens, cached ones included. */
  prompt: number;
  /** The part of `prompt` the miner served from its cache (cheaper). */
  cached: number;
  completion: number;
}

/** The price row that applies to every model without its own. */
export const DEFAULT_PRICE_MODEL = "*";

/** How far above the gateway's own count a miner's reported count is still believed. */
export const REPORT_TOLERANCE_PERCENT = 10;

/** Ceiling of the largest count a miner may report for `counted` tokens. */
export function reportCap(counted: number): number {
  return Math.floor((counted * (100 + REPORT_TOLERANCE_PERCENT) + 99) / 100);
}

function trusted(reported: number | null, counted: number): number {
  return reported === null ? counted : Math.min(reported, reportCap(counted));
}

export type BillingInput = Pick<
  UsageEvent,
  "status" | "promptTokensReported" | "promptTokensCounted" | "completionTokensReported" | "completionTokensCounted" | "cachedPromptTokensReported"
>;

/** Statuses that are nobody's work to pay for: the request's fault on every miner, or the gateway's own. */
const NEVER_BILLED: ReadonlySet<BillingInput["status"]> = new Set(["request_error", "internal_error"]);

export function billableTokens(e: BillingInput): BillableTokens {
  if (NEVER_BILLED.has(e.status) || (e.status !== "ok" && e.completionTokensCounted === 0)) return { prompt: 0, cached: 0, completion: 0 };
  const prompt = trusted(e.promptTokensReported, e.promptTokensCounted);
  const completion = trusted(e.completionTokensReported, e.completionTokensCounted);
  const cached = Math.min(e.cachedPromptTokensReported ?? 0, prompt);
  return { prompt, cached, completion };
}

/** Cost in micro-USD, rounded up to the next whole micro-USD (at most 1 micro-USD per request). */
export function costMicroUsd(price: ModelPrice, t: BillableTokens): number {
  const micro =
    BigInt(t.prompt - t.cached) * BigInt(price.inputMicroUsdPerMtok) +
    BigInt(t.cached) * BigInt(price.cachedInputMicroUsdPerMtok) +
    BigInt(t.completion) * BigInt(price.outputMicroUsdPerMtok);
  return Number((micro + 999_999n) / 1_000_000n);
}

/** The price of `model`: its own row, else the default row, else free (logged: a misconfiguration). */
export function priceFor(prices: readonly ModelPrice[], model: string): ModelPrice {
  const own = prices.find((p) => p.model === model);
  if (own) return own;
  const fallback = prices.find((p) => p.model === DEFAULT_PRICE_MODEL);
  if (fallback) return fallback;
  console.error(`no price for '${model}' and no default price row: the request is free`);
  return { model, inputMicroUsdPerMtok: 0, outputMicroUsdPerMtok: 0, cachedInputMicroUsdPerMtok: 0 };
}

/** Exact decimal USD text of a micro-USD amount: 1234567 -> "1.234567". */
export function formatUsd(micro: number): string {
  const sign = micro < 0 ? "-" : "";
  const abs = Math.abs(micro);
  return `${sign}${Math.floor(abs / 1_000_000)}.${String(abs % 1_000_000).padStart(6, "0")}`;
}

/** USD as a JSON number (for `usage.cost`, the field OpenAI-compatible clients read). */
export function usdNumber(micro: number): number {
  return Number(formatUsd(micro));
}

// ---- D1 ----

export function toModelPrice(r: ModelPriceRow): ModelPrice {
  return {
    model: r.model,
    inputMicroUsdPerMtok: r.inputMicroUsdPerMtok,
    outputMicroUsdPerMtok: r.outputMicroUsdPerMtok,
    cachedInputMicroUsdPerMtok: r.cachedInputMicroUsdPerMtok,
  };
}

export async function listPrices(d1: D1Database): Promise<ModelPrice[]> {
  const rows = await database(d1).select().from(modelPrices).orderBy(modelPrices.model).all();
  return rows.map(toModelPrice);
}

/** A PUT /admin/prices body (or the console's price form), by its one definition (src/validation/bodies/admin.ts). */
export function parsePriceInput(body: JsonObject): ModelPrice {
  const b = parseBody(PRICE_INPUT, body);
  return {
    model: b.model,
    inputMicroUsdPerMtok: b.input_micro_usd_per_mtok,
    outputMicroUsdPerMtok: b.output_micro_usd_per_mtok,
    cachedInputMicroUsdPerMtok: b.cached_input_micro_usd_per_mtok,
  };
}

export async function upsertPrice(d1: D1Database, p: ModelPrice, now = Date.now()): Promise<void> {
  const set = {
    inputMicroUsdPerMtok: p.inputMicroUsdPerMtok,
    outputMicroUsdPerMtok: p.outputMicroUsdPerMtok,
    cachedInputMicroUsdPerMtok: p.cachedInputMicroUsdPerMtok,
    updatedAt: now,
  };
  await database(d1).insert(modelPrices).values({ model: p.model, ...set }).onConflictDoUpdate({ target: modelPrices.model, set });
}

/** Deletes a model's own price (it falls back to the default). The default row cannot be deleted. */
export async function deletePrice(d1: D1Database, model: string): Promise<boolean> {
  if (model === DEFAULT_PRICE_MODEL) throw invalidRequest("The default price '*' can be changed but not deleted.", "model", "invalid_value");
  const res = await database(d1).delete(modelPrices).where(eq(modelPrices.model, model)).run();
  return res.meta.changes > 0;
}

/** The API shape of a price (snake_case, like the admin request bodies). */
export function priceJson(p: ModelPrice) {
  return {
    model: p.model,
    input_micro_usd_per_mtok: p.inputMicroUsdPerMtok,
    output_micro_usd_per_mtok: p.outputMicroUsdPerMtok,
    cached_input_micro_usd_per_mtok: p.cachedInputMicroUsdPerMtok,
  };
}
