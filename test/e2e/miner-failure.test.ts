/**
 * A miner dies in the middle of live traffic (its process is killed): requests that had not
 * started streaming fail over without the client noticing; a stream cut mid-answer ends with an
 * SSE error event (never silently), and every request is metered once with what was delivered.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SseDecoder } from "../../src/lib/sse";
import { countTokens } from "../../src/lib/tokens";
import { startDevStack, type DevStack } from "../../scripts/lib/dev-stack";

let stack: DevStack;
const paced = { args: ["--tokens-per-sec", "40"] };

beforeAll(async () => {
  stack = await startDevStack({ miners: [{ hotkeyUri: "//Kill1", ...paced }, { hotkeyUri: "//Kill2", ...paced }, { hotkeyUri: "//Kill3", ...paced }] });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

const headers = () => ({ authorization: `Bearer ${stack.devKey}`, "content-type": "application/json" });

async function plain(i: number) {
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: "POST",
    headers: headers(),
    body: JSON.stringify({ model: "demo/tiny-chat", max_tokens: 6, messages: [{ role: "user", content: `plain ${i}` }] }),
  });
  await res.arrayBuffer();
  return { status: res.status, id: res.headers.get("x-request-id")! };
}

async function streamed(i: number, onChunk: (miner: string | null) => void) {
  const res = await fetch(`${stack.url}/v1/chat/completions`, {
    method: "POST",
    // Continuation on another miner is turned off here: this test checks how a stream ends when it
    // cannot be continued (test/e2e/stream-continuation.test.ts checks the continued ones).
    headers: { ...headers(), "x-gateway-continuation": "off" },
    body: JSON.stringify({ model: "demo/tiny-chat", stream: true, messages: [{ role: "user", content: `stream ${i}` }] }),
  });
  const decoder = new SseDecoder();
  const events: string[] = [];
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    events.push(...decoder.push(value).map((e) => e.data));
    onChunk(res.headers.get("x-miner-hotkey"));
  }
  events.push(...decoder.end().map((e) => e.data));
  const text = events
    .filter((e) => e !== "[DONE]" && !e.startsWith('{"error"'))
    .map((e) => (JSON.parse(e) as { choices: { delta: { content?: string } }[] }).choices[0]?.delta.content ?? "")
    .join("");
  return { status: res.status, id: res.headers.get("x-request-id")!, miner: res.headers.get("x-miner-hotkey"), last: events.at(-1) ?? "", text };
}

describe("a miner killed mid-run", () => {
  it("costs non-streaming clients nothing and ends cut streams with an error event, metered as delivered", async () => {
    const victim = stack.miners[1]!;
    const plainRuns: Promise<{ status: number; id: string }>[] = [];
    const streamRuns: Promise<Awaited<ReturnType<typeof streamed>>>[] = [];
    let victimStreaming!: () => void;
    const victimMidAnswer = new Promise<void>((r) => (victimStreaming = r));
    for (let i = 0; i < 12; i++) streamRuns.push(streamed(i, (miner) => miner === victim.hotkey && victimStreaming()));
    for (let i = 0; i < 30; i++) plainRuns.push(plain(i));
    // Kill the victim while one of its streams is mid-answer.
    await victimMidAnswer;
    victim.process.child.kill("SIGKILL");
    for (let i = 30; i < 60; i++) plainRuns.push(plain(i));
    const plains = await Promise.all(plainRuns);
    const streams = await Promise.all(streamRuns);

    expect(plains.every((p) => p.status === 200)).toBe(true);
    for (const s of streams) {
      expect(s.status).toBe(200);
      // Either a complete answer or an explicit error event: never a stream that just stops.
      expect(s.last === "[DONE]" || s.last.startsWith('{"error"')).toBe(true);
    }

    const res = await fetch(`${stack.url}/admin/usage?subscriber_id=sub_dev&rows=1000`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    const { rows } = (await res.json()) as { rows: { request_id: string; status: string; completion_tokens_counted: number }[] };
    const byId = new Map(rows.map((r) => [r.request_id, r]));
    for (let i = 0; i < 50 && [...plains, ...streams].some((x) => !byId.has(x.id)); i++) {
      await new Promise((r) => setTimeout(r, 200));
      const again = (await (await fetch(`${stack.url}/admin/usage?subscriber_id=sub_dev&rows=1000`, { headers: { authorization: `Bearer ${stack.adminToken}` } })).json()) as { rows: typeof rows };
      for (const r of again.rows) byId.set(r.request_id, r);
    }
    expect([...plains, ...streams].every((x) => byId.has(x.id))).toBe(true);
    for (const s of streams) {
      const row = byId.get(s.id)!;
      expect(row.completion_tokens_counted).toBe(countTokens(s.text));
      expect(row.status).toBe(s.last === "[DONE]" ? "ok" : "miner_error");
    }
    const cut = streams.filter((s) => s.last !== "[DONE]");
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.every((s) => s.miner === victim.hotkey)).toBe(true);
    console.log(`killed ${victim.hotkey.slice(0, 8)}: ${cut.length} of ${streams.length} streams were cut and ended with an error event`);
  }, 120_000);
});
