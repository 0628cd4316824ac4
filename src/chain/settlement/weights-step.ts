// The weights step of a settlement: set_weights, or commit_weights then reveal_weights in the
// reveal window. Before submitting anything it asks the chain whether the step is already done
// (our commit hash in WeightCommits, our vector in Weights), honours WeightsSetRateLimit from
// LastUpdate, and follows the subnet if it switched commit-reveal on or off.
import type { SettlementRow } from "../../db/schema";
import { readValidatorStanding, readWeightCommits, readWeights } from "./chain-state";
import { commitHash, newSalt } from "./commit";
import { reportStep, type RunContext, type StepOutcome } from "./context";
import { revealTiming, revealWindow } from "./epoch";
import { getSettlement, liveExtrinsic, updateSettlement } from "./store";
import { reconcileStep, submitStep } from "./submit";
import { ss58Decode } from "../../protocol/ss58";
import type { ExtrinsicKind, SettlementMode } from "./types";

const WEIGHT_KINDS: readonly ExtrinsicKind[] = ["set_weights", "commit_weights", "reveal_weights"];

export type WeightPairs = Array<[number, number]>;

export function parseWeights(json: string): WeightPairs {
  const value: unknown = JSON.parse(json);
  if (!Array.isArray(value)) throw new Error("settlement weights are not a list");
  return value.map((p) => {
    if (!Array.isArray(p) || p.length !== 2 || !Number.isInteger(p[0]) || !Number.isInteger(p[1])) throw new Error("settlement weights entry is not [uid, weight]");
    return [p[0] as number, p[1] as number];
  });
}

function sameWeights(a: WeightPairs, b: WeightPairs): boolean {
  const key = (w: WeightPairs) => JSON.stringify([...w].sort((x, y) => x[0] - y[0]));
  return key(a) === key(b);
}

function tx(ctx: RunContext, call: string) {
  const fn = ctx.api.tx.subtensorModule?.[call];
  if (!fn) throw new Error(`runtime has no subtensorModule.${call}`);
  return fn;
}

async function refresh(ctx: RunContext): Promise<void> {
  ctx.head = (await ctx.api.rpc.chain.getHeader()).number.toNumber();
  ctx.standing = await readValidatorStanding(ctx.api, ctx.cfg.netuid, ctx.validator.address);
}

/** Brings stored commit material in line with the subnet's current mode and version key. */
async function alignMode(ctx: RunContext, s: SettlementRow, pairs: WeightPairs): Promise<SettlementRow> {
  const mode: SettlementMode = ctx.rules.commitReveal ? "commit_reveal" : "set_weights";
  const chainKey = ctx.rules.versionKey;
  const versionKey = chainKey > BigInt(s.versionKey) ? chainKey : BigInt(s.versionKey);
  if (mode === s.mode && versionKey === BigInt(s.versionKey) && (mode === "set_weights" || s.commitHash)) return s;
  const salt = mode === "commit_reveal" ? (s.salt ? (JSON.parse(s.salt) as number[]) : newSalt()) : null;
  const hash =
    mode === "commit_reveal" && salt
      ? commitHash({ hotkey: ss58Decode(s.validatorHotkey), netuid: s.netuid, uids: pairs.map((p) => p[0]), values: pairs.map((p) => p[1]), salt, versionKey })
      : null;
  const patch = { mode, versionKey: Number(versionKey), salt: salt ? JSON.stringify(salt) : s.salt, commitHash: hash, updatedAt: ctx.now() };
  await updateSettlement(ctx.db, s.id, patch);
  ctx.log("settlement_mode", { netuid: ctx.cfg.netuid, settlementId: s.id, from: s.mode, to: mode, versionKey: String(versionKey) });
  return { ...s, ...patch };
}

async function waiting(ctx: RunContext, s: SettlementRow, step: ExtrinsicKind, message: string, error?: string): Promise<"waiting"> {
  await updateSettlement(ctx.db, s.id, { lastError: error ? message : s.lastError, lastErrorAt: error ? ctx.now() : s.lastErrorAt, updatedAt: ctx.now() });
  reportStep(ctx, { settlementId: s.id, epoch: s.epoch, step, outcome: "waiting", message, ...(error ? { error } : {}) });
  return "waiting";
}

async function giveUp(ctx: RunContext, s: SettlementRow, step: ExtrinsicKind, message: string, error: string): Promise<"failed"> {
  await updateSettlement(ctx.db, s.id, { weightsStatus: "failed", lastError: message, lastErrorAt: ctx.now(), updatedAt: ctx.now() });
  reportStep(ctx, { settlementId: s.id, epoch: s.epoch, step, outcome: "failed", message, error });
  return "failed";
}

async function reconciled(ctx: RunContext, s: SettlementRow, step: ExtrinsicKind, patch: Partial<SettlementRow>, message: string): Promise<"reconciled"> {
  await updateSettlement(ctx.db, s.id, { ...patch, lastError: null, lastErrorAt: null, updatedAt: ctx.now() });
  reportStep(ctx, { settlementId: s.id, epoch: s.epoch, step, outcome: "reconciled", message });
  return "reconciled";
}

