// One extrinsic of a settlement, from signing to a recorded fate, crash-safe at every point:
//   sign -> store (D1) -> broadcast -> wait for finality -> record the fate with its effect (one batch).
// A run that finds a stored extrinsic whose fate is unknown (`liveExtrinsic`) asks the chain
// (tx.ts findExtrinsic): included -> record it; dead -> mark it so a fresh one may be signed;
// pending -> broadcast the very same bytes again (same nonce: it can land at most once) and wait.
import type { SubmittableExtrinsic } from "@polkadot/api/types";
import type { KeyringPair } from "@polkadot/keyring/types";
import type { SettlementExtrinsicRow, SettlementRow } from "../../db/schema";
import { actionFor, explain } from "./actions";
import { reportStep, type RunContext, type StepOutcome } from "./context";
import { insertExtrinsic, resolveExtrinsic } from "./store";
import { broadcast, signExtrinsic, waitForExtrinsic, type TxFate } from "./tx";
import type { ExtrinsicKind } from "./types";

/** What an included, successful extrinsic changes in its settlement. */
function effectOf(kind: ExtrinsicKind, blockNumber: number): { patch: Partial<SettlementRow>; minersPaid?: boolean } {
  switch (kind) {
    case "set_weights":
    case "reveal_weights":
      return { patch: { weightsStatus: "done", lastError: null, lastErrorAt: null } };
    case "commit_weights":
      return { patch: { weightsStatus: "committed", commitBlock: blockNumber, lastError: null, lastErrorAt: null } };
    case "payout":
      return { patch: { payoutStatus: "done", lastError: null, lastErrorAt: null }, minersPaid: true };
  }
}

/** The settlement patch for a step that gave up. */
function failureOf(kind: ExtrinsicKind): Partial<SettlementRow> {
  return kind === "payout" ? { payoutStatus: "failed" } : { weightsStatus: "failed" };
}

/** Records a known fate; returns the step's outcome ("pending" when still unknown). */
export async function recordFate(ctx: RunContext, s: SettlementRow, row: SettlementExtrinsicRow, fate: TxFate, reconciled = false): Promise<StepOutcome | "pending" | "dead"> {
  const kind = row.kind as ExtrinsicKind;
  const now = ctx.now();
  const base = { settlementId: s.id, epoch: s.epoch, step: kind, txHash: row.txHash };
  if (fate.state === "pending") {
    reportStep(ctx, { ...base, outcome: "waiting", message: `not in a finalized block yet (scanned to ${fate.scannedTo}); a later run checks again` });
    return "pending";
  }
  if (fate.state === "dead") {
    await resolveExtrinsic(ctx.db, row.id, { status: "dead", blockNumber: null, blockHash: null, error: fate.reason, updatedAt: now });
    ctx.log("settlement_extrinsic_dead", { netuid: ctx.cfg.netuid, settlementId: s.id, kind, txHash: row.txHash, reason: fate.reason });
    return "dead";
  }
  if (fate.ok) {
    const effect = effectOf(kind, fate.blockNumber);
    await resolveExtrinsic(
      ctx.db,
      row.id,
      { status: "included", blockNumber: fate.blockNumber, blockHash: fate.blockHash, error: null, updatedAt: now },
      { id: s.id, patch: { ...effect.patch, updatedAt: now }, minersPaid: effect.minersPaid },
    );
    const outcome = reconciled ? "reconciled" : "included";
    reportStep(ctx, { ...base, outcome, block: fate.blockNumber, message: `${kind} in block ${fate.blockNumber} (${fate.events.join(", ")})` });
    return outcome;
  }
  const action = actionFor(fate.error, kind);
  const message = `${kind} failed in block ${fate.blockNumber}: ${explain(fate.error, fate.docs)}`;
  await resolveExtrinsic(
    ctx.db,
    row.id,
    { status: "failed", blockNumber: fate.blockNumber, blockHash: fate.blockHash, error: fate.error, updatedAt: now },
    { id: s.id, patch: { ...(action === "give_up" ? failureOf(kind) : {}), lastError: message, lastErrorAt: now, updatedAt: now } },
  );
  const outcome = action === "give_up" ? "failed" : action === "wait" ? "waiting" : "retrying";
  reportStep(ctx, { ...base, outcome, block: fate.blockNumber, error: fate.error, message });
  return outcome;
}

