// The WebAssembly sr25519 signer the gateway Worker uses (src/protocol/sr25519-wasm.ts), run in
// Node on the same committed module: its signatures verify with @polkadot/util-crypto, Epistula
// requests signed with it match the shared v2 vectors, and the committed module is the pinned
// package's. (test/worker/signing.test.ts runs it inside workerd.)
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { cryptoWaitReady, signatureVerify, sr25519Verify } from "@polkadot/util-crypto";
import { bytesToHex, hexToBytes } from "@noble/hashes/utils.js";
import { EPISTULA_HEADERS, ReplayGuard, signRequest, verifyRequest, verifySignature } from "../../../src/protocol/epistula";
import { keypairFromUri } from "../../../src/protocol/keys";
import { wasmSr25519, withWasmSigning } from "../../../src/protocol/sr25519-wasm";
import { packageDir, SR25519_WASM_FILES } from "../../../scripts/build-wasm";
import { loadEpistulaVectors } from "./shared";

const utf8 = new TextEncoder();
const wasmFile = SR25519_WASM_FILES.find((f) => f.to.endsWith(".wasm"));
if (!wasmFile) throw new Error("build-wasm lists no .wasm file");
const wasm = wasmSr25519(new WebAssembly.Module(readFileSync(wasmFile.to)));
const keys = ["//Alice", "//Bob", "//Alice//stash/0", "0x9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"].map(keypairFromUri);
const vectors = loadEpistulaVectors();

beforeAll(async () => {
  await cryptoWaitReady();
});

describe("committed WebAssembly module", () => {
  it("is byte for byte the pinned package's build (run `npm run build:wasm` after bumping it)", () => {
    for (const { from, to } of SR25519_WASM_FILES) {
      expect(readFileSync(to).equals(readFileSync(join(packageDir(), from))), `${to} differs from the package's ${from}`).toBe(true);
    }
  });
});

describe("WebAssembly sr25519 signer", () => {
  it("signs so that @polkadot/util-crypto verifies, for several keys and message lengths", () => {
    for (const kp of keys) {
      for (const len of [0, 1, 64, 165, 166, 167, 400, 5000]) {
        const message = crypto.getRandomValues(new Uint8Array(len));
        const signature = wasm.sign(kp.publicKey, kp.secretKey, message);
        expect(signature.length).toBe(64);
        expect(sr25519Verify(message, signature, kp.publicKey)).toBe(true);
        expect(signatureVerify(message, signature, kp.ss58).isValid).toBe(true);
        expect(verifySignature(message, signature, kp.publicKey)).toBe(true); // this project's verifier (@scure)
      }
    }
  });

  it("randomises each signature, and none verifies for another message or key", () => {
    const [alice, bob] = keys;
    if (!alice || !bob) throw new Error("no keys");
    const message = utf8.encode(`abc.${crypto.randomUUID()}.1764000000000.${bob.ss58}`);
    const a = wasm.sign(alice.publicKey, alice.secretKey, message);
    const b = wasm.sign(alice.publicKey, alice.secretKey, message);
    expect(bytesToHex(a)).not.toBe(bytesToHex(b));
    const other = message.slice();
    other[0] = (other[0] as number) ^ 1;
    expect(sr25519Verify(other, a, alice.publicKey)).toBe(false);
    expect(sr25519Verify(message, a, bob.publicKey)).toBe(false);
  });

  it("refuses keys of the wrong size and recovers from a trap on an invalid public key", () => {
    const [alice] = keys;
    if (!alice) throw new Error("no key");
    const message = utf8.encode("m");
    expect(() => wasm.sign(alice.publicKey.subarray(0, 31), alice.secretKey, message)).toThrow(RangeError);
    expect(() => wasm.sign(alice.publicKey, alice.secretKey.subarray(0, 32), message)).toThrow(RangeError);
    // 0xff..ff is not a Ristretto encoding: schnorrkel panics, the module traps.
    expect(() => wasm.sign(new Uint8Array(32).fill(0xff), alice.secretKey, message)).toThrow(WebAssembly.RuntimeError);
    expect(sr25519Verify(message, wasm.sign(alice.publicKey, alice.secretKey, message), alice.publicKey)).toBe(true);
  });

  it("keeps working over many signatures (arguments and results are freed)", () => {
    const [alice] = keys;
    if (!alice) throw new Error("no key");
    const message = crypto.getRandomValues(new Uint8Array(4096));
    let last: Uint8Array = new Uint8Array(64);
    for (let i = 0; i < 3000; i++) last = wasm.sign(alice.publicKey, alice.secretKey, message);
    expect(sr25519Verify(message, last, alice.publicKey)).toBe(true);
  });
});

