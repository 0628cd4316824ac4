/** The per-task budgets' D1 side: model prices and each session's settled spend. */
import { and, eq, sql } from "drizzle-orm";
import { database } from "../db/client";
import { sessionSpend } from "../db/schema";
import type { BudgetStore } from "../pipeline/contracts";
import { listPrices } from "./pricing";

export function d1BudgetStore(d1: D1Database, clock: () => number = Date.now): BudgetStore {
  return {
    prices: () => listPrices(d1),

    async sessionSpent(subscriberId, sessionKey) {
      const row = await database(d1)
        .select({ spent: sessionSpend.spentMicroUsd })
        .from(sessionSpend)
        .where(and(eq(sessionSpend.subscriberId, subscriberId), eq(sessionSpend.sessionKey, sessionKey)))
        .get();
      return row?.spent ?? 0;
    },

    async addSessionSpend(subscriberId, sessionKey, cost) {
      const now = clock();
      await database(d1)
        .insert(sessionSpend)
        .values({ subscriberId, sessionKey, spentMicroUsd: cost, requests: 1, updatedAt: now })
        .onConflictDoUpdate({
          target: [sessionSpend.subscriberId, sessionSpend.sessionKey],
          set: { spentMicroUsd: sql`${sessionSpend.spentMicroUsd} + ${cost}`, requests: sql`${sessionSpend.requests} + 1`, updatedAt: now },
        });
    },
  };
}
