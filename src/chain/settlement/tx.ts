// Extrinsics a settlement can always account for. Each one is signed OFFLINE with an explicit
// nonce and a short mortal era, so before broadcasting we know its hash and the blocks in which it
// could ever be included. Whether it landed is then answered from blocks, not from a subscription
// (which would die with the Worker): scan [birth, finalized head] for the hash; if absent and the
// era is over, or the signer's nonce at the finalized head has moved past ours, it can never land.
// Works over HTTP RPC as well as WebSocket.
import type { ApiPromise } from "@polkadot/api";
import type { SubmittableExtrinsic } from "@polkadot/api/types";
import type { KeyringPair } from "@polkadot/keyring/types";
import type { DispatchError } from "@polkadot/types/interfaces";
import { ChainDecodeError } from "../errors";
import { describeDispatchError } from "../extrinsic";
import { accountInfo, systemEvents } from "./storage";

/** Blocks an extrinsic stays valid (about 13 minutes at 12 s blocks): bounds every inclusion scan. */
export const DEFAULT_ERA_PERIOD = 64;

export type SignedExtrinsic = {
  hash: string;
  hex: string;
  signer: string;
  nonce: number;
  /** Valid in blocks birthBlock <= n < deathBlock. */
  birthBlock: number;
  deathBlock: number;
};

/** Signs `call` for inclusion from the current best block on, with the signer's next nonce. */
export async function signExtrinsic(api: ApiPromise, call: SubmittableExtrinsic<"promise">, pair: KeyringPair, eraPeriod = DEFAULT_ERA_PERIOD): Promise<SignedExtrinsic> {
  const [header, nextIndex] = await Promise.all([api.rpc.chain.getHeader(), api.rpc.system.accountNextIndex(pair.address)]);
  const current = header.number.toNumber();
  const era = api.registry.createType("ExtrinsicEra", { current, period: eraPeriod });
  if (!era.isMortalEra) throw new ChainDecodeError("could not build a mortal era");
  const nonce = nextIndex.toNumber();
  // The checkpoint is `current` itself for periods up to 4096 (no quantisation), so its hash is the header's.
  const signed = await call.signAsync(pair, { nonce, era, blockHash: header.hash });
  return {
    hash: signed.hash.toHex(),
    hex: signed.toHex(),
    signer: pair.address,
    nonce,
    birthBlock: era.asMortalEra.birth(current),
    deathBlock: era.asMortalEra.death(current),
  };
}

