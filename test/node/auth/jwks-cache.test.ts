/**
 * The isolate's JWKS cache against a real JWKS server on loopback: keys are fetched once and
 * reused, a stale set is refreshed by one caller while the others keep verifying, an unknown
 * `kid` refetches at most once per cooldown, and redirects, oversized and malformed sets are
 * refused (fail closed) without ever being followed.
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, jwtVerify, SignJWT, type JWK } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { COOLDOWN_MS, forgetKeySets, FRESH_MS, JwksUnavailable, MAX_JWKS_BYTES, remoteKeySet, STALE_LIMIT_MS } from "../../../src/auth/jwks-cache";

type Signer = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

let server: Server;
let base: string;
/** What the server answers on /jwks: the current key set, or a scripted misbehaviour. */
let serve: { keys: JWK[] } | "redirect" | "huge" | "garbage" | "down" = { keys: [] };
let hits = 0;

const keyA = await makeKey("a");
const keyB = await makeKey("b");

async function makeKey(kid: string): Promise<{ kid: string; jwk: JWK; privateKey: Signer }> {
  const { publicKey, privateKey } = await generateKeyPair("RS256");
  return { kid, jwk: { ...(await exportJWK(publicKey)), kid, alg: "RS256", use: "sig" }, privateKey };
}

function token(key: { kid: string; privateKey: Signer }): Promise<string> {
  return new SignJWT({}).setProtectedHeader({ alg: "RS256", kid: key.kid }).setSubject("s").setIssuedAt().setExpirationTime("5m").sign(key.privateKey);
}

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === "/internal") {
      res.end(JSON.stringify({ keys: [keyA.jwk] }));
      return;
    }
    hits++;
    if (serve === "down") return res.writeHead(503).end("down");
    if (serve === "redirect") return res.writeHead(307, { location: "/internal" }).end();
    if (serve === "garbage") return res.end("{\"keys\": 1}");
    if (serve === "huge") return res.end(JSON.stringify({ keys: [keyA.jwk], pad: "x".repeat(MAX_JWKS_BYTES) }));
    res.setHeader("content-type", "application/json");
    res.end(JSON.stringify(serve));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => new Promise<void>((r) => server.close(() => r())));

let clock = 1_000_000;
const now = () => clock;

beforeEach(() => {
  forgetKeySets();
  hits = 0;
  clock = 1_000_000;
  serve = { keys: [keyA.jwk] };
});

const verify = async (jwt: string) => (await jwtVerify(jwt, remoteKeySet(`${base}/jwks`, { now }))).payload.sub;

describe("remoteKeySet", () => {
  it("fetches the set once and verifies later tokens from the cache", async () => {
    expect(await verify(await token(keyA))).toBe("s");
    expect(await verify(await token(keyA))).toBe("s");
    clock += FRESH_MS - 1;
    expect(await verify(await token(keyA))).toBe("s");
    expect(hits).toBe(1);
  });

  it("refreshes a stale set, and keeps the stale keys when the provider is down", async () => {
    await verify(await token(keyA));
    clock += FRESH_MS;
    serve = "down";
    expect(await verify(await token(keyA))).toBe("s");
    expect(hits).toBe(2);
    clock += STALE_LIMIT_MS;
    await expect(verify(await token(keyA))).rejects.toBeInstanceOf(JwksUnavailable);
  });

  it("while one caller refreshes a stale set, concurrent callers verify with the stale keys without waiting for its fetch", async () => {
    await verify(await token(keyA));
    clock += FRESH_MS;
    const jwt = await token(keyA);
    const all = await Promise.all(Array.from({ length: 8 }, () => verify(jwt)));
    expect(all).toEqual(Array(8).fill("s"));
    expect(hits).toBe(2);
  });

  it("refetches for an unknown kid (key rotation), at most once per cooldown", async () => {
    await verify(await token(keyA));
    clock += COOLDOWN_MS;
    serve = { keys: [keyA.jwk, keyB.jwk] };
    expect(await verify(await token(keyB))).toBe("s");
    expect(hits).toBe(2);
    const forged = await token({ kid: "nobody", privateKey: keyB.privateKey });
    await expect(verify(forged)).rejects.toThrow();
    await expect(verify(forged)).rejects.toThrow();
    expect(hits).toBe(2);
    clock += COOLDOWN_MS;
    await expect(verify(forged)).rejects.toThrow();
    expect(hits).toBe(3);
  });

  it("refuses a redirect instead of following it", async () => {
    serve = "redirect";
    await expect(verify(await token(keyA))).rejects.toBeInstanceOf(JwksUnavailable);
  });

  it("refuses an oversized or malformed set", async () => {
    serve = "huge";
    await expect(verify(await token(keyA))).rejects.toThrow(/too large/);
    serve = "garbage";
    await expect(verify(await token(keyA))).rejects.toThrow(/not a JSON Web Key Set/);
  });
});
