/**
 * GET /?c=<component>&n=<iterations>: runs one request-path component n times inside workerd and
 * answers when done; the caller reads this workerd's CPU time from /proc around the call.
 * GET /?c=d1&n=<events> records two usage batches of n events the way the queue consumer does
 * (same subscriber, model and miner, as in the benchmark's traffic: the first creates its rollup
 * rows, the second adds to them) and returns D1's own count of rows read and written per batch
 * (what D1 bills).
 */
import { sign as scureSign } from "@scure/sr25519";
import { parseBatch } from "../../src/billing/usage-batch";
import type { UsageEvent } from "../../src/billing/usage-event";
import { usageBatchStatements } from "../../src/billing/usage-writer";
import { countMessageTokens, countTokens } from "../../src/lib/tokens";
import { epistulaMessage, sha256Hex, signRequest } from "../../src/protocol/epistula";
import { keypairFromUri } from "../../src/protocol/keys";
import { prepareSigner } from "../../src/protocol/sr25519-signer";
import { wasmSr25519, withWasmSigning } from "../../src/protocol/sr25519-wasm";
import schnorrkelWasm from "../../src/protocol/wasm/schnorrkel.wasm";

interface Env {
  DB: D1Database;
}

const utf8 = new TextEncoder();
const alice = keypairFromUri("//Alice");
const bob = keypairFromUri("//Bob");
// The gateway's signer (src/routing/signer.ts binds the same module the same way).
const wasm = wasmSr25519(schnorrkelWasm);
const aliceWasm = withWasmSigning(alice, wasm);
const aliceJs = prepareSigner(alice.secretKey, alice.publicKey);
const message = utf8.encode(epistulaMessage("602e3064157cabc6e64331ed2d7bdc86568bdf1b687a78db9768d77402c31fe1", "6f1c1c3e-6f0a-4f57-9e0a-1c2b3d4e5f60", 1_764_000_000_000, bob.ss58));
const body = JSON.stringify({ model: "bench/fast", messages: [{ role: "user", content: "Say something short about rivers." }], max_tokens: 16 });
const bytes = utf8.encode(body);
const answer = JSON.stringify({
  id: "chatcmpl-0123456789abcdef01234567",
  object: "chat.completion",
  created: 1_764_000_000,
  model: "bench/fast",
  choices: [{ index: 0, message: { role: "assistant", content: "River stone light quiet simple bright, green system small large open careful reason." }, finish_reason: "length" }],
  usage: { prompt_tokens: 14, completion_tokens: 16, total_tokens: 30 },
});
const messages = (JSON.parse(body) as { messages: unknown }).messages;

const components: Record<string, () => unknown> = {
  noop: () => undefined,
  sign: () => signRequest({ body: bytes, signer: aliceWasm, signedFor: bob.ss58 }),
  "sign-js": () => signRequest({ body: bytes, signer: alice, signedFor: bob.ss58 }),
  "sr25519-wasm": () => wasm.sign(alice.publicKey, alice.secretKey, message),
  "sr25519-js": () => aliceJs.sign(message),
  "sign-scure": async () => scureSign(alice.secretKey, utf8.encode(epistulaMessage(await sha256Hex(bytes), crypto.randomUUID(), Date.now(), bob.ss58))),
  sha256: () => sha256Hex(bytes),
  json: () => JSON.stringify(JSON.parse(answer)),
  tokens: () => countMessageTokens(messages) + countTokens(answer),
};

function sampleEvent(now: number): UsageEvent {
  return {
    requestId: `req_bench_${crypto.randomUUID().replace(/-/g, "")}`,
    kind: "subscriber",
    subscriberId: "sub_bench",
    apiKeyId: "key_bench",
    endpoint: "chat.completions",
    model: "bench/fast",
    minerHotkey: bob.ss58,
    status: "ok",
    httpStatus: 200,
    errorCode: null,
    streamed: false,
    attempts: 1,
    promptTokensReported: 14,
    completionTokensReported: 16,
    promptTokensCounted: 14,
    completionTokensCounted: 16,
    ttftMs: 6,
    durationMs: 7,
    createdAt: now,
  };
}

export default {
  async fetch(req, env) {
    const url = new URL(req.url);
    const name = url.searchParams.get("c") ?? "noop";
    if (name === "d1") {
      const n = Math.max(1, Number(url.searchParams.get("n") ?? "50"));
      const start = Math.floor(Date.now() / 1000) * 1000;
      const perBatch: { rowsRead: number; rowsWritten: number }[] = [];
      for (let b = 0; b < 2; b++) {
        // A batch flushed ~50 ms after the previous one: its events started within those 50 ms.
        const events = Array.from({ length: n }, (_, i) => sampleEvent(start + b * 50 + Math.floor((i * 50) / n)));
        const batch = { id: `ub_bench_${crypto.randomUUID().replace(/-/g, "")}`, flushedAt: start + b * 50 + 50, ndjson: events.map((e) => JSON.stringify(e)).join("\n") };
        const results = await env.DB.batch(usageBatchStatements(env.DB, batch, parseBatch(batch).events));
        perBatch.push({
          rowsRead: results.reduce((s, r) => s + r.meta.rows_read, 0),
          rowsWritten: results.reduce((s, r) => s + r.meta.rows_written, 0),
        });
      }
      return Response.json({ eventsPerBatch: n, batches: perBatch });
    }
    const fn = components[name];
    if (!fn) return new Response(`unknown component ${name}`, { status: 404 });
    const n = Number(url.searchParams.get("n") ?? "1");
    for (let i = 0; i < n; i++) await fn();
    return Response.json({ component: name, n });
  },
} satisfies ExportedHandler<Env>;
