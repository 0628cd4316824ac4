// sr25519 signing with per-key precomputation, byte-for-byte the signature @scure/sr25519's
// `sign(secretKey, message, random)` produces (schnorrkel "substrate" context), but cheaper:
// @scure recomputes the public key point (a base-point multiplication, then a decode and an
// encode of it) on every call, and rebuilds the constant part of the Merlin transcript. Here the
// scalar, nonce seed and public key bytes are derived once per key and the transcript state after
// the constant "SigningContext"/"substrate" prefix is cloned instead of recomputed. What is left
// per signature is the irreducible part: one base-point multiplication (R = r·G), R's encoding,
// a handful of Keccak-f permutations and scalar arithmetic.
//
// Runtime-neutral (workerd and Node): pure TS over @noble/curves and @noble/hashes.
import { ristretto255, ed25519 } from "@noble/curves/ed25519.js";
import { bytesToNumberLE, numberToBytesLE } from "@noble/curves/utils.js";
import { keccakP } from "@noble/hashes/sha3.js";

const utf8 = new TextEncoder();
const Point = ristretto255.Point;
const ORDER = ed25519.Point.Fn.ORDER;
const modN = (n: bigint): bigint => {
  const r = n % ORDER;
  return r >= 0n ? r : r + ORDER;
};

// --- STROBE-128 (the subset Merlin uses: meta-AD, AD, PRF, KEY), see strobe.sourceforge.io ---
const STROBE_R = 166;
const FLAG_I = 1;
const FLAG_A = 1 << 1;
const FLAG_C = 1 << 2;
const FLAG_M = 1 << 4;

class Strobe128 {
  readonly state = new Uint8Array(200);
  private readonly state32 = new Uint32Array(this.state.buffer, 0, 50);
  pos = 0;
  posBegin = 0;
  curFlags = 0;

  static create(protocolLabel: string): Strobe128 {
    const s = new Strobe128();
    s.state.set([1, STROBE_R + 2, 1, 0, 1, 96], 0);
    s.state.set(utf8.encode("STROBEv1.0.2"), 6);
    keccakP(s.state32);
    s.metaAD(utf8.encode(protocolLabel), false);
    return s;
  }

  clone(): Strobe128 {
    const c = new Strobe128();
    c.state.set(this.state);
    c.pos = this.pos;
    c.posBegin = this.posBegin;
    c.curFlags = this.curFlags;
    return c;
  }

  private runF(): void {
    this.state[this.pos] = (this.state[this.pos] as number) ^ this.posBegin;
    this.state[this.pos + 1] = (this.state[this.pos + 1] as number) ^ 0x04;
    this.state[STROBE_R + 1] = (this.state[STROBE_R + 1] as number) ^ 0x80;
    keccakP(this.state32);
    this.pos = 0;
    this.posBegin = 0;
  }

  private absorb(data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      this.state[this.pos] = (this.state[this.pos] as number) ^ (data[i] as number);
      if (++this.pos === STROBE_R) this.runF();
    }
  }

  private overwrite(data: Uint8Array): void {
    for (let i = 0; i < data.length; i++) {
      this.state[this.pos] = data[i] as number;
      if (++this.pos === STROBE_R) this.runF();
    }
  }

  private squeeze(len: number): Uint8Array {
    const out = new Uint8Array(len);
    for (let i = 0; i < len; i++) {
      out[i] = this.state[this.pos] as number;
      this.state[this.pos] = 0;
      if (++this.pos === STROBE_R) this.runF();
    }
    return out;
  }

  private beginOp(flags: number, more: boolean): void {
    if (more) {
      if (this.curFlags !== flags) throw new Error("strobe: continued operation with different flags");
      return;
    }
    const oldBegin = this.posBegin;
    this.posBegin = this.pos + 1;
    this.curFlags = flags;
    this.absorb(Uint8Array.of(oldBegin, flags));
    if ((flags & FLAG_C) !== 0 && this.pos !== 0) this.runF();
  }

  metaAD(data: Uint8Array, more: boolean): void {
    this.beginOp(FLAG_M | FLAG_A, more);
    this.absorb(data);
  }

  AD(data: Uint8Array, more: boolean): void {
    this.beginOp(FLAG_A, more);
    this.absorb(data);
  }

  PRF(len: number): Uint8Array {
    this.beginOp(FLAG_I | FLAG_A | FLAG_C, false);
    return this.squeeze(len);
  }

  KEY(data: Uint8Array): void {
    this.beginOp(FLAG_A | FLAG_C, false);
    this.overwrite(data);
  }
}

