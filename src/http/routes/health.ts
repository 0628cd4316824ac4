/**
 * GET /health, no credentials. Ready means usable: 200 once D1 answers and the miner directory
 * has at least one active miner serving a model; 503 `starting` before that (no miner seeded or
 * discovered yet), 503 `unavailable` when D1 or the directory fails. With NETUID set, it also
 * reports the metagraph's age: a stale or failing sync degrades the status (still 200) while the
 * gateway keeps serving the last synced miners.
 */
import { eq } from "drizzle-orm";
import type { Hono } from "hono";
import { database } from "../../db/client";
import { chainSync } from "../../db/schema";
import type { Env } from "../../env";
import type { AppEnv } from "../app-env";
import { minerSnapshot } from "../../routing/directory";

async function chainStatus(env: Env, netuid: number | null, staleAfterMs: number, now: number) {
  // The chain Worker syncs; the gateway only needs the subnet to look its state up.
  if (netuid === null) return null;
  const row = await database(env.DB).select().from(chainSync).where(eq(chainSync.netuid, netuid)).get();
  if (!row) return { netuid, synced: false, stale: true, last_error: null };
  const ageMs = now - row.syncedAt;
  return {
    netuid,
    synced: true,
    block: row.block,
    synced_at: new Date(row.syncedAt).toISOString(),
    age_seconds: Math.round(ageMs / 1000),
    stale: ageMs > staleAfterMs || (row.lastErrorAt !== null && row.lastErrorAt > row.syncedAt),
    miners_kept: row.kept,
    last_error: row.lastErrorAt !== null && row.lastErrorAt > row.syncedAt ? { code: row.lastErrorCode, at: new Date(row.lastErrorAt).toISOString() } : null,
  };
}

export function registerHealthRoutes(app: Hono<AppEnv>): void {
  app.get("/health", async (c) => {
    try {
      const [snapshot, chain] = await Promise.all([
        minerSnapshot(c.env.DB, c.var.config.minerCacheTtlMs, Date.now(), (p) => c.executionCtx.waitUntil(p)),
        chainStatus(c.env, c.var.config.netuid, c.var.config.metagraphStaleAfterMs, Date.now()),
      ]);
      const body = { miners: snapshot.miners.length, models: snapshot.byModel.size, chain };
      if (snapshot.miners.length === 0 || snapshot.byModel.size === 0) return c.json({ status: "starting", ...body }, 503);
      return c.json({ status: chain?.stale ? "degraded" : "ok", ...body });
    } catch (err) {
      console.error("health check failed", err);
      return c.json({ status: "unavailable" }, 503);
    }
  });
}
