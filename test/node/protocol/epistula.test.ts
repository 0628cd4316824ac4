import { beforeAll, describe, expect, it } from "vitest";
import { cryptoWaitReady, signatureVerify } from "@polkadot/util-crypto";
import { Keyring } from "@polkadot/keyring";
import { bytesToHex } from "@noble/hashes/utils.js";
import { keypairFromUri } from "../../../src/protocol/keys";
import {
  EPISTULA_HEADERS,
  ReplayGuard,
  epistulaMessage,
  sha256Hex,
  signRequest,
  verifyRequest,
  type VerifyOptions,
} from "../../../src/protocol/epistula";
import { loadEpistulaVectors, type InvalidVector } from "./shared";

const vectors = loadEpistulaVectors();
const alice = keypairFromUri("//Alice");
const bob = keypairFromUri("//Bob");
const T0 = 1_764_000_000_000;

function vectorHeaders(v: InvalidVector): Record<string, string> {
  return {
    "Epistula-Version": "2",
    "Epistula-Timestamp": v.timestamp_ms,
    "Epistula-Uuid": v.uuid,
    "Epistula-Signed-By": vectors.signer.ss58,
    "Epistula-Signed-For": v.signed_for,
    "Epistula-Request-Signature": v.signature,
  };
}

function opts(extra: Partial<VerifyOptions> = {}): VerifyOptions {
  return { ownHotkey: bob.ss58, now: T0, replay: new ReplayGuard(), ...extra };
}

async function signed(body = "{}", extra: { now?: number; uuid?: string; signedFor?: string } = {}) {
  return signRequest({ body, signer: alice, signedFor: extra.signedFor ?? bob.ss58, now: extra.now ?? T0, uuid: extra.uuid });
}

beforeAll(async () => {
  await cryptoWaitReady();
});

describe("shared vectors", () => {
  it("reproduces the message format and body hash", async () => {
    for (const v of vectors.valid) {
      expect(await sha256Hex(v.body_utf8)).toBe(v.body_sha256_hex);
      expect(epistulaMessage(v.body_sha256_hex, v.uuid, v.timestamp_ms, v.signed_for)).toBe(v.message);
    }
  });

  it("every valid vector verifies", async () => {
    for (const v of vectors.valid) {
      const headers = v.headers ?? vectorHeaders({ ...v, why: "" });
      const broadcast = v.signed_for === "";
      const res = await verifyRequest(headers, v.body_utf8, {
        ownHotkey: broadcast ? vectors.receiver.ss58 : v.signed_for,
        now: Number(v.timestamp_ms),
        replay: new ReplayGuard(),
        allowBroadcast: broadcast,
      });
      expect(res).toMatchObject({ ok: true, signedBy: vectors.signer.ss58 });
    }
  });

  it("a miner refuses the broadcast vector unless broadcast is explicitly allowed", async () => {
    // Decision: inference must be addressed to the miner; otherwise one signed request could be
    // replayed against every miner inside the window. allowBroadcast exists for future
    // non-inference broadcasts (e.g. announcements) and is never enabled by the reference miner.
    const v = vectors.valid.find((x) => x.signed_for === "");
    expect(v).toBeDefined();
    if (!v) return;
    const res = await verifyRequest(vectorHeaders({ ...v, why: "" }), v.body_utf8, opts({ now: Number(v.timestamp_ms) }));
    expect(res).toMatchObject({ ok: false, status: 403, code: "epistula_broadcast_refused" });
  });

  it("every invalid vector fails, and at the signature check when addressed to its own receiver", async () => {
    for (const v of vectors.invalid) {
      const now = Number(v.timestamp_ms);
      // As its nominal receiver, the request gets past the address check: the signature must fail.
      const asAddressed = await verifyRequest(vectorHeaders(v), v.body_utf8, opts({ ownHotkey: v.signed_for, now }));
      expect(asAddressed, v.why).toMatchObject({ ok: false, code: "epistula_bad_signature" });
      const asBob = await verifyRequest(vectorHeaders(v), v.body_utf8, opts({ now }));
      expect(asBob.ok, v.why).toBe(false);
    }
  });
});

describe("interoperability with @polkadot/util-crypto", () => {
  it("our signatures verify with polkadot's signatureVerify", async () => {
    const body = new Uint8Array([0, 1, 2, 255, 0xc3, 0xa9]);
    const h = await signRequest({ body, signer: alice, signedFor: bob.ss58 });
    const message = epistulaMessage(await sha256Hex(body), h["Epistula-Uuid"] ?? "", h["Epistula-Timestamp"] ?? "", bob.ss58);
    const res = signatureVerify(message, h["Epistula-Request-Signature"] ?? "", alice.ss58);
    expect(res.isValid).toBe(true);
    expect(res.crypto).toBe("sr25519");
  });

  it("polkadot-made signatures verify with ours", async () => {
    const pair = new Keyring({ type: "sr25519", ss58Format: 42 }).addFromUri("//Alice");
    const body = '{"model":"demo/tiny-chat"}';
    const uuid = crypto.randomUUID();
    const ts = String(T0 + 5);
    const sig = pair.sign(new TextEncoder().encode(epistulaMessage(await sha256Hex(body), uuid, ts, bob.ss58)));
    const headers = {
      "Epistula-Version": "2",
      "Epistula-Timestamp": ts,
      "Epistula-Uuid": uuid,
      "Epistula-Signed-By": pair.address,
      "Epistula-Signed-For": bob.ss58,
      "Epistula-Request-Signature": `0x${bytesToHex(sig)}`,
    };
    expect(await verifyRequest(headers, body, opts())).toMatchObject({ ok: true, signedBy: alice.ss58 });
  });
});

