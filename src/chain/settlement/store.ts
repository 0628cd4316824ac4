// Settlement records in D1 (drizzle). Writes that must land together go in one batch (D1 has no
// interactive transactions; a batch is atomic). No @polkadot import here: the gateway Worker reads
// these tables too (records.ts).
import type { D1Database } from "@cloudflare/workers-types";
import { and, asc, desc, eq, inArray, lt, or } from "drizzle-orm";
import { drizzle, type DrizzleD1Database } from "drizzle-orm/d1";
import {
  settlementExtrinsics,
  settlementChain,
  settlementLocks,
  settlementMiners,
  settlements,
  type SettlementExtrinsicRow,
  type SettlementMinerRow,
  type SettlementRow,
} from "../../db/schema";
import { ChainGenesisChangedError } from "../errors";
import type { ExtrinsicKind } from "./types";

export type Db = DrizzleD1Database<Record<string, never>>;

export function settlementDb(d1: D1Database): Db {
  return drizzle(d1);
}

// D1 binds at most 100 parameters per statement; a miner row binds 17.
const MINERS_PER_INSERT = 5;

/**
 * Takes the per-subnet run lock unless another run holds an unexpired one. `owner` is unique per
 * run; a crashed run's lock simply expires.
 */
export async function acquireLock(db: Db, netuid: number, owner: string, now: number, ttlMs: number): Promise<boolean> {
  const rows = await db
    .insert(settlementLocks)
    .values({ netuid, owner, expiresAt: now + ttlMs })
    .onConflictDoUpdate({ target: settlementLocks.netuid, set: { owner, expiresAt: now + ttlMs }, setWhere: lt(settlementLocks.expiresAt, now) })
    .returning({ owner: settlementLocks.owner });
  return rows[0]?.owner === owner;
}

export async function releaseLock(db: Db, netuid: number, owner: string): Promise<void> {
  await db.delete(settlementLocks).where(and(eq(settlementLocks.netuid, netuid), eq(settlementLocks.owner, owner)));
}

/**
 * Records the chain's genesis for `netuid` on first use; afterwards refuses a chain with another
 * genesis (ChainGenesisChangedError) rather than settle against a different chain's epochs.
 */
export async function checkSettlementChain(db: Db, netuid: number, genesisHash: string, now: number): Promise<void> {
  await db.insert(settlementChain).values({ netuid, genesisHash, firstSeenAt: now }).onConflictDoNothing().run();
  const row = await db.select().from(settlementChain).where(eq(settlementChain.netuid, netuid)).get();
  if (row && row.genesisHash !== genesisHash) throw new ChainGenesisChangedError(netuid, row.genesisHash, genesisHash);
}

export async function latestSettlement(db: Db, netuid: number): Promise<SettlementRow | undefined> {
  return db.select().from(settlements).where(eq(settlements.netuid, netuid)).orderBy(desc(settlements.epoch)).limit(1).get();
}

export async function getSettlement(db: Db, id: string): Promise<SettlementRow | undefined> {
  return db.select().from(settlements).where(eq(settlements.id, id)).get();
}

/** Settlements with a step still to do, oldest first. */
export async function openSettlements(db: Db, netuid: number): Promise<SettlementRow[]> {
  return db
    .select()
    .from(settlements)
    .where(and(eq(settlements.netuid, netuid), or(inArray(settlements.weightsStatus, ["pending", "committed"]), eq(settlements.payoutStatus, "pending"))))
    .orderBy(asc(settlements.epoch))
    .all();
}

/** The settlement with its miners, in one batch: a crash leaves either all of it or nothing. */
export async function insertSettlement(db: Db, row: SettlementRow, miners: readonly SettlementMinerRow[]): Promise<void> {
  const inserts = [];
  for (let i = 0; i < miners.length; i += MINERS_PER_INSERT) inserts.push(db.insert(settlementMiners).values(miners.slice(i, i + MINERS_PER_INSERT)));
  await db.batch([db.insert(settlements).values(row), ...inserts]);
}

export async function minersOf(db: Db, settlementId: string): Promise<SettlementMinerRow[]> {
  return db.select().from(settlementMiners).where(eq(settlementMiners.settlementId, settlementId)).orderBy(asc(settlementMiners.hotkey)).all();
}

export async function updateSettlement(db: Db, id: string, patch: Partial<SettlementRow>): Promise<void> {
  await db.update(settlements).set(patch).where(eq(settlements.id, id));
}

/** Older settlements whose weights never landed: a newer epoch's weights replace them. */
export async function supersedePendingWeights(db: Db, netuid: number, beforeEpoch: number, now: number): Promise<string[]> {
  const rows = await db
    .update(settlements)
    .set({ weightsStatus: "superseded", updatedAt: now })
    .where(and(eq(settlements.netuid, netuid), lt(settlements.epoch, beforeEpoch), eq(settlements.weightsStatus, "pending")))
    .returning({ id: settlements.id });
  return rows.map((r) => r.id);
}

/** Stores a signed extrinsic; must succeed BEFORE it is broadcast. */
export async function insertExtrinsic(db: Db, row: SettlementExtrinsicRow): Promise<void> {
  await db.insert(settlementExtrinsics).values(row);
}

/** The newest extrinsic of these kinds still `signed` (its fate unknown), if any. */
export async function liveExtrinsic(db: Db, settlementId: string, kinds: readonly ExtrinsicKind[]): Promise<SettlementExtrinsicRow | undefined> {
  return db
    .select()
    .from(settlementExtrinsics)
    .where(and(eq(settlementExtrinsics.settlementId, settlementId), inArray(settlementExtrinsics.kind, [...kinds]), eq(settlementExtrinsics.status, "signed")))
    .orderBy(desc(settlementExtrinsics.createdAt), desc(settlementExtrinsics.nonce))
    .get();
}

export async function extrinsicsOf(db: Db, settlementId: string): Promise<SettlementExtrinsicRow[]> {
  return db.select().from(settlementExtrinsics).where(eq(settlementExtrinsics.settlementId, settlementId)).orderBy(asc(settlementExtrinsics.createdAt)).all();
}

/**
 * Records an extrinsic's fate and what it means for its settlement in one batch. The extrinsic
 * update only applies while it is still `signed`, so two observers cannot apply an outcome twice.
 */
export async function resolveExtrinsic(
  db: Db,
  extrinsicId: string,
  fate: Pick<SettlementExtrinsicRow, "status" | "blockNumber" | "blockHash" | "error" | "updatedAt">,
  settlement?: { id: string; patch: Partial<SettlementRow>; minersPaid?: boolean },
): Promise<void> {
  const first = db
    .update(settlementExtrinsics)
    .set(fate)
    .where(and(eq(settlementExtrinsics.id, extrinsicId), eq(settlementExtrinsics.status, "signed")));
  const rest = [];
  if (settlement) {
    rest.push(db.update(settlements).set(settlement.patch).where(eq(settlements.id, settlement.id)));
    if (settlement.minersPaid) {
      rest.push(
        db
          .update(settlementMiners)
          .set({ payoutStatus: "paid" })
          .where(and(eq(settlementMiners.settlementId, settlement.id), eq(settlementMiners.payoutStatus, "planned"))),
      );
    }
  }
  await db.batch([first, ...rest]);
}
