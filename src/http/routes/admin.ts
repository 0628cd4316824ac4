/**
 * The admin API, behind `Authorization: Bearer $ADMIN_TOKEN`:
 *   POST   /admin/subscribers                 {name, email?, external_id?, id?, plan_id?}
 *   GET    /admin/subscribers/:id             the subscriber and its keys (prefixes only)
 *   POST   /admin/subscribers/:id/keys        {name?, key?} -> the key, shown this once
 *   DELETE /admin/keys/:id                    revoke
 *   GET    /admin/usage?subscriber_id&since&until&rows=N   (+ `recorded`: usage batches applied, events in them;
 *                                             `operations`: this isolate's billed platform calls, src/lib/op-counts.ts)
 *   GET    /admin/miners | PUT /admin/miners {miners:[...]} | DELETE /admin/miners/:hotkey
 *   POST   /admin/chain/sync                  run the metagraph sync now (chain Worker, over RPC)
 *   POST   /admin/chain/scheduled {cron}      run what that cron trigger of the chain Worker runs
 */
import type { Hono } from "hono";
import { limitsStub } from "../../billing/limits-do";
import { getPlan, setSubscriberPlan } from "../../billing/plans";
import { createSubscriber, getSubscriber, issueKey, listKeys, revokeKey } from "../../billing/subscribers";
import { usageRecorded, usageReport, usageRows } from "../../billing/usage-query";
import { GatewayError, notFound } from "../../errors";
import { opCounts } from "../../lib/op-counts";
import type { AppEnv } from "../app-env";
import { readJsonObject } from "../body";
import { requireAdmin } from "../middleware";
import { callChain } from "./chain-calls";
import { listMiners, normaliseStaticMiner, removeStaticMiner, upsertStaticMiners } from "../../routing/static-miners";
import { CHAIN_SCHEDULED, NEW_KEY, NEW_SUBSCRIBER, PUT_MINERS } from "../../validation/bodies/admin";
import { parseBody } from "../../validation/check";
import { intParam, timeParam } from "./query-params";

export function registerAdminRoutes(app: Hono<AppEnv>): void {
  app.use("/admin/*", requireAdmin());

  app.post("/admin/subscribers", async (c) => {
    const b = parseBody(NEW_SUBSCRIBER, await readJsonObject(c.req.raw, c.var.config.maxBodyBytes));
    const planId = b.plan_id ?? undefined;
    if (planId !== undefined) await getPlan(c.env.DB, planId); // an unknown plan is refused before anything is created
    const sub = await createSubscriber(c.env.DB, { id: b.id ?? undefined, name: b.name, email: b.email ?? null, externalId: b.external_id ?? null });
    if (planId !== undefined) {
      await setSubscriberPlan(c.env.DB, sub.id, planId);
      await limitsStub(c.env, sub.id).refresh();
    }
    return c.json({ ...sub, planId: planId ?? sub.planId }, 201);
  });

  app.get("/admin/subscribers/:id", async (c) => {
    const sub = await getSubscriber(c.env.DB, c.req.param("id"));
    return c.json({ ...sub, keys: await listKeys(c.env.DB, sub.id) });
  });

  app.post("/admin/subscribers/:id/keys", async (c) => {
    const b = parseBody(NEW_KEY, await readJsonObject(c.req.raw, c.var.config.maxBodyBytes));
    const issued = await issueKey(c.env.DB, c.req.param("id"), { name: b.name ?? null, key: b.key ?? undefined });
    return c.json(issued, 201);
  });

  app.delete("/admin/keys/:id", async (c) => {
    const key = await revokeKey(c.env.DB, c.req.param("id"));
    return c.json({ id: key.id, revoked_at: key.revokedAt });
  });

  app.get("/admin/usage", async (c) => {
    const filter = {
      subscriberId: c.req.query("subscriber_id") || undefined,
      since: timeParam(c.req.query("since"), "since"),
      until: timeParam(c.req.query("until"), "until"),
    };
    const rowLimit = intParam(c.req.query("rows"), "rows", 0, 10_000) ?? 0;
    const [report, recorded] = await Promise.all([usageReport(c.env.DB, filter), usageRecorded(c.env.DB)]);
    return c.json({ object: "usage", ...report, recorded, operations: opCounts(), rows: rowLimit > 0 ? await usageRows(c.env.DB, filter, rowLimit) : undefined });
  });

  app.get("/admin/miners", async (c) => c.json({ object: "list", data: await listMiners(c.env.DB) }));

  app.put("/admin/miners", async (c) => {
    const b = parseBody(PUT_MINERS, await readJsonObject(c.req.raw, c.var.config.maxBodyBytes));
    const list = b.miners.map(normaliseStaticMiner);
    await upsertStaticMiners(c.env.DB, list);
    return c.json({ object: "list", data: await listMiners(c.env.DB) });
  });

  app.post("/admin/chain/sync", async (c) => c.json(await callChain(c.env, async (chain) => await chain.sync())));

  // What a cron trigger of the chain Worker runs, now. The dev stack calls this on the chain
  // Worker's schedule, since wrangler fires no cron triggers for a secondary Worker in dev.
  app.post("/admin/chain/scheduled", async (c) => {
    const { cron } = parseBody(CHAIN_SCHEDULED, await readJsonObject(c.req.raw, c.var.config.maxBodyBytes));
    return c.json(await callChain(c.env, async (chain) => await chain.runCron(cron)));
  });

  app.delete("/admin/miners/:hotkey", async (c) => {
    if (!(await removeStaticMiner(c.env.DB, c.req.param("hotkey")))) throw notFound("No static miner with that hotkey.", "miner_not_found");
    return c.json({ deleted: true });
  });
}
