/** GET /v1/models and /v1/models/:id: the models live miners serve, in OpenAI's list shape. */
import type { Hono } from "hono";
import { modelNotFound } from "../../errors";
import type { AppEnv } from "../app-env";
import { requireSubscriber } from "../middleware";
import { minerSnapshot, type MinerSnapshot } from "../../routing/directory";

const OWNER = "bittensor";

function modelObject(id: string, snapshot: MinerSnapshot) {
  return { id, object: "model" as const, created: Math.floor(snapshot.loadedAt / 1000), owned_by: OWNER, miners: snapshot.byModel.get(id)?.length ?? 0 };
}

export function registerModelRoutes(app: Hono<AppEnv>): void {
  const auth = requireSubscriber();
  app.get("/v1/models", auth, async (c) => {
    const snapshot = await minerSnapshot(c.env.DB, c.var.config.minerCacheTtlMs, Date.now(), (p) => c.executionCtx.waitUntil(p));
    const ids = [...snapshot.byModel.keys()].sort();
    return c.json({ object: "list", data: ids.map((id) => modelObject(id, snapshot)) });
  });
  app.get("/v1/models/:id{.+}", auth, async (c) => {
    const id = c.req.param("id");
    const snapshot = await minerSnapshot(c.env.DB, c.var.config.minerCacheTtlMs, Date.now(), (p) => c.executionCtx.waitUntil(p));
    if (!snapshot.byModel.has(id)) throw modelNotFound(id);
    return c.json(modelObject(id, snapshot));
  });
}
