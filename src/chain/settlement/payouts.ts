// TAO payouts (pure, integer rao). A deployment may pay miners a share of the window's subscriber
// revenue on top of weights:
//   pool_rao   = min(PAYOUT_MAX_RAO_PER_EPOCH, revenue_micro_usd x PAYOUT_SHARE_BPS x PAYOUT_RAO_PER_USD / (10_000 x 1_000_000))
//   payout_i   = pool_rao x work_i / sum(work)        (rounded down; remainders stay in the treasury)
// Only miners registered on the subnet (with a coldkey) share the pool. A payout below
// PAYOUT_MIN_RAO or below the existential deposit is skipped (not carried over).
import type { MinerPayoutStatus } from "./types";

export type PayoutPolicy = {
  /** Share of revenue in basis points (10_000 = all of it). */
  shareBps: number;
  raoPerUsd: bigint;
  minRao: bigint;
  maxRaoPerEpoch: bigint | null;
};

export function payoutPool(revenueMicroUsd: bigint, policy: PayoutPolicy): bigint {
  if (revenueMicroUsd <= 0n || policy.shareBps <= 0) return 0n;
  const pool = (revenueMicroUsd * BigInt(policy.shareBps) * policy.raoPerUsd) / 10_000_000_000n;
  return policy.maxRaoPerEpoch !== null && pool > policy.maxRaoPerEpoch ? policy.maxRaoPerEpoch : pool;
}

export type PayoutInput = { hotkey: string; coldkey: string | null; work: bigint };
export type PayoutLine = { hotkey: string; coldkey: string | null; amountRao: bigint; status: MinerPayoutStatus };

/** Splits `pool` by work. Lines keep the input order; `planned` lines are the ones to transfer. */
export function splitPayouts(pool: bigint, miners: readonly PayoutInput[], minRao: bigint, existentialDeposit: bigint): PayoutLine[] {
  const total = miners.reduce((a, m) => (m.coldkey && m.work > 0n ? a + m.work : a), 0n);
  return miners.map((m) => {
    if (m.work <= 0n || total === 0n || pool <= 0n) return { hotkey: m.hotkey, coldkey: m.coldkey, amountRao: 0n, status: "none" };
    if (!m.coldkey) return { hotkey: m.hotkey, coldkey: null, amountRao: 0n, status: "skipped_no_coldkey" };
    const amountRao = (pool * m.work) / total;
    if (amountRao < minRao) return { hotkey: m.hotkey, coldkey: m.coldkey, amountRao, status: "skipped_minimum" };
    if (amountRao < existentialDeposit) return { hotkey: m.hotkey, coldkey: m.coldkey, amountRao, status: "skipped_existential_deposit" };
    return { hotkey: m.hotkey, coldkey: m.coldkey, amountRao, status: "planned" };
  });
}
