/**
 * A miner process dies in the middle of a stream (--exit-after-tokens: it exits after k tokens
 * reached the wire), and the official SDKs (openai, Anthropic, Vercel's AI SDK) still receive one
 * complete answer: exactly the text an unbroken answer has (the reference model is deterministic),
 * with correct usage, and one usage record naming both miners. Real processes: the dev stack
 * (wrangler dev) and reference miners, nine of which die on their first stream (several, since a
 * continuation that lands on one kills it too).
 */
import { createOpenAI } from "@ai-sdk/openai";
import Anthropic from "@anthropic-ai/sdk";
import { streamText } from "ai";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { countTokens } from "../../src/lib/tokens";
import { startDevStack, type DevStack } from "../../scripts/lib/dev-stack";

let stack: DevStack;
let victims: Set<string>;
const dying = { args: ["--exit-after-tokens", "4", "--tokens-per-sec", "40"] };
const VICTIMS = 9;

beforeAll(async () => {
  stack = await startDevStack({
    // A continuation that lands on another dying miner kills it too: enough of them for both SDKs.
    miners: [
      ...Array.from({ length: VICTIMS }, (_, i) => ({ hotkeyUri: `//Die${i + 1}`, ...dying })),
      { hotkeyUri: "//Live1", args: ["--tokens-per-sec", "200"] },
      { hotkeyUri: "//Live2", args: ["--tokens-per-sec", "200"] },
    ],
    vars: { MAX_MINER_ATTEMPTS: String(VICTIMS + 2) },
  });
  victims = new Set(stack.miners.slice(0, VICTIMS).map((m) => m.hotkey));
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

async function usageRow(requestId: string) {
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${stack.url}/admin/usage?subscriber_id=sub_dev&rows=10000`, { headers: { authorization: `Bearer ${stack.adminToken}` } });
    const { rows } = (await res.json()) as {
      rows: { request_id: string; status: string; miner_hotkey: string; attempts: number; completion_tokens_counted: number; attempt_log: { miner_hotkey: string; outcome: string; completion_tokens: number }[] }[];
    };
    const mine = rows.filter((r) => r.request_id === requestId);
    if (mine.length > 0) return mine;
    await new Promise((r) => setTimeout(r, 150));
  }
  return [];
}

/** The unbroken answer to the same conversation (non-streamed; any live miner, same model). */
async function unbroken(openai: OpenAI, content: string) {
  const c = await openai.chat.completions.create({ model: "demo/tiny-chat", messages: [{ role: "user", content }] });
  return { text: c.choices[0]?.message.content ?? "", usage: c.usage! };
}

describe("a miner killed mid-stream", () => {
  it("the openai client, the Anthropic SDK and the AI SDK each get one complete answer, exactly the unbroken text, with correct usage", async () => {
    const openai = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.devKey, maxRetries: 0 });
    const anthropic = new Anthropic({ baseURL: stack.url, apiKey: stack.devKey, maxRetries: 0 });
    const aiSdk = createOpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.devKey });
    let cutOpenAI = 0;
    let cutAnthropic = 0;
    let cutAiSdk = 0;
    type Got = { content: string; text: string; first: string; requestId: string; check: (want: Awaited<ReturnType<typeof unbroken>>) => void };
    const got: Got[] = [];

    // Streams until one of each SDK has landed on a dying miner (the header names the first
    // miner). The unbroken answers are fetched afterwards: a non-streamed request to a dying
    // miner kills it too, and it must not run out of victims first.
    for (let i = 0; i < 24 && (cutOpenAI === 0 || cutAnthropic === 0 || cutAiSdk === 0); i++) {
      const content = `Tell me about rivers, take ${i}`;
      if (cutAnthropic === 0) {
        const { data: stream, response } = await anthropic.messages
          .create({ model: "demo/tiny-chat", max_tokens: 256, stream: true, messages: [{ role: "user", content: `${content} (anthropic)` }] })
          .withResponse();
        let text = "";
        let starts = 0;
        let stops = 0;
        let outputTokens = -1;
        for await (const ev of stream) {
          if (ev.type === "message_start") starts++;
          if (ev.type === "message_stop") stops++;
          if (ev.type === "content_block_delta" && ev.delta.type === "text_delta") text += ev.delta.text;
          if (ev.type === "message_delta") outputTokens = ev.usage.output_tokens;
        }
        const first = response.headers.get("x-miner-hotkey") ?? "";
        if (victims.has(first)) cutAnthropic++;
        got.push({
          content: `${content} (anthropic)`,
          text,
          first,
          requestId: response.headers.get("x-request-id") ?? "",
          check: (want) => {
            expect([starts, stops]).toEqual([1, 1]);
            expect(outputTokens).toBe(want.usage.completion_tokens);
          },
        });
      }
      if (cutOpenAI === 0) {
        const { data: stream, response } = await openai.chat.completions
          .create({ model: "demo/tiny-chat", stream: true, stream_options: { include_usage: true }, messages: [{ role: "user", content }] })
          .withResponse();
        let text = "";
        let usage: OpenAI.CompletionUsage | undefined;
        const ids = new Set<string>();
        for await (const chunk of stream) {
          ids.add(chunk.id);
          text += chunk.choices[0]?.delta.content ?? "";
          if (chunk.usage) usage = chunk.usage;
        }
        const first = response.headers.get("x-miner-hotkey") ?? "";
        if (victims.has(first)) cutOpenAI++;
        got.push({
          content,
          text,
          first,
          requestId: response.headers.get("x-request-id") ?? "",
          check: (want) => {
            expect(usage).toMatchObject({ prompt_tokens: want.usage.prompt_tokens, completion_tokens: want.usage.completion_tokens });
            expect(ids.size).toBe(1);
          },
        });
      }
      if (cutAiSdk === 0) {
        const result = streamText({ model: aiSdk.chat("demo/tiny-chat"), prompt: `${content} (ai sdk)`, maxRetries: 0 });
        let text = "";
        for await (const delta of result.textStream) text += delta;
        const usage = await result.usage;
        const headers = (await result.response).headers ?? {};
        const first = headers["x-miner-hotkey"] ?? "";
        if (victims.has(first)) cutAiSdk++;
        got.push({
          content: `${content} (ai sdk)`,
          text,
          first,
          requestId: headers["x-request-id"] ?? "",
          check: (want) => {
            expect(usage.inputTokens).toBe(want.usage.prompt_tokens);
            expect(usage.outputTokens).toBe(want.usage.completion_tokens);
          },
        });
      }
    }
    // The Anthropic conversation as chat (what its dialect sends) is the same single user turn.
    for (const g of got) {
      const want = await unbroken(openai, g.content);
      expect(g.text).toBe(want.text);
      g.check(want);
      if (!victims.has(g.first)) continue;
      const rows = await usageRow(g.requestId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: "ok", completion_tokens_counted: countTokens(want.text) });
      expect(rows[0]!.miner_hotkey).not.toBe(g.first); // another miner finished it
      expect(rows[0]!.attempts).toBeGreaterThanOrEqual(2);
      // The one record names both: the miner that broke (with what it delivered) and the one that finished.
      const log = rows[0]!.attempt_log;
      expect(log[0]).toMatchObject({ miner_hotkey: g.first, outcome: "broken" });
      expect(log.at(-1)).toMatchObject({ miner_hotkey: rows[0]!.miner_hotkey, outcome: "answered" });
      expect(log.reduce((n, a) => n + a.completion_tokens, 0)).toBe(rows[0]!.completion_tokens_counted);
    }
    console.log(`streams cut by a dying miner and continued: openai ${cutOpenAI}, anthropic ${cutAnthropic}, ai sdk ${cutAiSdk}`);
    expect(cutOpenAI).toBe(1);
    expect(cutAnthropic).toBe(1);
    expect(cutAiSdk).toBe(1);
    // The dying miners really died: the processes exited.
    const exited = stack.miners.slice(0, VICTIMS).filter((m) => m.process.child.exitCode !== null).length;
    expect(exited).toBeGreaterThanOrEqual(2);
  }, 240_000);
});
