// sr25519 keypairs from Substrate secret URIs, pure TS (runs in Node 20 and workerd: no node:, no WASM).
//
// Accepted URIs (the same shapes `subkey` / `@polkadot/keyring` accept for sr25519):
//   "<bip39 mnemonic>[junctions][///password]"   e.g. "word ... word//hard/soft///pw"
//   "//Alice", "/soft//hard"                      dev phrase + junctions (any URI starting with "/")
//   "0x<64 hex>[junctions]"                       32-byte mini-secret seed (password ignored, as upstream)
// Substrate's mnemonic -> mini-secret is not the BIP39 seed: it is
// pbkdf2-sha512(entropy, "mnemonic" + password, 2048)[0..32].
import { HDKD, getPublicKey, secretFromSeed } from "@scure/sr25519";
import { mnemonicToEntropy } from "@scure/bip39";
import { wordlist as english } from "@scure/bip39/wordlists/english.js";
import { pbkdf2 } from "@noble/hashes/pbkdf2.js";
import { sha512 } from "@noble/hashes/sha2.js";
import { blake2b } from "@noble/hashes/blake2.js";
import { hexToBytes } from "@noble/hashes/utils.js";
import { ss58Encode } from "./ss58";

export { ss58Decode, ss58Encode, ss58DecodeWithPrefix, Ss58Error } from "./ss58";

export type Sr25519Keypair = {
  /** 32-byte sr25519 public key (the AccountId). */
  publicKey: Uint8Array;
  /** 64-byte secret in @scure/sr25519 format (scalar || nonce). */
  secretKey: Uint8Array;
  /** SS58 address, prefix 42. */
  ss58: string;
  /**
   * A faster implementation of this key's sr25519 signature ("substrate" context, 64 bytes),
   * when one is bound: the gateway Worker binds WebAssembly (src/routing/signer.ts). Without it
   * signRequest uses the pure-TS signer (sr25519-signer.ts), which runs anywhere.
   */
  sign?: (message: Uint8Array) => Uint8Array;
};

export const DEV_PHRASE = "bottom drive obey lake curtain smoke basket hold race lonely fit walk";

export class SecretUriError extends Error {
  override name = "SecretUriError";
}

export type DeriveJunction = { hard: boolean; chainCode: Uint8Array };

const JUNCTION_ID_LEN = 32;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const utf8 = new TextEncoder();

/** SCALE compact length prefix (only the small modes are needed for junction strings). */
function compactLength(n: number): Uint8Array {
  if (n < 1 << 6) return Uint8Array.of(n << 2);
  if (n < 1 << 14) return Uint8Array.of(((n << 2) | 0b01) & 0xff, n >> 6);
  if (n < 1 << 30) {
    const v = (n << 2) | 0b10;
    return Uint8Array.of(v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, (v >>> 24) & 0xff);
  }
  throw new SecretUriError("derivation junction too long");
}

/**
 * Chain code of one junction, per substrate `DeriveJunction::soft/hard`: SCALE-encode the index
 * (decimal fitting u64 -> u64 LE; anything else -> compact-length-prefixed UTF-8), then zero-pad to
 * 32 bytes, or blake2b-256 it when longer than 32 bytes.
 * (@polkadot/util-crypto differs only for decimals above u64::MAX and for "0x.." junctions, which it
 * treats as raw bytes; Substrate's Rust behaviour is followed here.)
 */
export function junctionChainCode(code: string): Uint8Array {
  let encoded: Uint8Array;
  if (/^\d+$/.test(code) && BigInt(code) <= U64_MAX) {
    let n = BigInt(code);
    encoded = new Uint8Array(8);
    for (let i = 0; i < 8; i++) {
      encoded[i] = Number(n & 0xffn);
      n >>= 8n;
    }
  } else {
    const bytes = utf8.encode(code);
    const prefix = compactLength(bytes.length);
    encoded = new Uint8Array(prefix.length + bytes.length);
    encoded.set(prefix, 0);
    encoded.set(bytes, prefix.length);
  }
  if (encoded.length > JUNCTION_ID_LEN) return blake2b(encoded, { dkLen: 32 });
  const chainCode = new Uint8Array(JUNCTION_ID_LEN);
  chainCode.set(encoded, 0);
  return chainCode;
}

type ParsedUri = { phrase: string; junctions: DeriveJunction[]; password: string };