// --- Merlin transcript operations (merlin.cool) ---
const le32 = (n: number): Uint8Array => numberToBytesLE(n, 4);
const label = (s: string): Uint8Array => utf8.encode(s);

function appendMessage(t: Strobe128, name: Uint8Array, message: Uint8Array): void {
  t.metaAD(name, false);
  t.metaAD(le32(message.length), true);
  t.AD(message, false);
}

function challengeBytes(t: Strobe128, name: Uint8Array, len: number): Uint8Array {
  t.metaAD(name, false);
  t.metaAD(le32(len), true);
  return t.PRF(len);
}

/** schnorrkel's transcript RNG: a fork of the transcript keyed with the nonce seed and fresh randomness. */
function witnessScalar(t: Strobe128, name: Uint8Array, random: Uint8Array, nonceSeed: Uint8Array): bigint {
  const rng = t.clone();
  rng.metaAD(name, false);
  rng.metaAD(le32(nonceSeed.length), true);
  rng.KEY(nonceSeed);
  rng.metaAD(L.rng, false);
  rng.KEY(random);
  rng.metaAD(le32(64), false);
  return modN(bytesToNumberLE(rng.PRF(64)));
}

const L = {
  domSep: label("dom-sep"),
  empty: label(""),
  signBytes: label("sign-bytes"),
  protoName: label("proto-name"),
  schnorrSig: label("Schnorr-sig"),
  signPk: label("sign:pk"),
  signR: label("sign:R"),
  signC: label("sign:c"),
  signing: label("signing"),
  rng: label("rng"),
};

/** Transcript state after Merlin("SigningContext") and the "substrate" context label: the same for every signature. */
const SUBSTRATE_PREFIX: Strobe128 = (() => {
  const t = Strobe128.create("Merlin v1.0");
  appendMessage(t, L.domSep, label("SigningContext"));
  appendMessage(t, L.empty, label("substrate"));
  return t;
})();

export interface PreparedSigner {
  readonly publicKey: Uint8Array;
  /** 64-byte sr25519 signature over `message`; `random` (32 bytes) only to reproduce vectors. */
  sign(message: Uint8Array, random?: Uint8Array): Uint8Array;
}

/**
 * Prepares signing for a 64-byte @scure-format secret key (scalar·8 ‖ nonce) whose public key
 * is `publicKey`. The caller vouches that they match (keys.ts derives both from the same secret).
 */
export function prepareSigner(secretKey: Uint8Array, publicKey: Uint8Array): PreparedSigner {
  if (secretKey.length !== 64) throw new RangeError("sr25519 secret key must be 64 bytes");
  if (publicKey.length !== 32) throw new RangeError("sr25519 public key must be 32 bytes");
  const keyScalar = bytesToNumberLE(secretKey.subarray(0, 32)) >> 3n;
  const nonceSeed = secretKey.slice(32, 64);
  const pub = publicKey.slice();
  return {
    publicKey: pub,
    sign(message, random = crypto.getRandomValues(new Uint8Array(32))) {
      if (random.length !== 32) throw new RangeError("random must be 32 bytes");
      const t = SUBSTRATE_PREFIX.clone();
      appendMessage(t, L.signBytes, message);
      appendMessage(t, L.protoName, L.schnorrSig);
      appendMessage(t, L.signPk, pub);
      const r = witnessScalar(t, L.signing, random, nonceSeed);
      const R = Point.BASE.multiply(r).toBytes();
      appendMessage(t, L.signR, R);
      const k = modN(bytesToNumberLE(challengeBytes(t, L.signC, 64)));
      const s = modN(k * keyScalar + r);
      const sig = new Uint8Array(64);
      sig.set(R, 0);
      sig.set(numberToBytesLE(s, 32), 32);
      sig[63] = (sig[63] as number) | 128; // schnorrkel marker
      return sig;
    },
  };
}
