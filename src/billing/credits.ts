/**
 * Credit an operator grants a subscriber (or takes back with a negative amount): a ledger in
 * D1. The subscriber's Durable Object adds the ledger's sum to the allowance and spends credit
 * only once the period's allowance is used up; credit does not expire.
 */
import { eq, sql } from "drizzle-orm";
import { database } from "../db/client";
import { creditGrants } from "../db/schema";
import { invalidRequest } from "../errors";
import type { JsonObject } from "../lib/json";
import { optionalString } from "../validation/fields";
import { getSubscriber } from "./subscribers";

const MAX_GRANT = 1_000_000_000_000; // $1M per grant

export interface CreditGrant {
  id: string;
  subscriberId: string;
  amountMicroUsd: number;
  note: string | null;
  createdAt: number;
}

export function parseGrant(body: JsonObject): { amountMicroUsd: number; note: string | null } {
  const v = body.amount_micro_usd;
  if (typeof v !== "number" || !Number.isInteger(v) || v === 0 || Math.abs(v) > MAX_GRANT) {
    throw invalidRequest(`'amount_micro_usd' must be a non-zero integer between -${MAX_GRANT} and ${MAX_GRANT}.`, "amount_micro_usd", "invalid_value");
  }
  return { amountMicroUsd: v, note: optionalString(body, "note") ?? null };
}

export async function grantCredit(d1: D1Database, subscriberId: string, grant: { amountMicroUsd: number; note: string | null }, now = Date.now()): Promise<CreditGrant> {
  await getSubscriber(d1, subscriberId);
  const row: CreditGrant = { id: `cr_${crypto.randomUUID().replace(/-/g, "")}`, subscriberId, ...grant, createdAt: now };
  await database(d1).insert(creditGrants).values(row);
  return row;
}

export async function creditGranted(d1: D1Database, subscriberId: string): Promise<number> {
  const row = await database(d1)
    .select({ total: sql<number>`coalesce(sum(${creditGrants.amountMicroUsd}), 0)` })
    .from(creditGrants)
    .where(eq(creditGrants.subscriberId, subscriberId))
    .get();
  return Number(row?.total ?? 0);
}
