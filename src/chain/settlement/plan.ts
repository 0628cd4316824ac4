// Planning: when an epoch has closed and has no settlement yet, compute everything the settlement
// will submit (work, weights, commit salt and hash, payouts) and write it to D1 in one batch,
// BEFORE anything goes to the chain. Later steps only read this record.
import type { D1Database } from "@cloudflare/workers-types";
import { modelPrices, type SettlementMinerRow, type SettlementRow } from "../../db/schema";
import { ChainConfigError } from "../errors";
import { readMetagraph } from "../metagraph";
import { ss58Decode } from "../../protocol/ss58";
import { commitHash, newSalt } from "./commit";
import { reportStep, type RunContext } from "./context";
import { epochIndex, epochLength, type EpochSchedule } from "./epoch";
import { payoutPool, splitPayouts, type PayoutLine } from "./payouts";
import { insertSettlement, latestSettlement, supersedePendingWeights } from "./store";
import { SETTLEMENT_FORMULA, type MinerPayoutStatus, type PayoutStatus, type SettlementMode, type WeightsStatus } from "./types";
import { readUsageWindow, windowBound } from "./usage";
import { computeWeights } from "./weights";
import { minerWork, type MinerWork, type ModelPrice } from "./work";

/** Nominal Subtensor block time, for the very first window only (later windows chain on). */
export const BLOCK_MS = 12_000;

export function scheduleOf(ctx: RunContext): EpochSchedule {
  return ctx.cfg.epochBlocks ? { kind: "fixed", blocks: ctx.cfg.epochBlocks } : { kind: "tempo", netuid: ctx.cfg.netuid, tempo: ctx.rules.tempo };
}

async function prices(ctx: RunContext): Promise<ModelPrice[]> {
  const rows = await ctx.db.select().from(modelPrices).all();
  return rows.map((r) => ({ model: r.model, inputMicroUsdPerMtok: r.inputMicroUsdPerMtok, outputMicroUsdPerMtok: r.outputMicroUsdPerMtok }));
}

/** What planning did: the settlement it wrote, or why there was nothing to plan (reported and logged). */
export type PlanOutcome = { planned: SettlementRow } | { planned: null; reason: string };

