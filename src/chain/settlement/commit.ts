// Commit-reveal v2 (pure): the hash commit_weights stores and reveal_weights must reproduce,
//   BlakeTwo256(SCALE(AccountId32 hotkey, u16 netuid, Vec<u16> uids, Vec<u16> values, Vec<u16> salt, u64 version_key))
// (pallets/subtensor weights.rs `do_reveal_weights`; checked against the runtime in the chain tests).
import { blake2b } from "@noble/hashes/blake2.js";

/** Salt length in u16s (the bittensor SDK uses 8). */
export const SALT_LENGTH = 8;

function u16le(v: number): number[] {
  if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError(`not a u16: ${v}`);
  return [v & 0xff, v >> 8];
}

function compactLength(n: number): number[] {
  if (n < 1 << 6) return [n << 2];
  if (n < 1 << 14) return u16le((n << 2) | 1);
  if (n < 1 << 30) {
    const v = ((n << 2) | 2) >>> 0;
    return [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff];
  }
  throw new RangeError(`vector too long: ${n}`);
}

function vecU16(values: readonly number[]): number[] {
  return [...compactLength(values.length), ...values.flatMap(u16le)];
}

function u64le(v: bigint): number[] {
  if (v < 0n || v > 0xffff_ffff_ffff_ffffn) throw new RangeError(`not a u64: ${v}`);
  return Array.from({ length: 8 }, (_, i) => Number((v >> BigInt(8 * i)) & 0xffn));
}

export type CommitInput = {
  /** The validator hotkey's 32-byte public key. */
  hotkey: Uint8Array;
  netuid: number;
  uids: readonly number[];
  values: readonly number[];
  salt: readonly number[];
  versionKey: bigint;
};

/** SCALE encoding of the committed tuple. */
export function encodeCommit(c: CommitInput): Uint8Array {
  if (c.hotkey.length !== 32) throw new RangeError(`hotkey must be 32 bytes, got ${c.hotkey.length}`);
  return Uint8Array.from([...c.hotkey, ...u16le(c.netuid), ...vecU16(c.uids), ...vecU16(c.values), ...vecU16(c.salt), ...u64le(c.versionKey)]);
}

/** 0x-prefixed hex of BlakeTwo256 over the encoding. */
export function commitHash(c: CommitInput): string {
  const digest = blake2b(encodeCommit(c), { dkLen: 32 });
  return `0x${Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("")}`;
}

/** A fresh random salt (crypto.getRandomValues; never Math.random: the salt hides the weights until revealed). */
export function newSalt(): number[] {
  return Array.from(crypto.getRandomValues(new Uint16Array(SALT_LENGTH)));
}
