// Domain types of settlement with miners (issue 6), shared by the pure modules, the D1 store and
// the runner. Big integers (work, rao) are bigint here and decimal TEXT in D1.

/** How weights reach the chain: directly, or hashed now and revealed one epoch later. */
export type SettlementMode = "set_weights" | "commit_reveal";

/**
 * pending: nothing landed yet; committed: commit_weights is in a block, the reveal waits for its
 * window; done: set_weights or reveal_weights landed; skipped: no verified work, nothing to set;
 * superseded: a newer epoch closed before these weights landed (weights are a standing opinion,
 * the newer one replaces them); failed: gave up (the reason is in last_error).
 */
export type WeightsStatus = "pending" | "committed" | "done" | "skipped" | "superseded" | "failed";

/** disabled: payouts off for this deployment; skipped: nothing to pay. */
export type PayoutStatus = "disabled" | "pending" | "done" | "skipped" | "failed";

export type ExtrinsicKind = "set_weights" | "commit_weights" | "reveal_weights" | "payout";

/** signed: stored, maybe broadcast, fate unknown; dead: can never be included (safe to replace). */
export type ExtrinsicStatus = "signed" | "included" | "failed" | "dead";

export type MinerPayoutStatus = "none" | "planned" | "paid" | "skipped_minimum" | "skipped_existential_deposit" | "skipped_no_coldkey";

/** Formula version stored with each settlement; bump when the work or weights formula changes. */
export const SETTLEMENT_FORMULA = "work-v1";

/** Parts per million: quality factors are integers 0..1_000_000. */
export const PPM = 1_000_000;

/** The largest u16 weight; the chain max-upscales every vector to it. */
export const U16_MAX = 65_535;
