/** GET /v1/usage: the caller's own usage, totals and by model and day, and spend against the plan. */
import type { Hono } from "hono";
import { limitsStub } from "../../billing/limits-do";
import { reportJson } from "../../billing/report-json";
import { usageReport } from "../../billing/usage-query";
import type { AppEnv } from "../app-env";
import { requireSubscriber } from "../middleware";
import { timeParam } from "./query-params";

export function registerUsageRoutes(app: Hono<AppEnv>): void {
  app.get("/v1/usage", requireSubscriber(), async (c) => {
    const subscriberId = c.var.principal.subscriberId;
    const [report, limits] = await Promise.all([
      usageReport(c.env.DB, {
        subscriberId,
        since: timeParam(c.req.query("since"), "since"),
        until: timeParam(c.req.query("until"), "until"),
      }),
      // The plan, the period's spend and what is left, live from the subscriber's Durable Object.
      limitsStub(c.env, subscriberId).report(subscriberId),
    ]);
    return c.json({ object: "usage", subscriber_id: subscriberId, ...report, ...reportJson(limits, { leases: false }) });
  });
}
