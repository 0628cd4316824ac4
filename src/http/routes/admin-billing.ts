/**
 * The admin API for plans, prices and what a subscriber may spend, behind ADMIN_TOKEN:
 *   GET    /admin/plans | POST /admin/plans {id, name, allowance_micro_usd, requests_per_minute, ...}
 *   GET    /admin/plans/:id | PATCH /admin/plans/:id {any plan field}
 *   GET    /admin/prices | PUT /admin/prices {model, input_/output_/cached_input_micro_usd_per_mtok}
 *   DELETE /admin/prices/:model               (the model falls back to the '*' price)
 *   PUT    /admin/subscribers/:id/plan {plan_id | null}
 *   POST   /admin/subscribers/:id/credits {amount_micro_usd, note?}
 *   GET    /admin/subscribers/:id/limits      live counters from the subscriber's Durable Object
 *
 * Changes to one subscriber take effect at once (its Durable Object re-reads D1); plan and
 * price edits reach every subscriber within PROFILE_TTL_MS.
 */
import type { Hono } from "hono";
import { creditGranted, grantCredit, parseGrant } from "../../billing/credits";
import { limitsStub } from "../../billing/limits-do";
import { createPlan, getPlan, listPlans, planJson, setSubscriberPlan, updatePlan } from "../../billing/plans";
import { deletePrice, listPrices, parsePriceInput, priceJson, upsertPrice } from "../../billing/pricing";
import { reportJson } from "../../billing/report-json";
import { getSubscriber } from "../../billing/subscribers";
import { notFound } from "../../errors";
import type { AppEnv } from "../app-env";
import { readJsonObject } from "../body";
import { requireAdmin } from "../middleware";
import { fail } from "../../validation/fields";

export function registerAdminBillingRoutes(app: Hono<AppEnv>): void {
  const admin = requireAdmin();

  app.get("/admin/plans", admin, async (c) => c.json({ object: "list", data: (await listPlans(c.env.DB)).map(planJson) }));

  app.post("/admin/plans", admin, async (c) => {
    const plan = await createPlan(c.env.DB, await readJsonObject(c.req.raw, c.var.config.maxBodyBytes));
    return c.json(planJson(plan), 201);
  });

  app.get("/admin/plans/:id", admin, async (c) => c.json(planJson(await getPlan(c.env.DB, c.req.param("id")))));

  app.patch("/admin/plans/:id", admin, async (c) => {
    const plan = await updatePlan(c.env.DB, c.req.param("id"), await readJsonObject(c.req.raw, c.var.config.maxBodyBytes));
    return c.json(planJson(plan));
  });

  app.get("/admin/prices", admin, async (c) => c.json({ object: "list", data: (await listPrices(c.env.DB)).map(priceJson) }));

  app.put("/admin/prices", admin, async (c) => {
    const price = parsePriceInput(await readJsonObject(c.req.raw, c.var.config.maxBodyBytes));
    await upsertPrice(c.env.DB, price);
    return c.json(priceJson(price));
  });

  // Model ids contain '/': the parameter takes the rest of the path (Hono has percent-decoded it).
  app.delete("/admin/prices/:model{.+}", admin, async (c) => {
    const model = c.req.param("model");
    if (!(await deletePrice(c.env.DB, model))) throw notFound(`No price for '${model}'.`, "price_not_found", "model");
    return c.json({ model, deleted: true });
  });

  app.put("/admin/subscribers/:id/plan", admin, async (c) => {
    const body = await readJsonObject(c.req.raw, c.var.config.maxBodyBytes);
    const planId = body.plan_id;
    if (planId !== null && typeof planId !== "string") fail("plan_id", "a plan id, or null for the default plan", planId);
    const id = c.req.param("id");
    await setSubscriberPlan(c.env.DB, id, planId);
    const stub = limitsStub(c.env, id);
    await stub.refresh();
    return c.json(reportJson(await stub.report(id), { leases: false }));
  });

  app.post("/admin/subscribers/:id/credits", admin, async (c) => {
    const id = c.req.param("id");
    const grant = await grantCredit(c.env.DB, id, parseGrant(await readJsonObject(c.req.raw, c.var.config.maxBodyBytes)));
    await limitsStub(c.env, id).refresh();
    return c.json(
      { id: grant.id, subscriber_id: id, amount_micro_usd: grant.amountMicroUsd, note: grant.note, credit_granted_micro_usd: await creditGranted(c.env.DB, id) },
      201,
    );
  });

  app.get("/admin/subscribers/:id/limits", admin, async (c) => {
    const id = c.req.param("id");
    await getSubscriber(c.env.DB, id);
    return c.json({ subscriber_id: id, ...reportJson(await limitsStub(c.env, id).report(id), { leases: true }) });
  });
}
