/**
 * The static miner source: miners registered through the admin API (dev subnets, private
 * deployments, and the source routing used before chain discovery). Chain-synced rows are
 * owned by the metagraph sync and are not touched here.
 */
import { and, eq } from "drizzle-orm";
import { database } from "../db/client";
import { miners } from "../db/schema";
import { STATIC_MINER } from "../validation/bodies/admin";
import { checkValue } from "../validation/check";
import { invalidateMinerSnapshot } from "./directory";

export interface StaticMiner {
  hotkey: string;
  uid: number;
  axon_url: string;
  models: string[];
}

/** One miner of a PUT /admin/miners body (`param` is its place, `miners[3]`), by its one definition (src/validation/bodies/admin.ts). */
export function parseStaticMiner(v: unknown, param: string): StaticMiner {
  checkValue(STATIC_MINER, v, param);
  // Checked just above against STATIC_MINER, whose shape StaticMiner is.
  return normaliseStaticMiner(v as StaticMiner);
}

/** A checked miner with its axon URL's trailing slashes dropped. */
export function normaliseStaticMiner(m: { hotkey: string; uid: number; axon_url: string; models: string[] }): StaticMiner {
  return { hotkey: m.hotkey, uid: m.uid, axon_url: m.axon_url.replace(/\/+$/, ""), models: m.models };
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
