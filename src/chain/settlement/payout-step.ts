// The payout step: one `utility.batchAll` of `balances.transferKeepAlive` from the treasury to the
// miners' coldkeys, in integer rao. It runs once the weights step is over (with commit-reveal the
// amounts would otherwise reveal the weights before the reveal), and at most once per settlement:
// the extrinsic is stored before broadcast and a later run reconciles it instead of paying again.
import { freeBalance } from "./chain-state";
import { reportStep, type RunContext } from "./context";
import { getSettlement, liveExtrinsic, minersOf, updateSettlement } from "./store";
import { reconcileStep, submitStep } from "./submit";

const DONE_WEIGHTS = new Set(["done", "skipped", "superseded", "failed"]);

function call(ctx: RunContext, pallet: string, name: string) {
  const fn = ctx.api.tx[pallet]?.[name];
  if (!fn) throw new Error(`runtime has no ${pallet}.${name}`);
  return fn;
}

export async function advancePayout(ctx: RunContext, settlementId: string): Promise<void> {
  for (let round = 0; round < 2; round++) {
    const s = await getSettlement(ctx.db, settlementId);
    if (!s || s.payoutStatus !== "pending" || !DONE_WEIGHTS.has(s.weightsStatus)) return;
    const base = { settlementId: s.id, epoch: s.epoch, step: "payout" as const };
    const live = await liveExtrinsic(ctx.db, s.id, ["payout"]);
    if (live) {
      const outcome = await reconcileStep(ctx, s, live);
      if (outcome !== "dead") return;
      continue;
    }
    if (!ctx.treasury) {
      reportStep(ctx, { ...base, outcome: "waiting", message: "payouts are off (PAYOUT_ENABLED) but this settlement still owes its planned payouts" });
      return;
    }
    const lines = (await minersOf(ctx.db, s.id)).filter((m) => m.payoutStatus === "planned" && m.coldkey);
    if (lines.length === 0) {
      await updateSettlement(ctx.db, s.id, { payoutStatus: "skipped", updatedAt: ctx.now() });
      return;
    }
    const total = lines.reduce((a, m) => a + BigInt(m.payoutRao), 0n);
    const free = await freeBalance(ctx.api, ctx.treasury.address);
    if (free < total + ctx.existentialDeposit) {
      const message = `treasury ${ctx.treasury.address} has ${free} rao free; the payout needs ${total} rao plus the existential deposit ${ctx.existentialDeposit} (and fees)`;
      await updateSettlement(ctx.db, s.id, { lastError: message, lastErrorAt: ctx.now(), updatedAt: ctx.now() });
      reportStep(ctx, { ...base, outcome: "waiting", error: "InsufficientTreasuryBalance", message });
      return;
    }
    const transfers = lines.map((m) => call(ctx, "balances", "transferKeepAlive")(m.coldkey, BigInt(m.payoutRao)));
    const outcome = await submitStep(ctx, s, "payout", call(ctx, "utility", "batchAll")(transfers), ctx.treasury);
    if (outcome !== "dead") return;
  }
}
