import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { startMiner, type RunningMiner } from "../../../miner/server";
import { FAST } from "../../support/miner";
import { call, chunksOf, signedHeaders, streamCall, streamedContent } from "./helpers";

// The "upstream" is a second reference miner without Epistula (a stand-in for vLLM/llama.cpp).
let upstream: RunningMiner;
let proxy: RunningMiner;
beforeAll(async () => {
  upstream = await startMiner({ ...FAST, hotkey: "//Ferdie", epistula: false });
  proxy = await startMiner({ hotkey: "//Bob", upstream: `${upstream.url}/v1` });
});
afterAll(async () => {
  await proxy.close();
  await upstream.close();
});

const chat = (content: string, extra: Record<string, unknown> = {}) => ({ model: "demo/tiny-chat", messages: [{ role: "user", content }], ...extra });

describe("upstream proxy mode", () => {
  it("still requires Epistula from the gateway", async () => {
    expect((await fetch(`${proxy.url}/v1/models`)).status).toBe(401);
  });

  it("lists the upstream's models", async () => {
    const r = await call(proxy, "/v1/models");
    expect(r.status).toBe(200);
    expect((r.json as { data: Array<{ id: string }> }).data.map((m) => m.id)).toEqual(["demo/tiny-chat", "demo/tiny-embed"]);
  });

  it("forwards non-streamed requests and returns the upstream answer", async () => {
    const via = await call(proxy, "/v1/chat/completions", chat("What is 20+22?"));
    expect(via.status).toBe(200);
    expect(via.json).toMatchObject({ object: "chat.completion", choices: [{ message: { content: "42" } }] });
    const emb = await call(proxy, "/v1/embeddings", { model: "demo/tiny-embed", input: "x" });
    expect(emb).toMatchObject({ status: 200, json: { object: "list" } });
  });

  it("passes upstream errors through unchanged", async () => {
    const r = await call(proxy, "/v1/chat/completions", chat("x", { model: "no-such-model" }));
    expect(r).toMatchObject({ status: 404, json: { error: { code: "model_not_found" } } });
  });

  it("streams unbuffered: the first token arrives long before the upstream finishes", async () => {
    upstream.setBehaviour({ ttftMs: 0, tokensPerSec: 20 });
    try {
      const text = JSON.stringify(chat("Repeat exactly: a b c d e f g h", { stream: true, stream_options: { include_usage: true } }));
      const t0 = performance.now();
      const res = await fetch(`${proxy.url}/v1/chat/completions`, {
        method: "POST",
        headers: { ...(await signedHeaders(proxy, text)), "content-type": "application/json" },
        body: text,
      });
      expect(res.headers.get("content-type")).toMatch(/^text\/event-stream/);
      const reader = res.body?.getReader();
      const first = await reader?.read();
      const firstAt = performance.now() - t0;
      let rest = "";
      const decoder = new TextDecoder();
      for (;;) {
        const chunk = await reader?.read();
        if (!chunk || chunk.done) break;
        rest += decoder.decode(chunk.value, { stream: true });
      }
      const total = performance.now() - t0;
      expect(first?.done).toBe(false);
      // 8 tokens + finish at 20/s is ~400 ms upstream; a buffering proxy would deliver it all at the end.
      expect(total - firstAt).toBeGreaterThan(250);
      const all = decoder.decode(first?.value) + rest;
      const events = all.split("\n\n").filter((e) => e.startsWith("data: ")).map((e) => e.slice(6));
      expect(streamedContent(chunksOf(events)).join("")).toBe("a b c d e f g h");
    } finally {
      upstream.setBehaviour({ tokensPerSec: 100_000 });
    }
  });

  it("cancels the upstream request when the gateway disconnects", async () => {
    upstream.setBehaviour({ ttftMs: 0, tokensPerSec: 10 });
    try {
      const before = upstream.stats().clientClosed;
      const text = JSON.stringify(chat("long", { stream: true, max_tokens: 40 }));
      const ac = new AbortController();
      const res = await fetch(`${proxy.url}/v1/chat/completions`, {
        method: "POST",
        headers: { ...(await signedHeaders(proxy, text)), "content-type": "application/json" },
        body: text,
        signal: ac.signal,
      });
      await res.body?.getReader().read();
      ac.abort();
      await vi.waitFor(() => expect(upstream.stats().clientClosed).toBe(before + 1), { timeout: 3000, interval: 10 });
    } finally {
      upstream.setBehaviour({ tokensPerSec: 100_000 });
    }
  });

  it("answers 502 upstream_unavailable when the upstream is down", async () => {
    const dead = await startMiner({ ...FAST, hotkey: "//Eve", epistula: false });
    await dead.close();
    const orphan = await startMiner({ hotkey: "//Dave", upstream: `${dead.url}/v1` });
    try {
      const r = await call(orphan, "/v1/chat/completions", chat("x"));
      expect(r).toMatchObject({ status: 502, json: { error: { type: "server_error", code: "upstream_unavailable" } } });
      expect((await call(orphan, "/v1/models")).status).toBe(502);
    } finally {
      await orphan.close();
    }
  });
});

describe("upstream proxy against a plain OpenAI stub", () => {
  let stub: Server;
  let stubUrl = "";
  const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
  beforeAll(async () => {
    stub = createServer((req, res) => {
      let body = "";
      req.on("data", (c: Buffer) => (body += c.toString()));
      req.on("end", () => {
        seen.push({ method: req.method, url: req.url, headers: req.headers, body });
        res.writeHead(200, { "content-type": "application/json" });
        res.end(req.url === "/v1/models" ? JSON.stringify({ object: "list", data: [{ id: "llama-3-8b", object: "model" }] }) : '{"ok":true}');
      });
    });
    await new Promise<void>((resolve) => stub.listen(0, "127.0.0.1", resolve));
    stubUrl = `http://127.0.0.1:${(stub.address() as AddressInfo).port}/v1`;
  });
  afterAll(() => new Promise<void>((resolve) => stub.close(() => resolve())));

  it("forwards the exact verified body with the upstream key, and --models overrides the list", async () => {
    const m = await startMiner({ hotkey: "//Charlie", upstream: stubUrl, upstreamKey: "sk-upstream" });
    const fixed = await startMiner({ hotkey: "//Charlie", upstream: stubUrl, models: ["my/model"] });
    try {
      expect((await call(m, "/v1/models")).json).toMatchObject({ data: [{ id: "llama-3-8b" }] });
      const payload = chat("héllo", { model: "llama-3-8b" });
      expect((await call(m, "/v1/chat/completions", payload)).json).toEqual({ ok: true });
      const last = seen.at(-1);
      expect(last).toMatchObject({ method: "POST", url: "/v1/chat/completions", body: JSON.stringify(payload) });
      expect(last?.headers.authorization).toBe("Bearer sk-upstream");
      expect(last?.headers["epistula-request-signature"]).toBeUndefined(); // signatures stay at the miner
      expect((await call(fixed, "/v1/models")).json).toMatchObject({ data: [{ id: "my/model" }] });
    } finally {
      await m.close();
      await fixed.close();
    }
  });
});