/** Why the pool refused an extrinsic, as `Pool.<kind>` (e.g. `Pool.Invalid.Payment`, `Pool.Invalid.Custom(3)`). */
export function describePoolRefusal(err: unknown): string {
  const message = err instanceof Error ? err.message : String(err);
  const code = /^(\d{4}):/.exec(message)?.[1];
  const lower = message.toLowerCase();
  const custom = /custom(?: error)?["\s:]*\(?(\d+)/i.exec(message)?.[1];
  if (custom !== undefined) return `Pool.Invalid.Custom(${custom})`;
  if (lower.includes("payment") || lower.includes("inability to pay")) return "Pool.Invalid.Payment";
  if (lower.includes("stale") || lower.includes("outdated")) return "Pool.Invalid.Stale";
  if (lower.includes("future")) return "Pool.Invalid.Future";
  if (lower.includes("badproof") || lower.includes("bad signature")) return "Pool.Invalid.BadProof";
  if (lower.includes("ancientbirthblock") || lower.includes("ancient birth")) return "Pool.Invalid.AncientBirthBlock";
  if (code === "1012") return "Pool.TemporarilyBanned";
  if (code === "1013") return "Pool.AlreadyImported";
  if (code === "1014") return "Pool.PriorityTooLow";
  if (code === "1010") return "Pool.Invalid";
  if (code === "1011") return "Pool.Unknown";
  return `Pool.Error(${message.slice(0, 120)})`;
}

export type BroadcastResult = { ok: true } | { ok: false; error: string; detail: string };

/** Hands the signed bytes to the node. Re-broadcasting the same bytes is always safe (same nonce). */
export async function broadcast(api: ApiPromise, hex: string): Promise<BroadcastResult> {
  try {
    await api.rpc.author.submitExtrinsic(hex);
    return { ok: true };
  } catch (err) {
    return { ok: false, error: describePoolRefusal(err), detail: err instanceof Error ? err.message : String(err) };
  }
}

export type TxFate =
  | { state: "included"; blockNumber: number; blockHash: string; ok: true; events: string[] }
  | { state: "included"; blockNumber: number; blockHash: string; ok: false; error: string; docs: string }
  /** Not in a finalized block yet, and it still could be. */
  | { state: "pending"; scannedTo: number }
  /** Not included, and it never can be: replacing it cannot double-submit. */
  | { state: "dead"; reason: string };

type Findable = Pick<SignedExtrinsic, "hash" | "signer" | "nonce" | "birthBlock" | "deathBlock">;

async function outcomeAt(api: ApiPromise, blockHash: string, index: number): Promise<{ ok: true; events: string[] } | { ok: false; error: string; docs: string }> {
  const records = await systemEvents(await api.at(blockHash));
  const mine = records.filter((r) => r.phase.isApplyExtrinsic && r.phase.asApplyExtrinsic.toNumber() === index);
  for (const { event } of mine) {
    if (event.section === "system" && event.method === "ExtrinsicFailed") {
      const { error, docs } = describeDispatchError(api, event.data[0] as DispatchError);
      return { ok: false, error, docs };
    }
  }
  if (!mine.some(({ event }) => event.section === "system" && event.method === "ExtrinsicSuccess")) {
    throw new ChainDecodeError(`extrinsic ${index} of block ${blockHash} has neither ExtrinsicSuccess nor ExtrinsicFailed`);
  }
  return { ok: true, events: mine.map(({ event }) => `${event.section}.${event.method}`) };
}

/**
 * Where `tx` stands, judged at the finalized head only (a best block can still be reorganised
 * away). The nonce is read at that same head BEFORE concluding "dead", so an inclusion racing the
 * scan cannot be mistaken for a lost extrinsic. `fromBlock` skips blocks already scanned.
 */
export async function findExtrinsic(api: ApiPromise, tx: Findable, fromBlock = tx.birthBlock): Promise<TxFate> {
  const finalizedHash = await api.rpc.chain.getFinalizedHead();
  const [finalized, atFinal] = await Promise.all([api.rpc.chain.getHeader(finalizedHash), api.at(finalizedHash)]);
  const head = finalized.number.toNumber();
  const nonceAtHead = (await accountInfo(atFinal, tx.signer)).nonce.toNumber();
  const last = Math.min(head, tx.deathBlock - 1);
  for (let n = Math.max(fromBlock, tx.birthBlock); n <= last; n++) {
    const blockHash = n === head ? finalizedHash : await api.rpc.chain.getBlockHash(n);
    const block = await api.rpc.chain.getBlock(blockHash);
    const index = block.block.extrinsics.findIndex((x) => x.hash.toHex() === tx.hash);
    if (index >= 0) return { state: "included", blockNumber: n, blockHash: blockHash.toHex(), ...(await outcomeAt(api, blockHash.toHex(), index)) };
  }
  if (head >= tx.deathBlock - 1) return { state: "dead", reason: `era ended at block ${tx.deathBlock} without inclusion` };
  if (nonceAtHead > tx.nonce) return { state: "dead", reason: `nonce ${tx.nonce} was used by another extrinsic (account nonce ${nonceAtHead})` };
  return { state: "pending", scannedTo: last };
}

/** Polls findExtrinsic until the extrinsic is included or dead, or `timeoutMs` passes (then pending). */
export async function waitForExtrinsic(api: ApiPromise, tx: Findable, timeoutMs: number, pollMs = 500): Promise<TxFate> {
  const deadline = Date.now() + timeoutMs;
  let from = tx.birthBlock;
  for (;;) {
    const fate = await findExtrinsic(api, tx, from);
    if (fate.state !== "pending" || Date.now() >= deadline) return fate;
    from = fate.scannedTo + 1;
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
