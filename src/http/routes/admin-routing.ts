/**
 * Routing visibility and control, behind the admin token:
 *   GET  /admin/routing?model=M&hint=latency   every miner serving M with its measurements,
 *                                             score components and circuit state
 *   POST /admin/canaries/run                   run the canary probes now
 */
import type { Hono } from "hono";
import { invalidRequest, modelNotFound } from "../../errors";
import type { AppEnv } from "../app-env";
import { runCanaries } from "../../routing/canary";
import { minerSnapshot } from "../../routing/directory";
import { pullHealth } from "../../routing/health/sync";
import type { RouteHint } from "../../routing/score";
import { scoreCandidates } from "../../routing/select";

export function registerAdminRoutingRoutes(app: Hono<AppEnv>): void {
  app.get("/admin/routing", async (c) => {
    const model = c.req.query("model");
    if (!model) throw invalidRequest("Query parameter 'model' is required.", "model", "missing_required_parameter");
    const hint = (c.req.query("hint") ?? "balanced") as RouteHint;
    if (!["balanced", "latency", "throughput"].includes(hint)) throw invalidRequest("'hint' must be balanced, latency or throughput.", "hint");
    const snapshot = await minerSnapshot(c.env.DB, c.var.config.minerCacheTtlMs);
    const serving = snapshot.byModel.get(model);
    if (!serving) throw modelNotFound(model);
    await pullHealth(c.env, model);
    const scored = scoreCandidates(serving, model, hint, Date.now());
    const total = scored.reduce((sum, s) => sum + s.weight, 0);
    return c.json({
      object: "list",
      model,
      hint,
      data: scored
        .sort((a, b) => b.weight - a.weight)
        .map((s) => ({
          hotkey: s.miner.hotkey,
          uid: s.miner.uid,
          axon_url: s.miner.axonUrl,
          circuit: s.circuit,
          share: total > 0 ? s.weight / total : 0,
          score: s.components,
          stats: s.stats,
          chain: { incentive: s.miner.incentive, stake_rao: s.miner.stakeRao.toString() },
        })),
    });
  });

  app.post("/admin/canaries/run", async (c) => {
    const results = await runCanaries(c.env);
    return c.json({ object: "list", passed: results.filter((r) => r.pass).length, failed: results.filter((r) => !r.pass).length, data: results });
  });
}
