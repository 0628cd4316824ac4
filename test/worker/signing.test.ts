// Epistula signing inside workerd with the gateway's own signer (src/routing/signer.ts: the
// `.wasm` import bundled as a compiled module, sr25519 in WebAssembly). Every signature is
// checked in Node by @polkadot/util-crypto (test/support/sr25519-verifier.ts) and here by the
// pure-TS verifier the reference miner uses; the requests follow the shared v2 vectors.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { EPISTULA_HEADERS, ReplayGuard, signRequest, verifyRequest, verifySignature } from "../../src/protocol/epistula";
import { keypairFromUri, type Sr25519Keypair } from "../../src/protocol/keys";
import { gatewayKeypair } from "../../src/routing/signer";

type Vector = { body_utf8: string; uuid: string; timestamp_ms: string; signed_for: string; message: string; signature: string };
type Vectors = { signer: { uri: string; ss58: string }; valid: Vector[]; invalid: (Vector & { why: string })[] };

const verifierUrl = env.TEST_FIXTURES.sr25519VerifierUrl;
let vectors: Vectors;
let gateway: Sr25519Keypair;

/** @polkadot/util-crypto's verdict, in Node. */
async function verifiedInNode(message: string, signature: string, address: string): Promise<boolean> {
  const res = await fetch(`${verifierUrl}/verify`, { method: "POST", body: JSON.stringify({ message, signature, address }) });
  expect(res.status).toBe(200);
  const body: { isValid?: unknown } = await res.json();
  if (typeof body.isValid !== "boolean") throw new Error(`verifier answered ${JSON.stringify(body)}`);
  return body.isValid;
}

const hex = (bytes: Uint8Array): string => `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("")}`;

beforeAll(async () => {
  const res = await fetch(`${verifierUrl}/vectors`);
  vectors = await res.json();
  gateway = gatewayKeypair(env);
});

describe("the gateway's signer in workerd", () => {
  it("is the WebAssembly one, for the configured hotkey (the vectors' signer, //Alice)", () => {
    expect(env.GATEWAY_HOTKEY_MNEMONIC).toBe(vectors.signer.uri);
    expect(gateway.ss58).toBe(vectors.signer.ss58);
    expect(gateway.ss58).toBe(keypairFromUri(vectors.signer.uri).ss58);
    expect(typeof gateway.sign).toBe("function");
    expect(gatewayKeypair(env)).toBe(gateway); // derived once per isolate
  });

  it("signs messages of any length so that @polkadot/util-crypto (Node) and the pure-TS verifier (workerd) accept them", async () => {
    const sign = gateway.sign;
    if (!sign) throw new Error("gateway keypair has no bound signer");
    for (const len of [0, 1, 165, 166, 167, 1000]) {
      const message = "x".repeat(len);
      const signature = sign(new TextEncoder().encode(message));
      expect(verifySignature(message, signature, gateway.publicKey)).toBe(true);
      expect(await verifiedInNode(message, hex(signature), gateway.ss58)).toBe(true);
      // The same signature does not pass for a different message: the check can fail.
      expect(await verifiedInNode(`${message}!`, hex(signature), gateway.ss58)).toBe(false);
    }
  });
});

describe("Epistula v2 vectors, signed in workerd", () => {
  it("each valid vector's request, signed here, verifies in Node and passes a receiver's checks", async () => {
    expect(vectors.valid.length).toBeGreaterThan(0);
    for (const v of vectors.valid) {
      const now = Number(v.timestamp_ms);
      const headers = await signRequest({ body: v.body_utf8, signer: gateway, signedFor: v.signed_for, now, uuid: v.uuid });
      expect(headers[EPISTULA_HEADERS.signedBy]).toBe(vectors.signer.ss58);
      const signature = headers[EPISTULA_HEADERS.signature] ?? "";
      expect(signature).toMatch(/^0x[0-9a-f]{128}$/);
      expect(signature).not.toBe(v.signature); // randomised, like the vectors' own signer
      expect(await verifiedInNode(v.message, signature, vectors.signer.ss58)).toBe(true);
      const result = await verifyRequest(headers, v.body_utf8, { ownHotkey: v.signed_for, now, replay: new ReplayGuard({ clock: () => now }), allowBroadcast: v.signed_for === "" });
      expect(result).toMatchObject({ ok: true, uuid: v.uuid });
    }
  });

  it("each invalid vector stays invalid, while the same inputs signed here verify", async () => {
    expect(vectors.invalid.length).toBeGreaterThan(0);
    for (const v of vectors.invalid) {
      const now = Number(v.timestamp_ms);
      const opts = { ownHotkey: v.signed_for, now, allowBroadcast: v.signed_for === "" };
      const headers = await signRequest({ body: v.body_utf8, signer: gateway, signedFor: v.signed_for, now, uuid: v.uuid });
      expect((await verifyRequest(headers, v.body_utf8, { ...opts, replay: new ReplayGuard() })).ok, v.why).toBe(true);
      const forged = { ...headers, [EPISTULA_HEADERS.signature]: v.signature };
      expect((await verifyRequest(forged, v.body_utf8, { ...opts, replay: new ReplayGuard() })).ok, v.why).toBe(false);
    }
  });
});
