import { beforeAll, describe, expect, it } from "vitest";
import { cryptoWaitReady, signatureVerify } from "@polkadot/util-crypto";
import { sign as scureSign, verify as scureVerify } from "@scure/sr25519";
import { bytesToHex } from "@noble/hashes/utils.js";
import { keypairFromUri } from "../../../src/protocol/keys";
import { prepareSigner } from "../../../src/protocol/sr25519-signer";

const utf8 = new TextEncoder();
const keys = ["//Alice", "//Bob", "//Alice//stash/0", "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"].map(keypairFromUri);

beforeAll(async () => {
  await cryptoWaitReady();
});

describe("prepared sr25519 signer", () => {
  it("produces exactly @scure/sr25519's signature for the same randomness", () => {
    for (const kp of keys) {
      const signer = prepareSigner(kp.secretKey, kp.publicKey);
      for (const len of [0, 1, 64, 165, 166, 167, 400]) {
        const message = crypto.getRandomValues(new Uint8Array(len));
        const random = crypto.getRandomValues(new Uint8Array(32));
        expect(bytesToHex(signer.sign(message, random))).toBe(bytesToHex(scureSign(kp.secretKey, message, random)));
      }
    }
  });

  it("signatures with fresh randomness verify with @polkadot/util-crypto and @scure/sr25519", () => {
    for (const kp of keys) {
      const signer = prepareSigner(kp.secretKey, kp.publicKey);
      const message = utf8.encode(`abc.${crypto.randomUUID()}.1764000000000.${kp.ss58}`);
      const a = signer.sign(message);
      const b = signer.sign(message);
      expect(bytesToHex(a)).not.toBe(bytesToHex(b)); // randomised nonce
      for (const sig of [a, b]) {
        expect(scureVerify(message, sig, kp.publicKey)).toBe(true);
        expect(signatureVerify(message, sig, kp.ss58).isValid).toBe(true);
      }
    }
  });

  it("rejects keys of the wrong size", () => {
    expect(() => prepareSigner(new Uint8Array(32), new Uint8Array(32))).toThrow(RangeError);
    const kp = keys[0];
    if (!kp) throw new Error("no key");
    expect(() => prepareSigner(kp.secretKey, new Uint8Array(33))).toThrow(RangeError);
    expect(() => prepareSigner(kp.secretKey, kp.publicKey).sign(new Uint8Array(1), new Uint8Array(31))).toThrow(RangeError);
  });
});