/** Plans the settlement of the last closed epoch if it is due. */
export async function planDue(ctx: RunContext, d1: D1Database): Promise<PlanOutcome> {
  const { netuid } = ctx.cfg;
  const schedule = scheduleOf(ctx);
  const closed = epochIndex(schedule, ctx.head) - 1;
  if (closed < 0) return { planned: null, reason: `no epoch has closed yet at block ${ctx.head} (epochs of ${epochLength(schedule)} blocks)` };
  const latest = await latestSettlement(ctx.db, netuid);
  if (latest && latest.epoch >= closed) {
    return {
      planned: null,
      reason:
        latest.epoch === closed
          ? `epoch ${closed} (the last closed one at block ${ctx.head}) is already settled`
          : `D1 holds a settlement for epoch ${latest.epoch}, ahead of the chain's last closed epoch ${closed} at block ${ctx.head}: were these records made on another chain?`,
    };
  }

  const now = ctx.now();
  // Usage is rolled up per second (usage_miner_seconds), so windows are whole seconds: the end is
  // now - lag rounded up to the next second (a lag of 0 takes everything metered so far).
  const windowStart = latest?.windowEnd ?? windowBound(now - epochLength(schedule) * BLOCK_MS);
  const windowEnd = Math.max(windowStart, windowBound(now - ctx.cfg.lagMs));
  const [metagraph, usage, priceList] = await Promise.all([readMetagraph(ctx.api, netuid), readUsageWindow(d1, windowStart, windowEnd), prices(ctx)]);
  const works = minerWork(usage.groups, priceList);
  const byHotkey = new Map(metagraph.neurons.map((n) => [n.hotkey, n]));
  const validatorUid = byHotkey.get(ctx.validator.address)?.uid ?? null;
  const workOf = new Map(works.map((w) => [w.hotkey, w.work]));
  const candidates = metagraph.neurons.filter((n) => n.uid !== validatorUid).map((n) => ({ uid: n.uid, work: workOf.get(n.hotkey) ?? 0n }));
  const plan = computeWeights(candidates, { minAllowedWeights: ctx.rules.minAllowedWeights, maxWeightsLimit: ctx.rules.maxWeightsLimit, subnetN: ctx.rules.subnetN }, validatorUid ?? undefined);
  const pairs: Array<[number, number]> = plan.kind === "weights" ? plan.entries.map((e) => [e.uid, e.weight]) : [];

  const configuredKey = ctx.cfg.versionKey ?? 0n;
  const versionKey = configuredKey > ctx.rules.versionKey ? configuredKey : ctx.rules.versionKey;
  if (versionKey > BigInt(Number.MAX_SAFE_INTEGER)) throw new ChainConfigError(`version key ${versionKey} is too large to store`);
  const mode: SettlementMode = ctx.rules.commitReveal ? "commit_reveal" : "set_weights";
  const salt = mode === "commit_reveal" && pairs.length > 0 ? newSalt() : null;
  const hash = salt
    ? commitHash({ hotkey: ss58Decode(ctx.validator.address), netuid, uids: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]), salt, versionKey })
    : null;
  let weightsStatus: WeightsStatus = "pending";
  let lastError: string | null = null;
  if (plan.kind === "empty") weightsStatus = "skipped";
  if (plan.kind === "impossible") {
    weightsStatus = "failed";
    lastError = `weights cannot satisfy the subnet's limits: ${plan.reason}`;
  }

  // Payouts go only to miners registered on the subnet, by the same work the weights use.
  const registeredWork: MinerWork[] = works.filter((w) => byHotkey.has(w.hotkey));
  const pool = ctx.cfg.payouts ? payoutPool(usage.revenueMicroUsd, ctx.cfg.payouts) : 0n;
  const lines = new Map<string, PayoutLine>(
    ctx.cfg.payouts
      ? splitPayouts(pool, registeredWork.map((w) => ({ hotkey: w.hotkey, coldkey: byHotkey.get(w.hotkey)?.coldkey ?? null, work: w.work })), ctx.cfg.payouts.minRao, ctx.existentialDeposit).map((l) => [l.hotkey, l])
      : [],
  );
  const payoutStatus: PayoutStatus = !ctx.cfg.payouts ? "disabled" : [...lines.values()].some((l) => l.status === "planned") ? "pending" : "skipped";

  const id = `${netuid}:${closed}`;
  const weightOf = new Map(pairs);
  const minerRows: SettlementMinerRow[] = works.map((w) => {
    const neuron = byHotkey.get(w.hotkey);
    const line = lines.get(w.hotkey);
    return {
      settlementId: id,
      hotkey: w.hotkey,
      uid: neuron?.uid ?? null,
      coldkey: neuron?.coldkey ?? null,
      requestsCounted: w.requestsCounted,
      requestsExcluded: w.requestsExcluded,
      promptTokens: w.promptTokens,
      completionTokens: w.completionTokens,
      valuePusd: w.valuePusd.toString(),
      successPpm: w.quality.successPpm,
      honestyPpm: w.quality.honestyPpm,
      canaryPpm: w.quality.canaryPpm,
      qualityPpm: w.quality.qualityPpm,
      work: w.work.toString(),
      weight: neuron ? (weightOf.get(neuron.uid) ?? 0) : 0,
      payoutRao: (line?.amountRao ?? 0n).toString(),
      payoutStatus: (line?.status ?? "none") as MinerPayoutStatus,
    };
  });
  // Uids weighted only to satisfy MinAllowedWeights / MaxWeightsLimit are listed too.
  const listed = new Set(minerRows.map((m) => m.uid));
  for (const n of metagraph.neurons) {
    const weight = weightOf.get(n.uid);
    if (weight === undefined || listed.has(n.uid)) continue;
    minerRows.push({
      settlementId: id, hotkey: n.hotkey, uid: n.uid, coldkey: n.coldkey, requestsCounted: 0, requestsExcluded: 0, promptTokens: 0, completionTokens: 0,
      valuePusd: "0", successPpm: 1_000_000, honestyPpm: 1_000_000, canaryPpm: 1_000_000, qualityPpm: 1_000_000, work: "0", weight, payoutRao: "0", payoutStatus: "none",
    });
  }

  const row: SettlementRow = {
    id,
    netuid,
    epoch: closed,
    epochBlocks: epochLength(schedule),
    plannedAtBlock: ctx.head,
    windowStart,
    windowEnd,
    validatorHotkey: ctx.validator.address,
    validatorUid,
    mode,
    versionKey: Number(versionKey),
    weightsStatus,
    weights: JSON.stringify(pairs),
    salt: salt ? JSON.stringify(salt) : null,
    commitHash: hash,
    commitBlock: null,
    payoutStatus,
    revenueMicroUsd: Number(usage.revenueMicroUsd),
    payoutPoolRao: pool.toString(),
    formula: SETTLEMENT_FORMULA,
    lastError,
    lastErrorAt: lastError ? now : null,
    createdAt: now,
    updatedAt: now,
  };
  const superseded = await supersedePendingWeights(ctx.db, netuid, closed, now);
  await insertSettlement(ctx.db, row, minerRows);
  ctx.log("settlement_planned", {
    netuid, settlementId: id, epoch: closed, block: ctx.head, windowStart, windowEnd, mode, weights: pairs, weightsStatus,
    revenueMicroUsd: row.revenueMicroUsd, payoutPoolRao: row.payoutPoolRao, payoutStatus, superseded,
  });
  if (plan.kind === "impossible") reportStep(ctx, { settlementId: id, epoch: closed, step: mode === "commit_reveal" ? "commit_weights" : "set_weights", outcome: "failed", error: "WeightLimits", message: lastError ?? "" });
  return { planned: row };
}