/** Signs, stores, broadcasts and waits for `call`; every outcome is recorded and reported. */
export async function submitStep(ctx: RunContext, s: SettlementRow, kind: ExtrinsicKind, call: SubmittableExtrinsic<"promise">, signer: KeyringPair): Promise<StepOutcome | "pending" | "dead"> {
  if (Date.now() > ctx.submitDeadline) {
    reportStep(ctx, { settlementId: s.id, epoch: s.epoch, step: kind, outcome: "waiting", message: "this run's time for submissions is spent; the next run continues" });
    return "pending";
  }
  const signed = await signExtrinsic(ctx.api, call, signer, ctx.eraPeriod);
  const now = ctx.now();
  const row: SettlementExtrinsicRow = {
    id: `${s.id}:${kind}:${signed.hash.slice(2, 18)}`,
    settlementId: s.id,
    kind,
    signer: signed.signer,
    nonce: signed.nonce,
    txHash: signed.hash,
    txHex: signed.hex,
    birthBlock: signed.birthBlock,
    deathBlock: signed.deathBlock,
    status: "signed",
    blockNumber: null,
    blockHash: null,
    error: null,
    createdAt: now,
    updatedAt: now,
  };
  // Stored first: from here on every run can find out what became of it.
  await insertExtrinsic(ctx.db, row);
  await ctx.hooks.beforeBroadcast?.(row);
  const sent = await broadcast(ctx.api, signed.hex);
  if (!sent.ok && /^1010\b/.test(sent.detail)) {
    // Refused as invalid on its first broadcast: no node holds it and only we have the bytes,
    // which are never sent again, so it can never land.
    const action = actionFor(sent.error, kind);
    const message = `${kind} refused by the transaction pool: ${explain(sent.error)}`;
    await resolveExtrinsic(
      ctx.db,
      row.id,
      { status: "dead", blockNumber: null, blockHash: null, error: sent.error, updatedAt: now },
      { id: s.id, patch: { ...(action === "give_up" ? failureOf(kind) : {}), lastError: message, lastErrorAt: now, updatedAt: now } },
    );
    const outcome = action === "give_up" ? "failed" : action === "wait" ? "waiting" : "retrying";
    reportStep(ctx, { settlementId: s.id, epoch: s.epoch, step: kind, outcome, txHash: row.txHash, error: sent.error, message });
    return outcome;
  }
  // Any other answer (accepted, already imported, banned, a broken connection) leaves the fate
  // open: the node may hold it. Finality decides.
  if (!sent.ok) ctx.log("settlement_broadcast_uncertain", { netuid: ctx.cfg.netuid, settlementId: s.id, kind, txHash: row.txHash, error: sent.detail });
  await ctx.hooks.afterBroadcast?.(row);
  const fate = await waitForExtrinsic(ctx.api, signed, ctx.cfg.inclusionTimeoutMs, ctx.pollMs);
  return recordFate(ctx, s, row, fate);
}

/** Settles the fate of a stored extrinsic left by an earlier run (or an earlier step of this one). */
export async function reconcileStep(ctx: RunContext, s: SettlementRow, row: SettlementExtrinsicRow): Promise<StepOutcome | "pending" | "dead"> {
  const tx = { hash: row.txHash, signer: row.signer, nonce: row.nonce, birthBlock: row.birthBlock, deathBlock: row.deathBlock };
  let fate = await waitForExtrinsic(ctx.api, tx, 0, ctx.pollMs);
  if (fate.state === "pending") {
    // Maybe never broadcast (a crash right after storing it), or dropped by the pool: send the same bytes.
    const sent = await broadcast(ctx.api, row.txHex);
    ctx.log("settlement_rebroadcast", { netuid: ctx.cfg.netuid, settlementId: s.id, kind: row.kind, txHash: row.txHash, accepted: sent.ok, ...(sent.ok ? {} : { error: sent.error }) });
    fate = await waitForExtrinsic(ctx.api, tx, ctx.cfg.inclusionTimeoutMs, ctx.pollMs);
  }
  return recordFate(ctx, s, row, fate, true);
}
