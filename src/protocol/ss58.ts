// SS58 addresses (Substrate's base58 + blake2b checksum), pure TS for Node and workerd.
// Format: base58(prefixBytes ++ publicKey ++ blake2b512("SS58PRE" ++ prefixBytes ++ publicKey)[0..2]).
import { blake2b } from "@noble/hashes/blake2.js";

const ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";
const ALPHABET_INDEX: Readonly<Record<string, number>> = Object.fromEntries(
  Array.from(ALPHABET, (ch, i) => [ch, i]),
);
const SS58_PRE = new TextEncoder().encode("SS58PRE");

export class Ss58Error extends Error {
  override name = "Ss58Error";
}

function base58Encode(bytes: Uint8Array): string {
  // Classic big-number-in-a-digit-array conversion; inputs are ~35 bytes so O(n^2) is fine.
  const digits: number[] = [];
  for (const byte of bytes) {
    let carry = byte;
    for (let i = 0; i < digits.length; i++) {
      carry += (digits[i] ?? 0) << 8;
      digits[i] = carry % 58;
      carry = (carry / 58) | 0;
    }
    while (carry > 0) {
      digits.push(carry % 58);
      carry = (carry / 58) | 0;
    }
  }
  let out = "";
  for (let i = 0; i < bytes.length && bytes[i] === 0; i++) out += "1";
  for (let i = digits.length - 1; i >= 0; i--) out += ALPHABET[digits[i] ?? 0];
  return out;
}

function base58Decode(text: string): Uint8Array {
  const bytes: number[] = [];
  for (const ch of text) {
    const value = ALPHABET_INDEX[ch];
    if (value === undefined) throw new Ss58Error(`invalid base58 character ${JSON.stringify(ch)}`);
    let carry = value;
    for (let i = 0; i < bytes.length; i++) {
      carry += (bytes[i] ?? 0) * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    while (carry > 0) {
      bytes.push(carry & 0xff);
      carry >>= 8;
    }
  }
  let zeros = 0;
  while (zeros < text.length && text[zeros] === "1") zeros++;
  const out = new Uint8Array(zeros + bytes.length);
  for (let i = 0; i < bytes.length; i++) out[out.length - 1 - i] = bytes[i] ?? 0;
  return out;
}

function checksum(payload: Uint8Array): Uint8Array {
  const input = new Uint8Array(SS58_PRE.length + payload.length);
  input.set(SS58_PRE, 0);
  input.set(payload, SS58_PRE.length);
  return blake2b(input, { dkLen: 64 }).subarray(0, 2);
}

function prefixBytes(prefix: number): Uint8Array {
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > 16383 || prefix === 46 || prefix === 47) {
    throw new Ss58Error(`invalid ss58 prefix ${prefix}`);
  }
  if (prefix < 64) return Uint8Array.of(prefix);
  // Two-byte form (substrate ss58-registry): 14 bits split across the two bytes.
  return Uint8Array.of(((prefix & 0b1111_1100) >> 2) | 0b0100_0000, (prefix >> 8) | ((prefix & 0b11) << 6));
}

/** Encodes a 32-byte public key (AccountId) as an SS58 address; prefix 42 = generic Substrate / Bittensor. */
export function ss58Encode(publicKey: Uint8Array, prefix = 42): string {
  if (publicKey.length !== 32) throw new Ss58Error(`public key must be 32 bytes, got ${publicKey.length}`);
  const pre = prefixBytes(prefix);
  const payload = new Uint8Array(pre.length + 32);
  payload.set(pre, 0);
  payload.set(publicKey, pre.length);
  const sum = checksum(payload);
  const full = new Uint8Array(payload.length + 2);
  full.set(payload, 0);
  full.set(sum, payload.length);
  return base58Encode(full);
}

/** Decoded address with its network prefix, for callers that want to check the network. */
export function ss58DecodeWithPrefix(address: string): { publicKey: Uint8Array; prefix: number } {
  if (typeof address !== "string" || address.length < 40 || address.length > 60) {
    throw new Ss58Error("not an ss58 address (bad length)");
  }
  const raw = base58Decode(address);
  const first = raw[0];
  if (first === undefined) throw new Ss58Error("empty ss58 address");
  let prefix: number;
  let preLen: number;
  if (first < 64) {
    prefix = first;
    preLen = 1;
  } else if (first < 128) {
    const second = raw[1] ?? 0;
    prefix = ((first & 0b0011_1111) << 2) | (second >> 6) | ((second & 0b0011_1111) << 8);
    preLen = 2;
  } else {
    throw new Ss58Error("invalid ss58 prefix byte");
  }
  // Only 32-byte account ids (sr25519/ed25519 keys) are meaningful here.
  if (raw.length !== preLen + 32 + 2) throw new Ss58Error(`unexpected ss58 payload length ${raw.length}`);
  const payload = raw.subarray(0, preLen + 32);
  const sum = checksum(payload);
  if (sum[0] !== raw[preLen + 32] || sum[1] !== raw[preLen + 33]) {
    throw new Ss58Error("invalid ss58 checksum");
  }
  return { publicKey: raw.slice(preLen, preLen + 32), prefix };
}

/** Decodes an SS58 address to its 32-byte public key, validating the checksum (any prefix). */
export function ss58Decode(address: string): Uint8Array {
  return ss58DecodeWithPrefix(address).publicKey;
}
