/**
 * An oversized request body sent chunked (no Content-Length) through the real `wrangler dev`: the
 * gateway answers 413 after reading past the limit, and the requests that follow are unaffected
 * (they used to fail with wrangler's "Your worker restarted mid-request" 503).
 */
import { describe, expect, inject, it } from "vitest";

const url = inject("gatewayUrl");
const devKey = inject("devKey");

/** A chunked body of `bytes` bytes (64 KiB chunks), a JSON prefix then filler, never a Content-Length. */
function chunkedBody(bytes: number): ReadableStream<Uint8Array> {
  const chunk = new Uint8Array(64 * 1024).fill(0x20);
  const prefix = new TextEncoder().encode('{"model":"demo/tiny-chat","messages":[{"role":"user","content":"');
  let sent = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent === 0) {
        controller.enqueue(prefix);
        sent += prefix.byteLength;
        return;
      }
      if (sent >= bytes) {
        controller.close();
        return;
      }
      controller.enqueue(chunk);
      sent += chunk.byteLength;
    },
  });
}

async function chat(i: number): Promise<{ status: number; text: string }> {
  const res = await fetch(`${url}/v1/chat/completions`, {
    method: "POST",
    headers: { authorization: `Bearer ${devKey}`, "content-type": "application/json" },
    body: JSON.stringify({ model: "demo/tiny-chat", max_tokens: 4, messages: [{ role: "user", content: `after ${i}` }] }),
  });
  return { status: res.status, text: await res.text() };
}

describe("an oversized chunked body under wrangler dev", () => {
  it("gets a 413 and leaves the following requests unaffected", async () => {
    for (let round = 0; round < 5; round++) {
      const init: RequestInit & { duplex: "half" } = {
        method: "POST",
        headers: { authorization: `Bearer ${devKey}`, "content-type": "application/json" },
        body: chunkedBody(2 * 1024 * 1024),
        duplex: "half",
      };
      const res = await fetch(`${url}/v1/chat/completions`, init);
      const text = await res.text();
      expect(res.status, text).toBe(413);
      expect(JSON.parse(text)).toMatchObject({ error: { code: "request_too_large" } });

      const after = [];
      for (let i = 0; i < 10; i++) after.push(await chat(i));
      expect(after.filter((r) => r.status !== 200).map((r) => `${r.status} ${r.text.slice(0, 120)}`)).toEqual([]);
    }
  });
});
