import { beforeAll, describe, expect, it } from "vitest";
import { Keyring } from "@polkadot/keyring";
import { cryptoWaitReady } from "@polkadot/util-crypto";
import { bytesToHex } from "@noble/hashes/utils.js";
import { SecretUriError, Ss58Error, keypairFromUri, parseSecretUri, ss58Decode, ss58DecodeWithPrefix, ss58Encode } from "../../../src/protocol/keys";
import { loadEpistulaVectors } from "./shared";

const vectors = loadEpistulaVectors();
// BIP39 reference test mnemonic (valid checksum), not a real wallet.
const MNEMONIC = "legal winner thank year wave sausage worth useful legal winner thank yellow";
const hex = (b: Uint8Array): string => `0x${bytesToHex(b)}`;

let keyring: Keyring;
beforeAll(async () => {
  await cryptoWaitReady();
  keyring = new Keyring({ type: "sr25519", ss58Format: 42 });
});

describe("keypairFromUri", () => {
  it("derives //Alice and //Bob exactly as in the shared vectors", () => {
    for (const party of [vectors.signer, vectors.receiver]) {
      const kp = keypairFromUri(party.uri);
      expect(hex(kp.publicKey)).toBe(party.publicKey);
      expect(kp.ss58).toBe(party.ss58);
      expect(kp.secretKey).toHaveLength(64);
    }
  });

  const crossChecked = [
    `${MNEMONIC}`,
    `${MNEMONIC}//hard/soft`,
    `${MNEMONIC}//hard/soft///p@ss/word`,
    `${MNEMONIC}/soft//hard//0/1`,
    `${MNEMONIC}//18446744073709551615`,
    `${MNEMONIC}//a-junction-name-that-is-clearly-longer-than-thirty-two-bytes`,
    `${MNEMONIC}//${"x".repeat(70)}`, // two-byte compact length prefix
    `${MNEMONIC}//héllo✓`,
    "//Alice//stash",
    "//Alice/soft",
    "//Charlie///pw",
    "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
    "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60//hard/soft",
  ];
  it.each(crossChecked)("matches @polkadot/keyring for %s", (uri) => {
    const ours = keypairFromUri(uri);
    const theirs = keyring.addFromUri(uri);
    expect(hex(ours.publicKey)).toBe(hex(theirs.publicKey));
    expect(ours.ss58).toBe(theirs.address);
  });

  it("is deterministic, including soft-derived secrets", () => {
    const a = keypairFromUri(`${MNEMONIC}//hard/soft`);
    const b = keypairFromUri(`${MNEMONIC}//hard/soft`);
    expect(hex(a.secretKey)).toBe(hex(b.secretKey));
  });

  it("trims surrounding whitespace (env vars, files)", () => {
    expect(keypairFromUri("  //Alice\n").ss58).toBe(vectors.signer.ss58);
  });

  const bad: Array<[string, RegExp]> = [
    ["", /empty/],
    ["Alice", /mnemonic/],
    ["legal winner thank", /mnemonic/],
    [MNEMONIC.replace("yellow", "zebra"), /invalid BIP39 mnemonic/],
    [MNEMONIC.replace("yellow", "legal"), /invalid BIP39 mnemonic/], // checksum
    ["0x1234", /64 hex digits/],
    [`0x${"zz".repeat(32)}`, /64 hex digits/],
    [`${MNEMONIC}//`, /derivation path/],
    ["//Alice/", /derivation path/],
  ];
  it.each(bad)("rejects %j with a clear SecretUriError", (uri, why) => {
    expect(() => keypairFromUri(uri)).toThrow(SecretUriError);
    expect(() => keypairFromUri(uri)).toThrow(why);
  });

  it("parses password after /// even when it contains slashes", () => {
    const p = parseSecretUri("//Alice//x///a/b//c");
    expect(p.password).toBe("a/b//c");
    expect(p.junctions.map((j) => j.hard)).toEqual([true, true]);
  });
});

describe("ss58", () => {
  it("round-trips and matches the vectors", () => {
    const pk = ss58Decode(vectors.signer.ss58);
    expect(hex(pk)).toBe(vectors.signer.publicKey);
    expect(ss58Encode(pk)).toBe(vectors.signer.ss58);
  });

  it("matches polkadot for other prefixes, including two-byte ones", () => {
    const pk = ss58Decode(vectors.receiver.ss58);
    for (const prefix of [0, 2, 42, 63, 64, 255, 1284, 16383]) {
      const addr = ss58Encode(pk, prefix);
      expect(addr).toBe(keyring.encodeAddress(pk, prefix));
      expect(ss58DecodeWithPrefix(addr)).toEqual({ publicKey: pk, prefix });
    }
  });

  it("rejects a bad checksum, bad characters and wrong lengths", () => {
    const addr = vectors.signer.ss58;
    const last = addr.at(-1) === "Y" ? "Z" : "Y";
    expect(() => ss58Decode(addr.slice(0, -1) + last)).toThrow(/checksum/);
    expect(() => ss58Decode(addr.replace("G", "0"))).toThrow(Ss58Error);
    expect(() => ss58Decode(addr.slice(0, 30))).toThrow(Ss58Error);
    expect(() => ss58Encode(new Uint8Array(31))).toThrow(/32 bytes/);
  });
});