/** Splits "<phrase><junctions>///<password>" into parts; exported for tests and tooling. */
export function parseSecretUri(uri: string): ParsedUri {
  if (typeof uri !== "string") throw new SecretUriError("secret URI must be a string");
  // NFC like @polkadot/keyring so visually identical input derives the same key; trim because
  // URIs usually come from env vars / files with a trailing newline.
  const text = uri.normalize("NFC").trim();
  if (text === "") throw new SecretUriError("secret URI is empty");

  const pwAt = text.indexOf("///");
  const password = pwAt >= 0 ? text.slice(pwAt + 3) : "";
  const beforePassword = pwAt >= 0 ? text.slice(0, pwAt) : text;
  const slashAt = beforePassword.indexOf("/");
  let phrase = slashAt >= 0 ? beforePassword.slice(0, slashAt) : beforePassword;
  const path = slashAt >= 0 ? beforePassword.slice(slashAt) : "";
  if (phrase === "") phrase = DEV_PHRASE; // "//Alice": Substrate's dev-phrase shorthand

  const junctions: DeriveJunction[] = [];
  const re = /\/(\/?)([^/]+)/g;
  let rebuilt = "";
  for (const m of path.matchAll(re)) {
    rebuilt += m[0];
    junctions.push({ hard: m[1] === "/", chainCode: junctionChainCode(m[2] ?? "") });
  }
  if (rebuilt !== path) {
    throw new SecretUriError(`invalid derivation path ${JSON.stringify(path)} (empty junction or more than two slashes)`);
  }
  return { phrase, junctions, password };
}

/** Substrate mini-secret from a BIP39 English mnemonic (validates words and checksum). */
export function miniSecretFromMnemonic(mnemonic: string, password = ""): Uint8Array {
  let entropy: Uint8Array;
  try {
    entropy = mnemonicToEntropy(mnemonic, english);
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    throw new SecretUriError(`invalid BIP39 mnemonic: ${why}`);
  }
  const salt = utf8.encode(`mnemonic${password}`);
  return pbkdf2(sha512, entropy, salt, { c: 2048, dkLen: 64 }).slice(0, 32);
}

function seedFromPhrase(phrase: string, password: string): Uint8Array {
  if (/^0x/i.test(phrase)) {
    if (!/^0x[0-9a-fA-F]{64}$/.test(phrase)) {
      throw new SecretUriError("hex secret seed must be 0x followed by exactly 64 hex digits (32 bytes)");
    }
    return hexToBytes(phrase.slice(2));
  }
  const words = phrase.split(" ");
  if (![12, 15, 18, 21, 24].includes(words.length) || words.some((w) => w === "")) {
    throw new SecretUriError(
      "secret URI must be a 12-24 word BIP39 mnemonic (single spaces), a 0x 32-byte hex seed, or start with // (dev phrase)",
    );
  }
  return miniSecretFromMnemonic(phrase, password);
}

/** Derives a child secret (64-byte @scure format) along the junctions, like substrate HDKD. */
export function deriveSecret(secretKey: Uint8Array, junctions: readonly DeriveJunction[]): Uint8Array {
  let secret = secretKey;
  for (const j of junctions) {
    // Soft derivation mixes in a random nonce by default; a fixed zero nonce keeps the derived
    // secret deterministic (only the signing nonce half differs, the public key never does).
    secret = j.hard ? HDKD.secretHard(secret, j.chainCode) : HDKD.secretSoft(secret, j.chainCode, new Uint8Array(32));
  }
  return secret;
}

/** Keypair from a 32-byte mini-secret seed (ed25519-expansion mode, like schnorrkel/polkadot). */
export function keypairFromSeed(seed: Uint8Array, junctions: readonly DeriveJunction[] = []): Sr25519Keypair {
  if (seed.length !== 32) throw new SecretUriError("seed must be 32 bytes");
  const secretKey = deriveSecret(secretFromSeed(seed), junctions);
  const publicKey = getPublicKey(secretKey);
  return { publicKey, secretKey, ss58: ss58Encode(publicKey, 42) };
}

/** Keypair from a Substrate secret URI (see the file comment for accepted forms). Throws SecretUriError. */
export function keypairFromUri(uri: string): Sr25519Keypair {
  const { phrase, junctions, password } = parseSecretUri(uri);
  return keypairFromSeed(seedFromPhrase(phrase, password), junctions);
}