describe("Epistula v2 with the WebAssembly signer: shared vectors", () => {
  const signer = withWasmSigning(keypairFromUri(vectors.signer.uri), wasm);

  it("the vectors' signer key is the one derived here", () => {
    expect(signer.ss58).toBe(vectors.signer.ss58);
    expect(`0x${bytesToHex(signer.publicKey)}`).toBe(vectors.signer.publicKey);
  });

  for (const v of vectors.valid) {
    it(`reproduces every header but the (randomised) signature of the valid vector for ${JSON.stringify(v.body_utf8.slice(0, 30))}`, async () => {
      const headers = await signRequest({ body: v.body_utf8, signer, signedFor: v.signed_for, now: Number(v.timestamp_ms), uuid: v.uuid });
      const signature = headers[EPISTULA_HEADERS.signature] ?? "";
      const h = EPISTULA_HEADERS;
      const expected = { [h.version]: "2", [h.timestamp]: v.timestamp_ms, [h.uuid]: v.uuid, [h.signedBy]: vectors.signer.ss58, [h.signedFor]: v.signed_for };
      // Where the vector lists its headers, they say the same.
      if (v.headers) expect({ ...v.headers, [h.signature]: undefined }).toEqual({ ...expected, [h.signature]: undefined });
      const got = { ...headers };
      delete got[EPISTULA_HEADERS.signature];
      expect(got).toEqual(expected);
      expect(signature).toMatch(/^0x[0-9a-f]{128}$/);
      expect(signature).not.toBe(v.signature);
      // Over the vector's exact message, checked by @polkadot/util-crypto against the vector's signer.
      expect(signatureVerify(utf8.encode(v.message), hexToBytes(signature.slice(2)), vectors.signer.ss58).isValid).toBe(true);
      // And a receiver (the reference miner's checks) accepts the request.
      const result = await verifyRequest(headers, v.body_utf8, {
        ownHotkey: v.signed_for,
        now: Number(v.timestamp_ms),
        replay: new ReplayGuard({ clock: () => Number(v.timestamp_ms) }),
        allowBroadcast: v.signed_for === "",
      });
      expect(result).toMatchObject({ ok: true, signedBy: vectors.signer.ss58, uuid: v.uuid });
    });
  }

  for (const v of vectors.invalid) {
    it(`a fresh signature of the invalid vector's inputs verifies, its own does not (${v.why})`, async () => {
      const headers = await signRequest({ body: v.body_utf8, signer, signedFor: v.signed_for, now: Number(v.timestamp_ms), uuid: v.uuid });
      const opts = { ownHotkey: v.signed_for, now: Number(v.timestamp_ms), allowBroadcast: v.signed_for === "" };
      const fresh = await verifyRequest(headers, v.body_utf8, { ...opts, replay: new ReplayGuard() });
      expect(fresh.ok).toBe(true);
      const forged = await verifyRequest({ ...headers, [EPISTULA_HEADERS.signature]: v.signature }, v.body_utf8, { ...opts, replay: new ReplayGuard() });
      expect(forged.ok).toBe(false);
    });
  }
});
