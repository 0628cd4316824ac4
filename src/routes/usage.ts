/** GET /v1/usage: the caller's own usage, totals and by model and day. */
import type { Hono } from "hono";
import { usageReport } from "../billing/usage-query";
import type { AppEnv } from "../http/app-env";
import { requireSubscriber } from "../http/middleware";
import { timeParam } from "./query-params";

export function registerUsageRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/usage", requireSubscriber(), async (c) => {
    const report = await usageReport(c.env.DB, {
      subscriberId: c.var.principal.subscriberId,
      since: timeParam(c.req.query("since"), "since"),
      until: timeParam(c.req.query("until"), "until"),
    });
    return c.json({ object: "usage", subscriber_id: c.var.principal.subscriberId, ...report });
  });
}
