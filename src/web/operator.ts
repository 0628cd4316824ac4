/**
 * What the operator console shows: miners per model with score components, circuit state and
 * traffic share (the same computation as GET /admin/routing), chain sync state, subscribers, and
 * blocking. Plans and settlements come from their own modules.
 */
import { desc, eq, sql } from "drizzle-orm";
import { database } from "../db/client";
import { chainSync, subscribers } from "../db/schema";
import type { WebWorkerEnv } from "../env";
import { minerSnapshot } from "../routing/directory";
import { pullHealth } from "../routing/health/sync";
import { scoreCandidates, type ScoredMiner } from "../routing/select";
import { endSubscriberSessions } from "./sessions";

export interface ModelMiners {
  model: string;
  miners: (ScoredMiner & { share: number })[];
}

export async function minersByModel(env: Pick<WebWorkerEnv, "DB" | "MINER_HEALTH">, cacheTtlMs: number, now = Date.now()): Promise<ModelMiners[]> {
  const snapshot = await minerSnapshot(env.DB, cacheTtlMs, now);
  const models = [...snapshot.byModel.keys()].sort();
  return Promise.all(
    models.map(async (model) => {
      await pullHealth(env, model);
      const scored = scoreCandidates(snapshot.byModel.get(model) ?? [], model, "balanced", now);
      const total = scored.reduce((s, m) => s + m.weight, 0);
      return { model, miners: scored.map((m) => ({ ...m, share: total > 0 ? m.weight / total : 0 })).sort((a, b) => b.share - a.share) };
    }),
  );
}

export async function chainSyncState(d1: D1Database) {
  return database(d1).select().from(chainSync).orderBy(chainSync.netuid).all();
}

export async function listSubscribers(d1: D1Database, limit = 200) {
  return database(d1)
    .select({
      id: subscribers.id,
      name: subscribers.name,
      email: subscribers.email,
      planId: subscribers.planId,
      createdAt: subscribers.createdAt,
      disabledAt: subscribers.disabledAt,
      keys: sql<number>`(select count(*) from api_keys k where k.subscriber_id = ${subscribers.id} and k.revoked_at is null)`,
    })
    .from(subscribers)
    .orderBy(desc(subscribers.createdAt))
    .limit(limit)
    .all();
}

/** Blocks (keys refused, web sessions ended, sign-in refused) or unblocks a subscriber. */
export async function setBlocked(d1: D1Database, subscriberId: string, blocked: boolean, now = Date.now()): Promise<boolean> {
  const res = await database(d1).update(subscribers).set({ disabledAt: blocked ? now : null }).where(eq(subscribers.id, subscriberId)).run();
  if (blocked) await endSubscriberSessions(d1, subscriberId, now);
  return res.meta.changes > 0;
}
