// The public view of settlements (GET /v1/settlements): each epoch with its window, every miner's
// verified work, quality, weight and payout, and the extrinsics that carried them. Drizzle only (the
// gateway Worker serves it; it lives outside src/chain, which only the chain Worker loads). While
// commit-reveal hides the weights on chain (committed, not yet revealed) the per-miner figures are
// sealed here too: they would reveal them.
import type { D1Database } from "@cloudflare/workers-types";
import { and, asc, desc, eq, inArray, lt, type SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { settlementExtrinsics, settlementMiners, settlements, type SettlementExtrinsicRow, type SettlementMinerRow, type SettlementRow } from "../db/schema";

export type SettlementQuery = { netuid?: number; before?: number; limit: number };

type PublicExtrinsic = { kind: string; tx_hash: string; status: string; block: number | null; block_hash: string | null; error: string | null };

function extrinsicView(x: SettlementExtrinsicRow): PublicExtrinsic {
  return { kind: x.kind, tx_hash: x.txHash, status: x.status, block: x.blockNumber, block_hash: x.blockHash, error: x.error };
}

function minerView(m: SettlementMinerRow, sealed: boolean) {
  const base = { hotkey: m.hotkey, uid: m.uid, coldkey: m.coldkey };
  if (sealed) return base;
  return {
    ...base,
    requests_counted: m.requestsCounted,
    requests_excluded: m.requestsExcluded,
    prompt_tokens: m.promptTokens,
    completion_tokens: m.completionTokens,
    value_pusd: m.valuePusd,
    quality: { success_ppm: m.successPpm, honesty_ppm: m.honestyPpm, canary_ppm: m.canaryPpm, quality_ppm: m.qualityPpm },
    work: m.work,
    weight: m.weight,
    payout_rao: m.payoutRao,
    payout_status: m.payoutStatus,
  };
}

/** True while the weights must stay secret: commit-reveal and not revealed yet. */
export function isSealed(s: Pick<SettlementRow, "mode" | "weightsStatus">): boolean {
  return s.mode === "commit_reveal" && (s.weightsStatus === "pending" || s.weightsStatus === "committed");
}

function settlementView(s: SettlementRow, miners: SettlementMinerRow[], extrinsics: SettlementExtrinsicRow[]) {
  const sealed = isSealed(s);
  const weightTx = extrinsics.filter((x) => x.kind !== "payout");
  const payoutTx = extrinsics.filter((x) => x.kind === "payout");
  const landed = (list: SettlementExtrinsicRow[], kinds: readonly string[]) => list.find((x) => x.status === "included" && kinds.includes(x.kind)) ?? null;
  return {
    id: s.id,
    object: "settlement",
    netuid: s.netuid,
    epoch: s.epoch,
    epoch_blocks: s.epochBlocks,
    planned_at_block: s.plannedAtBlock,
    window: { start: s.windowStart, end: s.windowEnd },
    formula: s.formula,
    validator: { hotkey: s.validatorHotkey, uid: s.validatorUid },
    weights: {
      status: s.weightsStatus,
      mode: s.mode,
      version_key: s.versionKey,
      sealed,
      commit_hash: s.commitHash,
      commit_block: s.commitBlock,
      /** [[uid, weight]] as submitted; null while sealed. */
      vector: sealed ? null : (JSON.parse(s.weights) as Array<[number, number]>),
      tx_hash: landed(weightTx, ["set_weights", "reveal_weights"])?.txHash ?? null,
      extrinsics: weightTx.map(extrinsicView),
    },
    payouts: {
      status: s.payoutStatus,
      revenue_micro_usd: s.revenueMicroUsd,
      pool_rao: sealed ? null : s.payoutPoolRao,
      tx_hash: landed(payoutTx, ["payout"])?.txHash ?? null,
      extrinsics: payoutTx.map(extrinsicView),
    },
    last_error: s.lastError,
    created_at: s.createdAt,
    updated_at: s.updatedAt,
    miners: miners.map((m) => minerView(m, sealed)),
  };
}

export type PublicSettlement = ReturnType<typeof settlementView>;

/** Newest first; `before` pages by epoch. */
export async function listSettlements(d1: D1Database, q: SettlementQuery): Promise<{ data: PublicSettlement[]; has_more: boolean }> {
  const db = drizzle(d1);
  const where: SQL[] = [];
  if (q.netuid !== undefined) where.push(eq(settlements.netuid, q.netuid));
  if (q.before !== undefined) where.push(lt(settlements.epoch, q.before));
  const rows = await db
    .select()
    .from(settlements)
    .where(where.length ? and(...where) : undefined)
    .orderBy(desc(settlements.epoch), asc(settlements.netuid))
    .limit(q.limit + 1)
    .all();
  const page = rows.slice(0, q.limit);
  if (page.length === 0) return { data: [], has_more: false };
  const ids = page.map((r) => r.id);
  const [miners, extrinsics] = await db.batch([
    db.select().from(settlementMiners).where(inArray(settlementMiners.settlementId, ids)).orderBy(asc(settlementMiners.settlementId), asc(settlementMiners.uid), asc(settlementMiners.hotkey)),
    db.select().from(settlementExtrinsics).where(inArray(settlementExtrinsics.settlementId, ids)).orderBy(asc(settlementExtrinsics.createdAt)),
  ]);
  return {
    data: page.map((s) => settlementView(s, miners.filter((m) => m.settlementId === s.id), extrinsics.filter((x) => x.settlementId === s.id))),
    has_more: rows.length > q.limit,
  };
}