async function submitOrCommit(ctx: RunContext, s0: SettlementRow, pairs: WeightPairs): Promise<StepOutcome | "pending" | "dead"> {
  const s = await alignMode(ctx, s0, pairs);
  const uid = ctx.standing.uid;
  const step: ExtrinsicKind = s.mode === "commit_reveal" ? "commit_weights" : "set_weights";
  if (uid === null) {
    return giveUp(ctx, s, step, `validator hotkey ${s.validatorHotkey} is not registered on subnet ${s.netuid}`, "subtensorModule.HotKeyNotRegisteredInSubNet");
  }
  // Already on chain (e.g. recorded by a run whose bookkeeping was lost)?
  if (s.mode === "commit_reveal") {
    const commit = (await readWeightCommits(ctx.api, s.netuid, s.validatorHotkey)).find((c) => c.hash === s.commitHash);
    if (commit) return reconciled(ctx, s, step, { weightsStatus: "committed", commitBlock: commit.commitBlock }, `commit ${s.commitHash} already on chain (block ${commit.commitBlock})`);
  } else if (ctx.standing.lastUpdate >= s.plannedAtBlock && sameWeights(await readWeights(ctx.api, s.netuid, uid), pairs)) {
    return reconciled(ctx, s, step, { weightsStatus: "done" }, `these weights are already on chain (LastUpdate ${ctx.standing.lastUpdate})`);
  }
  const { lastUpdate } = ctx.standing;
  const allowedAt = lastUpdate + ctx.rules.rateLimit;
  if (lastUpdate > 0 && ctx.head + 1 < allowedAt) {
    return waiting(ctx, s, step, `WeightsSetRateLimit ${ctx.rules.rateLimit}: last update at block ${lastUpdate}, next allowed at block ${allowedAt} (now ${ctx.head})`, "WeightsSetRateLimit");
  }
  const uids = pairs.map((p) => p[0]);
  const values = pairs.map((p) => p[1]);
  const call = s.mode === "commit_reveal" ? tx(ctx, "commitWeights")(s.netuid, s.commitHash) : tx(ctx, "setWeights")(s.netuid, uids, values, s.versionKey);
  return submitStep(ctx, s, step, call, ctx.validator);
}

async function reveal(ctx: RunContext, s: SettlementRow, pairs: WeightPairs): Promise<StepOutcome | "pending" | "dead"> {
  if (!ctx.rules.commitReveal) {
    // Commit-reveal was switched off after our commit: the reveal would be refused; set directly.
    await updateSettlement(ctx.db, s.id, { weightsStatus: "pending", mode: "set_weights", updatedAt: ctx.now() });
    reportStep(ctx, { settlementId: s.id, epoch: s.epoch, step: "reveal_weights", outcome: "retrying", message: "commit-reveal is now off on the subnet: setting the committed weights directly" });
    return "retrying";
  }
  const commitBlock = s.commitBlock ?? 0;
  const { tempo, revealPeriod } = ctx.rules;
  const window = revealWindow(s.netuid, tempo, revealPeriod, commitBlock);
  const timing = revealTiming(s.netuid, tempo, revealPeriod, commitBlock, ctx.head);
  if (timing === "early") {
    return waiting(ctx, s, "reveal_weights", `reveal deferred: commit of block ${commitBlock} may be revealed in blocks ${window.firstBlock}-${window.lastBlock} (epoch ${window.epoch}); now ${ctx.head}`);
  }
  const onChain = (await readWeightCommits(ctx.api, s.netuid, s.validatorHotkey)).some((c) => c.hash === s.commitHash);
  if (!onChain) {
    const uid = ctx.standing.uid;
    if (uid !== null && sameWeights(await readWeights(ctx.api, s.netuid, uid), pairs)) {
      return reconciled(ctx, s, "reveal_weights", { weightsStatus: "done" }, "commit already revealed: the weights on chain are these");
    }
    return giveUp(ctx, s, "reveal_weights", `commit ${s.commitHash} is no longer on chain and was not revealed`, "subtensorModule.NoWeightsCommitFound");
  }
  if (timing === "expired") {
    return giveUp(ctx, s, "reveal_weights", `commit of block ${commitBlock} expired: its reveal window was blocks ${window.firstBlock}-${window.lastBlock}, now ${ctx.head}`, "subtensorModule.ExpiredWeightCommit");
  }
  const salt = JSON.parse(s.salt ?? "[]") as number[];
  const call = tx(ctx, "revealWeights")(s.netuid, pairs.map((p) => p[0]), pairs.map((p) => p[1]), salt, s.versionKey);
  return submitStep(ctx, s, "reveal_weights", call, ctx.validator);
}

/** Moves a settlement's weights as far as the chain allows in this run. */
export async function advanceWeights(ctx: RunContext, settlementId: string): Promise<void> {
  for (let round = 0; round < 3; round++) {
    const s = await getSettlement(ctx.db, settlementId);
    if (!s || (s.weightsStatus !== "pending" && s.weightsStatus !== "committed")) return;
    const live = await liveExtrinsic(ctx.db, s.id, WEIGHT_KINDS);
    let outcome: StepOutcome | "pending" | "dead";
    if (live) {
      outcome = await reconcileStep(ctx, s, live);
    } else {
      await refresh(ctx);
      const pairs = parseWeights(s.weights);
      outcome = s.weightsStatus === "pending" ? await submitOrCommit(ctx, s, pairs) : await reveal(ctx, s, pairs);
    }
    // Go on only when this round changed what the next one will do.
    if (outcome !== "included" && outcome !== "reconciled" && outcome !== "dead") return;
  }
}