describe("signRequest", () => {
  it("returns exactly the six spec headers", async () => {
    const h = await signed("", { uuid: "6f1c1c3e-6f0a-4f57-9e0a-1c2b3d4e5f60" });
    expect(Object.keys(h).sort()).toEqual(Object.values(EPISTULA_HEADERS).sort());
    expect(h).toMatchObject({
      "Epistula-Version": "2",
      "Epistula-Timestamp": String(T0),
      "Epistula-Uuid": "6f1c1c3e-6f0a-4f57-9e0a-1c2b3d4e5f60",
      "Epistula-Signed-By": alice.ss58,
      "Epistula-Signed-For": bob.ss58,
    });
    expect(h["Epistula-Request-Signature"]).toMatch(/^0x[0-9a-f]{128}$/);
  });

  it("generates fresh v4 uuids", async () => {
    const a = await signed();
    const b = await signed();
    expect(a["Epistula-Uuid"]).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a["Epistula-Uuid"]).not.toBe(b["Epistula-Uuid"]);
  });

  it("an empty body (GET) signs the sha256 of the empty string and verifies", async () => {
    expect(await sha256Hex("")).toBe("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect(await verifyRequest(await signed(""), new Uint8Array(0), opts())).toMatchObject({ ok: true });
  });

  it("CPU cost of one signRequest / verifyRequest with a 1 KiB body (reported, not asserted)", async () => {
    const body = new Uint8Array(1024).fill(97);
    for (let i = 0; i < 200; i++) await signRequest({ body, signer: alice, signedFor: bob.ss58 }); // warm up the JIT
    const n = 300;
    const all: Array<Record<string, string>> = [];
    let cpu = process.cpuUsage();
    for (let i = 0; i < n; i++) all.push(await signRequest({ body, signer: alice, signedFor: bob.ss58 }));
    let used = process.cpuUsage(cpu);
    const signMs = (used.user + used.system) / 1000 / n;
    const replay = new ReplayGuard();
    cpu = process.cpuUsage();
    for (const h of all) await verifyRequest(h, body, { ownHotkey: bob.ss58, replay });
    used = process.cpuUsage(cpu);
    const verifyMs = (used.user + used.system) / 1000 / n;
    console.log(`[epistula perf] CPU per call: signRequest ${signMs.toFixed(3)} ms, verifyRequest ${verifyMs.toFixed(3)} ms (1 KiB body, mean of ${n})`);
    expect(signMs).toBeGreaterThan(0);
  });
});

