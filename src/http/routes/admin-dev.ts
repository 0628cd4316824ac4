/**
 * Dev-only fault injection and inspection for the soak suite (src/dev/faults.ts, docs/soak.md),
 * behind the admin token AND the dev switch (ENVIRONMENT=development with DEV_FAULT_INJECTION=true).
 * With the switch off every path here is the ordinary 404 of an unknown route.
 *   GET  /admin/dev/faults                          armed and injected faults, redeliveries seen again
 *   POST /admin/dev/faults {usage_d1_write?, usage_redelivery?, usage_queue_late_copy?}   arm (add) counts
 *   POST /admin/dev/restart/limits/:subscriberId    restart that subscriber's SubscriberLimits object
 *   POST /admin/dev/restart/miner-health/:model     restart that model's MinerHealth object
 *   GET  /admin/dev/usage-archive?cursor=&limit=    the R2 usage archive, object by object (key, batch, NDJSON)
 */
import type { Hono } from "hono";
import { limitsStub } from "../../billing/limits-do";
import { armFaults, devFaultsEnabled, FAULT_KINDS, faultReport, type FaultKind } from "../../dev/faults";
import { notFound } from "../../errors";
import type { AppEnv } from "../app-env";
import { readJsonObject } from "../body";
import { fail } from "../../validation/fields";
import { intParam } from "./query-params";

export function registerAdminDevRoutes(app: Hono<AppEnv>): void {
  // The admin token is checked first (admin.ts); then the switch. Off: the same 404 as any unknown route.
  app.use("/admin/dev/*", async (c, next) => {
    if (!devFaultsEnabled(c.env)) throw notFound(`Unknown route: ${c.req.method} ${new URL(c.req.url).pathname}`, "unknown_route");
    await next();
  });

  app.get("/admin/dev/faults", (c) => c.json(faultReport()));

  app.post("/admin/dev/faults", async (c) => {
    const body = await readJsonObject(c.req.raw, c.var.config.maxBodyBytes);
    const counts: Partial<Record<FaultKind, number>> = {};
    for (const kind of FAULT_KINDS) {
      const v = body[kind];
      if (v === undefined) continue;
      if (typeof v !== "number" || !Number.isInteger(v) || Math.abs(v) > 10_000) fail(kind, "an integer count", v);
      counts[kind] = v;
    }
    return c.json(armFaults(counts));
  });

  app.post("/admin/dev/restart/limits/:id", async (c) => c.json(await restarted(limitsStub(c.env, c.req.param("id")).devRestart())));

  app.post("/admin/dev/restart/miner-health/:model{.+}", async (c) => {
    const stub = c.env.MINER_HEALTH.get(c.env.MINER_HEALTH.idFromName(c.req.param("model")));
    return c.json(await restarted(stub.devRestart()));
  });

  app.get("/admin/dev/usage-archive", async (c) => {
    const limit = intParam(c.req.query("limit"), "limit", 1, 500) ?? 100;
    const page = await c.env.USAGE_ARCHIVE.list({ prefix: "usage/", cursor: c.req.query("cursor") || undefined, limit });
    const objects = await Promise.all(
      page.objects.map(async (o) => {
        const object = await c.env.USAGE_ARCHIVE.get(o.key);
        return { key: o.key, batch_id: object?.customMetadata?.batchId ?? null, ndjson: object ? await object.text() : null };
      }),
    );
    return c.json({ object: "list", data: objects, cursor: page.truncated ? page.cursor : null });
  });
}

/**
 * `ctx.abort()` inside the object makes the call that asked for it fail (the object is gone); that
 * failure is the restart. A call that returns normally means nothing restarted.
 */
async function restarted(call: Promise<"off" | "restarting">): Promise<{ restarted: boolean; detail: string }> {
  try {
    return { restarted: false, detail: `the object answered "${await call}" without restarting` };
  } catch (err) {
    return { restarted: true, detail: err instanceof Error ? err.message : String(err) };
  }
}
