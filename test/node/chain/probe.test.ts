import { describe, expect, it } from "vitest";
import { modelsFromList, probeMinerModels } from "../../../src/chain/probe";
import { ReplayGuard, verifyRequest } from "../../../src/protocol/epistula";
import { keypairFromUri } from "../../../src/protocol/keys";
import { startInternalService, startRedirectingMiner } from "../../support/redirect-servers";

const gateway = keypairFromUri("//Gateway");
const miner = keypairFromUri("//Miner1");
const NOW = 1_800_000_000_000;

type Seen = { url: string; init: RequestInit | undefined };

function fakeFetch(answer: (seen: Seen) => Response | Promise<Response>): { fetch: typeof fetch; seen: Seen[] } {
  const seen: Seen[] = [];
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const s = { url: String(input), init };
    seen.push(s);
    return answer(s);
  };
  return { fetch, seen };
}

const probe = (f: typeof fetch, timeoutMs = 1_000, maxBytes?: number) =>
  probeMinerModels("http://8.8.8.8:8091", miner.ss58, gateway, { fetch: f, timeoutMs, now: () => NOW, maxBytes });

const list = (ids: unknown[]): Response => Response.json({ object: "list", data: ids.map((id) => ({ id, object: "model" })) });

describe("probeMinerModels", () => {
  it("sends a GET /v1/models signed by the gateway for the miner, and returns sorted unique ids", async () => {
    const { fetch, seen } = fakeFetch(() => list(["b", "a", "b"]));
    expect(await probe(fetch)).toEqual({ ok: true, models: ["a", "b"] });
    expect(seen).toHaveLength(1);
    const first = seen[0];
    expect(first?.url).toBe("http://8.8.8.8:8091/v1/models");
    expect(first?.init?.method).toBe("GET");
    expect(first?.init?.redirect).toBe("manual");
    const headers = new Headers(first?.init?.headers);
    const verdict = await verifyRequest(headers, "", { ownHotkey: miner.ss58, now: NOW, replay: new ReplayGuard() });
    expect(verdict).toMatchObject({ ok: true, signedBy: gateway.ss58 });
  });

  it.each([
    ["an HTTP error", () => new Response("{}", { status: 401 }), "HTTP 401"],
    ["a redirect", () => new Response(null, { status: 302, headers: { location: "http://127.0.0.1/" } }), "HTTP 302"],
    ["non-JSON", () => new Response("<html>"), "not JSON"],
    ["a wrong shape", () => Response.json({ models: ["a"] }), "not a valid model list"],
    ["a non-string id", () => list([42]), "not a valid model list"],
    ["an id with spaces", () => list(["a b"]), "not a valid model list"],
    ["an empty list", () => list([]), "serves no models"],
    ["a network error", () => Promise.reject(new TypeError("fetch failed")), "fetch failed"],
  ])("refuses %s", async (_name, answer, reason) => {
    const { fetch } = fakeFetch(answer);
    expect(await probe(fetch)).toEqual({ ok: false, reason: expect.stringContaining(reason) });
  });

  it("refuses an answer over the size limit, declared or streamed", async () => {
    const big = JSON.stringify({ data: [{ id: "x".repeat(200) }] });
    const declared = fakeFetch(() => new Response(big, { headers: { "content-length": String(big.length) } }));
    expect(await probe(declared.fetch, 1_000, 100)).toEqual({ ok: false, reason: expect.stringContaining("too large") });
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big));
        controller.close();
      },
    });
    const streamed = fakeFetch(() => new Response(stream));
    expect(await probe(streamed.fetch, 1_000, 100)).toEqual({ ok: false, reason: expect.stringContaining("too large") });
  });

  it("gives up after the timeout", async () => {
    const hang: typeof fetch = (_input, init) =>
      new Promise((_resolve, reject) => {
        init?.signal?.addEventListener("abort", () => reject(init.signal?.reason));
      });
    const started = Date.now();
    expect(await probe(hang, 100)).toEqual({ ok: false, reason: expect.stringContaining("timed out after 100 ms") });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});

describe("modelsFromList", () => {
  it("caps the number of models", () => {
    expect(modelsFromList({ data: Array.from({ length: 513 }, (_, i) => ({ id: `m${i}` })) })).toBeNull();
    expect(modelsFromList({ data: [{ id: "x".repeat(257) }] })).toBeNull();
  });
});

describe("probeMinerModels against a real redirecting miner", () => {
  it("never follows a 307/302 to an internal address", async () => {
    const internal = await startInternalService();
    const redirectors = await Promise.all([startRedirectingMiner(307, internal.url), startRedirectingMiner(302, internal.url)]);
    try {
      for (const r of redirectors) {
        const result = await probeMinerModels(r.url, miner.ss58, gateway, { fetch, timeoutMs: 5_000, now: Date.now });
        expect(result).toEqual({ ok: false, reason: expect.stringMatching(/HTTP 30[27]/) });
        expect(r.requests()).toBe(1);
      }
      expect(internal.hits()).toBe(0);
    } finally {
      await Promise.all([internal.close(), ...redirectors.map((r) => r.close())]);
    }
  });
});
