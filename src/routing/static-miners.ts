/**
 * The static miner source: miners registered through the admin API (dev subnets, private
 * deployments, and the source routing used before chain discovery). Chain-synced rows are
 * owned by the metagraph sync and are not touched here.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../db/client";
import { miners } from "../db/schema";
import { invalidRequest } from "../errors";
import { invalidateMinerSnapshot } from "./directory";

export interface StaticMiner {
  hotkey: string;
  uid: number;
  axon_url: string;
  models: string[];
}

export function parseStaticMiner(v: unknown, param: string): StaticMiner {
  const o = (v ?? {}) as Record<string, unknown>;
  if (typeof o.hotkey !== "string" || o.hotkey === "") throw invalidRequest(`'${param}.hotkey' must be an SS58 address.`, `${param}.hotkey`);
  if (typeof o.uid !== "number" || !Number.isInteger(o.uid) || o.uid < 0) throw invalidRequest(`'${param}.uid' must be a non-negative integer.`, `${param}.uid`);
  if (typeof o.axon_url !== "string" || !/^https?:\/\/[^\s/]+$/.test(o.axon_url.replace(/\/+$/, ""))) {
    throw invalidRequest(`'${param}.axon_url' must be an http(s) origin like http://127.0.0.2:8091.`, `${param}.axon_url`);
  }
  if (!Array.isArray(o.models) || !o.models.every((m) => typeof m === "string" && m !== "")) {
    throw invalidRequest(`'${param}.models' must be an array of model ids.`, `${param}.models`);
  }
  return { hotkey: o.hotkey, uid: o.uid, axon_url: o.axon_url.replace(/\/+$/, ""), models: o.models as string[] };
}

export async function upsertStaticMiners(d1: D1Database, list: readonly StaticMiner[], now = Date.now()): Promise<void> {
  const db = database(d1);
  const statements = list.map((m) =>
    db
      .insert(miners)
      .values({ hotkey: m.hotkey, uid: m.uid, axonUrl: m.axon_url, models: JSON.stringify(m.models), source: "static", active: true, updatedAt: now })
      .onConflictDoUpdate({
        target: miners.hotkey,
        set: { uid: m.uid, axonUrl: m.axon_url, models: JSON.stringify(m.models), source: "static", active: true, updatedAt: now },
      }),
  );
  const [first, ...rest] = statements;
  if (first) await db.batch([first, ...rest]);
  invalidateMinerSnapshot();
}

export async function removeStaticMiner(d1: D1Database, hotkey: string): Promise<boolean> {
  const res = await database(d1).delete(miners).where(and(eq(miners.hotkey, hotkey), eq(miners.source, "static"))).run();
  invalidateMinerSnapshot();
  return res.meta.changes > 0;
}

export async function listMiners(d1: D1Database) {
  const rows = await database(d1).select().from(miners).orderBy(miners.uid).all();
  return rows.map((r) => ({ ...r, models: JSON.parse(r.models) as unknown }));
}
