// Writes a sync's outcome to the `miners` table in ONE D1 batch (D1 has no interactive
// transactions; a batch is atomic), so routing never sees a half-applied metagraph.
import type { D1Database } from "@cloudflare/workers-types";
import { and, eq, sql } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { miners } from "../db/schema";

export type ChainMinerRow = {
  hotkey: string;
  coldkey: string;
  uid: number;
  netuid: number;
  axonUrl: string;
  models: readonly string[];
  /** 0..1, from the metagraph: routing's prior. */
  incentive: number;
  stakeRao: bigint;
};

// D1 allows at most 100 bound parameters per statement; each row binds 9, and the conflict
// clause binds a few more (the setWhere value), so leave room for those.
const MAX_PARAMS = 100;
const PARAMS_PER_ROW = 11;
const PARAMS_PER_STATEMENT = 4;
const ROWS_PER_INSERT = Math.floor((MAX_PARAMS - PARAMS_PER_STATEMENT) / PARAMS_PER_ROW);

function chunk<T>(items: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Upserts `kept` as active chain miners and deactivates every other active chain row (deregistered,
 * axon gone, unreachable). Rows with source 'static' are never modified, even when a static row has
 * the same hotkey as a chain neuron. Returns the hotkeys that were deactivated.
 */
export async function applyChainMiners(d1: D1Database, kept: readonly ChainMinerRow[], syncedAt: number): Promise<string[]> {
  const db = drizzle(d1);
  const upserts = chunk(kept, ROWS_PER_INSERT).map((rows) =>
    db
      .insert(miners)
      .values(
        rows.map((r) => ({
          hotkey: r.hotkey,
          uid: r.uid,
          netuid: r.netuid,
          coldkey: r.coldkey,
          axonUrl: r.axonUrl,
          models: JSON.stringify(r.models),
          source: "chain",
          active: true,
          incentive: r.incentive,
          stakeRao: r.stakeRao.toString(),
          updatedAt: syncedAt,
        })),
      )
      .onConflictDoUpdate({
        target: miners.hotkey,
        set: {
          uid: sql`excluded.uid`,
          netuid: sql`excluded.netuid`,
          coldkey: sql`excluded.coldkey`,
          axonUrl: sql`excluded.axon_url`,
          models: sql`excluded.models`,
          active: sql`excluded.active`,
          incentive: sql`excluded.incentive`,
          stakeRao: sql`excluded.stake_rao`,
          updatedAt: sql`excluded.updated_at`,
        },
        setWhere: eq(miners.source, "chain"),
      }),
  );
  // The kept set travels as ONE JSON parameter (json_each), so the statement stays within D1's
  // parameter limit however large the subnet is.
  const keptJson = JSON.stringify(kept.map((r) => r.hotkey));
  const deactivate = db
    .update(miners)
    .set({ active: false, updatedAt: syncedAt })
    .where(
      and(
        eq(miners.source, "chain"),
        eq(miners.active, true),
        sql`${miners.hotkey} NOT IN (SELECT value FROM json_each(${keptJson}))`,
      ),
    )
    .returning({ hotkey: miners.hotkey });

  const results = await db.batch([deactivate, ...upserts]);
  return results[0].map((r) => r.hotkey).sort();
}
