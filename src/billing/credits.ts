/**
 * Credit an operator grants a subscriber (or takes back with a negative amount): a ledger in
 * D1. The subscriber's Durable Object adds the ledger's sum to the allowance and spends credit
 * only once the period's allowance is used up; credit does not expire.
 */
import { eq, sql } from "drizzle-orm";
import { database } from "../db/client";
import { creditGrants } from "../db/schema";
import type { JsonObject } from "../lib/json";
import { CREDIT_GRANT } from "../validation/bodies/admin";
import { parseBody } from "../validation/check";
import { getSubscriber } from "./subscribers";

export interface CreditGrant {
  id: string;
  subscriberId: string;
  amountMicroUsd: number;
  note: string | null;
  createdAt: number;
}

/** A POST /admin/subscribers/{id}/credits body, by its one definition (src/validation/bodies/admin.ts). */
export function parseGrant(body: JsonObject): { amountMicroUsd: number; note: string | null } {
  const b = parseBody(CREDIT_GRANT, body);
  return { amountMicroUsd: b.amount_micro_usd, note: b.note ?? null };
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
