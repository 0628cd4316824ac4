// Epoch arithmetic (pure). Subtensor runs a subnet's epoch when (block + netuid + 1) is a multiple
// of tempo + 1; its epoch index (pallets/subtensor weights.rs `get_epoch_index`) is
// floor((block + netuid + 1) / (tempo + 1)), and commit-reveal v2 allows a reveal only in epoch
// commit_epoch + RevealPeriodEpochs of that same index. Settlements use the chain's epochs unless
// SETTLEMENT_EPOCH_BLOCKS fixes a length (then epoch = floor(block / length)).

export type EpochSchedule = { kind: "tempo"; netuid: number; tempo: number } | { kind: "fixed"; blocks: number };

/** Blocks per epoch. */
export function epochLength(s: EpochSchedule): number {
  return s.kind === "tempo" ? s.tempo + 1 : s.blocks;
}

/** The epoch `block` belongs to. */
export function epochIndex(s: EpochSchedule, block: number): number {
  if (s.kind === "fixed") return Math.floor(block / s.blocks);
  return chainEpochIndex(s.netuid, s.tempo, block);
}

/** First block of epoch `index` (0 for epochs that would start before genesis). */
export function epochStartBlock(s: EpochSchedule, index: number): number {
  if (s.kind === "fixed") return index * s.blocks;
  return Math.max(0, index * (s.tempo + 1) - (s.netuid + 1));
}

/** Subtensor's `get_epoch_index`. */
export function chainEpochIndex(netuid: number, tempo: number, block: number): number {
  return Math.floor((block + netuid + 1) / (tempo + 1));
}

export type RevealWindow = {
  /** The only epoch in which the reveal is accepted. */
  epoch: number;
  firstBlock: number;
  lastBlock: number;
};

/** Where the reveal of a commit included at `commitBlock` is allowed (Subtensor `get_reveal_blocks`). */
export function revealWindow(netuid: number, tempo: number, revealPeriod: number, commitBlock: number): RevealWindow {
  const epoch = chainEpochIndex(netuid, tempo, commitBlock) + revealPeriod;
  const firstBlock = Math.max(0, epoch * (tempo + 1) - (netuid + 1));
  return { epoch, firstBlock, lastBlock: firstBlock + tempo };
}

/**
 * Whether a reveal included in the block after `currentBlock` would be early, accepted, or
 * refused as expired. The next block is where a transaction sent now lands.
 */
export function revealTiming(netuid: number, tempo: number, revealPeriod: number, commitBlock: number, currentBlock: number): "early" | "open" | "expired" {
  const target = chainEpochIndex(netuid, tempo, commitBlock) + revealPeriod;
  const next = chainEpochIndex(netuid, tempo, currentBlock + 1);
  if (next < target) return "early";
  return next === target ? "open" : "expired";
}