describe("verifyRequest refusals (each a distinct code)", () => {
  it("accepts a valid request and reports the signer", async () => {
    expect(await verifyRequest(await signed(), "{}", opts())).toMatchObject({ ok: true, signedBy: alice.ss58 });
  });

  it("accepts Headers objects and lower-case node-style records", async () => {
    const h = await signed();
    expect((await verifyRequest(new Headers(h), "{}", opts())).ok).toBe(true);
    const lower = Object.fromEntries(Object.entries(await signed()).map(([k, v]) => [k.toLowerCase(), v]));
    expect((await verifyRequest(lower, "{}", opts())).ok).toBe(true);
  });

  it("refuses stale timestamps in both directions, accepts the edges", async () => {
    const old = await verifyRequest(await signed("{}", { now: T0 - 8001 }), "{}", opts());
    expect(old).toMatchObject({ ok: false, status: 401, code: "epistula_stale" });
    const future = await verifyRequest(await signed("{}", { now: T0 + 8001 }), "{}", opts());
    expect(future).toMatchObject({ ok: false, status: 401, code: "epistula_stale" });
    expect((await verifyRequest(await signed("{}", { now: T0 - 8000 }), "{}", opts())).ok).toBe(true);
    expect((await verifyRequest(await signed("{}", { now: T0 + 8000 }), "{}", opts())).ok).toBe(true);
    const tight = await verifyRequest(await signed("{}", { now: T0 - 1001 }), "{}", opts({ skewMs: 1000 }));
    expect(tight).toMatchObject({ code: "epistula_stale" });
  });

  it("refuses a replayed uuid, also across concurrent verifications", async () => {
    const replay = new ReplayGuard();
    const h = await signed();
    expect((await verifyRequest(h, "{}", opts({ replay }))).ok).toBe(true);
    expect(await verifyRequest(h, "{}", opts({ replay }))).toMatchObject({ ok: false, status: 401, code: "epistula_replay" });
    const h2 = await signed();
    const results = await Promise.all([verifyRequest(h2, "{}", opts({ replay })), verifyRequest(h2, "{}", opts({ replay }))]);
    expect(results.filter((r) => r.ok)).toHaveLength(1);
    expect(results.find((r) => !r.ok)).toMatchObject({ code: "epistula_replay" });
  });

  it("a forged request does not burn the uuid", async () => {
    const replay = new ReplayGuard();
    const h = await signed("{}");
    const forged = await verifyRequest(h, '{"tampered":true}', opts({ replay }));
    expect(forged).toMatchObject({ ok: false, code: "epistula_bad_signature" });
    expect((await verifyRequest(h, "{}", opts({ replay }))).ok).toBe(true);
  });

  it("refuses a request signed for another hotkey", async () => {
    const res = await verifyRequest(await signed("{}", { signedFor: alice.ss58 }), "{}", opts());
    expect(res).toMatchObject({ ok: false, status: 403, code: "epistula_wrong_receiver" });
  });

  it("refuses missing headers (any of the six)", async () => {
    for (const name of Object.values(EPISTULA_HEADERS)) {
      const h = await signed();
      delete h[name];
      expect(await verifyRequest(h, "{}", opts()), name).toMatchObject({ ok: false, status: 401, code: "epistula_missing_header" });
    }
    expect(await verifyRequest({}, "{}", opts())).toMatchObject({ code: "epistula_missing_header" });
  });

  it("refuses a wrong version", async () => {
    const h = { ...(await signed()), "Epistula-Version": "1" };
    expect(await verifyRequest(h, "{}", opts())).toMatchObject({ ok: false, status: 400, code: "epistula_bad_version" });
  });

  it("refuses non-integer timestamps", async () => {
    for (const ts of [`${T0}.5`, "1.764e12", "-1", "", " 1764000000000", "abc"]) {
      const h = { ...(await signed()), "Epistula-Timestamp": ts };
      expect(await verifyRequest(h, "{}", opts()), ts).toMatchObject({ ok: false, status: 400, code: "epistula_bad_timestamp" });
    }
  });

  it("refuses a malformed uuid, signer, signature, and duplicated headers", async () => {
    const base = await signed();
    expect(await verifyRequest({ ...base, "Epistula-Uuid": "x".repeat(36) }, "{}", opts())).toMatchObject({ code: "epistula_bad_uuid" });
    expect(await verifyRequest({ ...base, "Epistula-Signed-By": "5Grw" }, "{}", opts())).toMatchObject({ code: "epistula_bad_signer" });
    expect(await verifyRequest({ ...base, "Epistula-Request-Signature": "0x1234" }, "{}", opts())).toMatchObject({ code: "epistula_bad_signature" });
    const other = { ...base, "Epistula-Signed-By": bob.ss58 }; // valid address, wrong key
    expect(await verifyRequest(other, "{}", opts())).toMatchObject({ status: 401, code: "epistula_bad_signature" });
    const node = { ...Object.fromEntries(Object.entries(base).map(([k, v]) => [k.toLowerCase(), v])), "epistula-uuid": [crypto.randomUUID(), crypto.randomUUID()] };
    expect(await verifyRequest(node, "{}", opts())).toMatchObject({ status: 400, code: "epistula_missing_header" });
  });

  it("applies the optional allow-list of senders", async () => {
    const allowed = new Set([bob.ss58]);
    expect(await verifyRequest(await signed(), "{}", opts({ allowedSenders: allowed }))).toMatchObject({
      ok: false,
      status: 403,
      code: "epistula_sender_not_allowed",
    });
    expect((await verifyRequest(await signed(), "{}", opts({ allowedSenders: new Set([alice.ss58]) }))).ok).toBe(true);
  });

  it("refuses a replay guard whose window is shorter than the skew (configuration error)", async () => {
    await expect(verifyRequest(await signed(), "{}", opts({ replay: new ReplayGuard({ windowMs: 1000 }) }))).rejects.toThrow(RangeError);
  });
});

describe("ReplayGuard", () => {
  it("forgets uuids once their timestamp leaves the window, with an injectable clock", () => {
    let now = 1000;
    const g = new ReplayGuard({ windowMs: 100, clock: () => now });
    expect(g.tryRecord("a", 1000)).toBe(true);
    expect(g.tryRecord("a", 1000)).toBe(false);
    now = 1100;
    expect(g.has("a")).toBe(true);
    now = 1101;
    expect(g.has("a")).toBe(false);
    expect(g.tryRecord("a", 1101)).toBe(true);
  });

  it("sweeps expired entries and never exceeds its cap", () => {
    let now = 0;
    const g = new ReplayGuard({ windowMs: 100, maxEntries: 50, clock: () => now });
    for (let i = 0; i < 40; i++) g.tryRecord(`old-${i}`, now);
    now = 500;
    g.tryRecord("fresh", now);
    expect(g.size).toBe(1);
    for (let i = 0; i < 200; i++) g.tryRecord(`u-${i}`, now);
    expect(g.size).toBe(50);
    expect(g.has("u-199")).toBe(true);
  });
});
