/** GET /health: 200 once D1 answers and the miner list loads; 503 otherwise. No credentials. */
import type { Hono } from "hono";
import type { AppEnv } from "../http/app-env";
import { minerSnapshot } from "../routing/directory";

export function registerHealthRoutes(app: Hono<AppEnv>): void {
  app.get("/health", async (c) => {
    try {
      const snapshot = await minerSnapshot(c.env.DB, c.var.config.minerCacheTtlMs);
      return c.json({ status: "ok", miners: snapshot.miners.length, models: snapshot.byModel.size });
    } catch (err) {
      console.error("health check failed", err);
      return c.json({ status: "unavailable" }, 503);
    }
  });
}
