/**
 * The settlement job (chain Worker: cron and POST /settle): settle the last closed epoch with the
 * miners on chain (weights, optional TAO payouts) and move earlier settlements forward. The chain
 * code is imported lazily: only the chain Worker ever loads @polkadot/api.
 */
import type { ChainConfig } from "../config/chain";
import type { ChainEnv } from "../env";
import type { SettlementRunReport } from "../chain/settlement/runner";

export type SettlementOutcome = { ok: true; report: SettlementRunReport } | { ok: false; code: string; message: string };

/** On when SETTLEMENT_ENABLED=true (src/config/chain.ts then requires NETUID and the validator hotkey). */
export async function runSettlementJob(env: ChainEnv, cfg: ChainConfig): Promise<SettlementOutcome> {
  if (!cfg.settlement) {
    return { ok: false, code: "settlement_disabled", message: "settlement is off: set SETTLEMENT_ENABLED=true, SUBTENSOR_URL and NETUID on the chain Worker" };
  }
  const { runSettlement, ChainError } = await import("../chain/settlement/runner");
  try {
    // The chain Worker's env is settlement's env: runSettlement reads the same validated variables.
    const report = await runSettlement(env);
    return { ok: true, report };
  } catch (err) {
    if (!(err instanceof ChainError)) throw err;
    console.error(`settlement failed (${err.code}): ${err.message}`);
    return { ok: false, code: err.code, message: err.message };
  }
}
