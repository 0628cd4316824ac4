/**
 * The settlement job (chain Worker: cron and POST /settle): settle the last closed epoch with the
 * miners on chain (weights, optional TAO payouts) and move earlier settlements forward. The chain
 * code is imported lazily: only the chain Worker ever loads @polkadot/api.
 */
import type { Env } from "../env";
import type { SettlementRunReport } from "../chain/settlement/runner";

export type SettlementOutcome = { ok: true; report: SettlementRunReport } | { ok: false; code: string; message: string };

/** On when SETTLEMENT_ENABLED=true and the chain is configured (SUBTENSOR_URL, NETUID). */
export function settlementEnabled(env: Env): boolean {
  return /^(1|true|yes)$/i.test(env.SETTLEMENT_ENABLED?.trim() ?? "") && Boolean(env.SUBTENSOR_URL && env.NETUID);
}

export async function runSettlementJob(env: Env): Promise<SettlementOutcome> {
  if (!settlementEnabled(env)) {
    return { ok: false, code: "settlement_disabled", message: "settlement is off: set SETTLEMENT_ENABLED=true, SUBTENSOR_URL and NETUID on the chain Worker" };
  }
  const { runSettlement, ChainError } = await import("../chain/settlement/runner");
  try {
    const report = await runSettlement({
      DB: env.DB,
      SUBTENSOR_URL: env.SUBTENSOR_URL,
      NETUID: env.NETUID,
      GATEWAY_HOTKEY_MNEMONIC: env.GATEWAY_HOTKEY_MNEMONIC,
      SETTLEMENT_EPOCH_BLOCKS: env.SETTLEMENT_EPOCH_BLOCKS,
      SETTLEMENT_LAG_MS: env.SETTLEMENT_LAG_MS,
      SETTLEMENT_INCLUSION_TIMEOUT_MS: env.SETTLEMENT_INCLUSION_TIMEOUT_MS,
      WEIGHTS_VERSION_KEY: env.WEIGHTS_VERSION_KEY,
      PAYOUT_ENABLED: env.PAYOUT_ENABLED,
      PAYOUT_SHARE_BPS: env.PAYOUT_SHARE_BPS,
      PAYOUT_RAO_PER_USD: env.PAYOUT_RAO_PER_USD,
      PAYOUT_MIN_RAO: env.PAYOUT_MIN_RAO,
      PAYOUT_MAX_RAO_PER_EPOCH: env.PAYOUT_MAX_RAO_PER_EPOCH,
      PAYOUT_TREASURY_MNEMONIC: env.PAYOUT_TREASURY_MNEMONIC,
    });
    return { ok: true, report };
  } catch (err) {
    if (!(err instanceof ChainError)) throw err;
    console.error(`settlement failed (${err.code}): ${err.message}`);
    return { ok: false, code: err.code, message: err.message };
  }
}
