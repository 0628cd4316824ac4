/**
 * Settlement transparency and control:
 *   GET  /v1/settlements?netuid=&before=&limit=   public, no credentials: epochs newest first, each
 *        miner's verified work, quality, weight and payout, and the extrinsic hashes (sealed while
 *        commit-reveal still hides the weights)
 *   POST /admin/settlements/run                   run one settlement now, in the chain Worker
 */
import type { Hono } from "hono";
import { listSettlements } from "../chain/settlement/records";
import { GatewayError } from "../errors";
import type { AppEnv } from "../http/app-env";
import { requireAdmin } from "../http/middleware";
import { intParam } from "./query-params";

export function registerSettlementRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/settlements", async (c) => {
    const page = await listSettlements(c.env.DB, {
      netuid: intParam(c.req.query("netuid"), "netuid", 0, 65535),
      before: intParam(c.req.query("before"), "before", 0, Number.MAX_SAFE_INTEGER),
      limit: intParam(c.req.query("limit"), "limit", 1, 100) ?? 20,
    });
    return c.json({ object: "list", ...page });
  });

  app.post("/admin/settlements/run", requireAdmin(), async (c) => {
    // The chain Worker answers in the gateway's error shape already; pass it through.
    if (!c.env.CHAIN) throw new GatewayError(503, "api_error", "chain_worker_unbound", "The CHAIN service binding is not configured.");
    const res = await c.env.CHAIN.fetch("https://chain.internal/settle", { method: "POST" });
    return new Response(res.body, { status: res.status, headers: { "content-type": "application/json" } });
  });
}
