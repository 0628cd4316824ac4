/**
 * Settlement transparency and control:
 *   GET  /v1/settlements?netuid=&before=&limit=   public, no credentials: epochs newest first, each
 *        miner's verified work, quality, weight and payout, and the extrinsic hashes (sealed while
 *        commit-reveal still hides the weights)
 *   POST /admin/settlements/run                   run one settlement now, in the chain Worker (RPC)
 */
import type { Hono } from "hono";
import type { AppEnv } from "../app-env";
import { requireAdmin } from "../middleware";
import { listSettlements } from "../../settlements/read";
import { callChain } from "./chain-calls";
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
    const outcome = await callChain(c.env, async (chain) => await chain.settle());
    return c.json(outcome.report);
  });
}
