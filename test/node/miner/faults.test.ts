/**
 * The fault knobs that mid-stream failover and load-aware routing are tested with: a miner that
 * dies, stalls, sends an in-band error or finish_reason "error", sends an empty stream, or
 * saturates past a concurrency cap; and the continuation (vLLM's continue_final_message) that
 * lets another miner finish a broken answer with exactly the text an unbroken one gives.
 */
import { spawn } from "node:child_process";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keypairFromUri } from "../../../src/protocol/keys";
import { freePort, waitForPort } from "../../../scripts/lib/processes";
import { startMiners, type MinerFleet, type RunningMiner } from "../../support/miner";
import { call, chunksOf, signedHeaders, sseData, streamCall, streamedContent } from "./helpers";

let fleet: MinerFleet;
let miner: RunningMiner;
beforeAll(async () => {
  fleet = await startMiners(1);
  miner = fleet.miners[0] as RunningMiner;
});
afterAll(() => fleet.close());

const ask = (content: string, extra: Record<string, unknown> = {}) => ({ model: "demo/tiny-chat", messages: [{ role: "user", content }], ...extra });
const WORDS = "Repeat exactly: a b c d e f g";

async function rawPost(m: Pick<RunningMiner, "url" | "hotkey">, payload: unknown, signal?: AbortSignal): Promise<Response> {
  const text = JSON.stringify(payload);
  return fetch(`${m.url}/v1/chat/completions`, {
    method: "POST",
    headers: { ...(await signedHeaders(m, text)), "content-type": "application/json" },
    body: text,
    signal,
  });
}

/** Reads a response body to its end or until it breaks. */
async function readAll(res: Response): Promise<{ text: string; broke: boolean }> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let text = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return { text, broke: false };
      text += decoder.decode(value, { stream: true });
    }
  } catch {
    return { text, broke: true };
  }
}

const contentOf = (events: string[]) =>
  streamedContent(events.filter((e) => e !== "[DONE]").map((e) => JSON.parse(e) as unknown).filter((e) => !(typeof e === "object" && e !== null && "error" in e)));

async function withBehaviour<T>(b: Parameters<RunningMiner["setBehaviour"]>[0], f: () => Promise<T>): Promise<T> {
  const before = miner.behaviour();
  miner.setBehaviour(b);
  try {
    return await f();
  } finally {
    miner.setBehaviour(before);
  }
}

describe("stream fault knobs", () => {
  it("stallAfterTokens sends k tokens, then nothing, holding the connection until the client leaves", async () => {
    await withBehaviour({ stallAfterTokens: 2 }, async () => {
      const ac = new AbortController();
      const res = await rawPost(miner, ask(WORDS, { stream: true }), ac.signal);
      expect(res.status).toBe(200);
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let text = "";
      while (contentOf(sseData(text)).length < 2) text += decoder.decode((await reader.read()).value, { stream: true });
      const stalledBefore = miner.stats().stalled;
      // Nothing more comes: the next read is still pending when the client gives up.
      const next = reader.read().then(() => "data", () => "aborted");
      const raced = await Promise.race([next, new Promise((r) => setTimeout(() => r("silent"), 300))]);
      expect(raced).toBe("silent");
      expect(contentOf(sseData(text))).toEqual(["a", " b"]);
      ac.abort();
      await expect.poll(() => miner.stats().stalled).toBe(stalledBefore + 1);
    });
  });

  it("stallAfterTokens 0 opens the stream and sends no event at all", async () => {
    await withBehaviour({ stallAfterTokens: 0 }, async () => {
      const ac = new AbortController();
      const res = await rawPost(miner, ask(WORDS, { stream: true }), ac.signal);
      expect(res.status).toBe(200);
      expect(res.headers.get("content-type")).toContain("text/event-stream");
      const reader = res.body!.getReader();
      const first = reader.read().then((r) => (r.done ? "end" : "data"), () => "aborted");
      expect(await Promise.race([first, new Promise((r) => setTimeout(() => r("silent"), 300))])).toBe("silent");
      ac.abort();
    });
  });

  it("errorEventAfterTokens sends an in-band error event after k tokens (0: before any content) and ends", async () => {
    for (const k of [0, 3]) {
      await withBehaviour({ errorEventAfterTokens: k }, async () => {
        const s = await streamCall(miner, "/v1/chat/completions", ask(WORDS, { stream: true }));
        expect(s.status).toBe(200);
        const last = JSON.parse(s.events.at(-1)!) as { error: { code: string } };
        expect(last.error.code).toBe("simulated_stream_error");
        expect(s.events).not.toContain("[DONE]");
        expect(contentOf(s.events)).toEqual(["a", " b", " c"].slice(0, k));
        if (k === 0) expect(s.events).toHaveLength(1); // the error is the very first event
      });
    }
  });

  it("finishErrorAfterTokens ends with finish_reason error and [DONE]", async () => {
    await withBehaviour({ finishErrorAfterTokens: 2 }, async () => {
      const s = await streamCall(miner, "/v1/chat/completions", ask(WORDS, { stream: true }));
      const chunks = chunksOf(s.events) as Array<{ choices: Array<{ finish_reason: string | null }> }>;
      expect(streamedContent(chunks)).toEqual(["a", " b"]);
      expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe("error");
    });
  });

  it("emptyStream answers a 200 event stream with [DONE] alone", async () => {
    await withBehaviour({ emptyStream: true }, async () => {
      const s = await streamCall(miner, "/v1/chat/completions", ask(WORDS, { stream: true }));
      expect(s.status).toBe(200);
      expect(s.contentType).toContain("text/event-stream");
      expect(s.events).toEqual(["[DONE]"]);
    });
  });

  it("exitAfterTokens: the miner dies after k tokens (connections cut, nothing listening)", async () => {
    const dying = await startMiners(1, { exitAfterTokens: 2 });
    const m = dying.miners[0] as RunningMiner;
    try {
      const res = await rawPost(m, ask(WORDS, { stream: true }));
      const { text, broke } = await readAll(res);
      expect(broke).toBe(true);
      expect(contentOf(sseData(text))).toEqual(["a", " b"]);
      expect(m.stats().exited).toBe(1);
      await expect(rawPost(m, ask(WORDS))).rejects.toThrow(); // nobody listens any more
    } finally {
      await dying.close();
    }
  });

  it("--exit-after-tokens ends the miner process itself", async () => {
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "miner/main.ts", "--port", String(port), "--hotkey", "//Bob", "--exit-after-tokens", "2"], {
      stdio: "ignore",
    });
    const exited = new Promise<number | null>((r) => child.once("exit", (code) => r(code)));
    try {
      await waitForPort("127.0.0.1", port, 30_000);
      const target = { url: `http://127.0.0.1:${port}`, hotkey: keypairFromUri("//Bob").ss58 };
      const { text, broke } = await readAll(await rawPost(target, ask(WORDS, { stream: true })));
      expect(broke).toBe(true);
      expect(contentOf(sseData(text))).toEqual(["a", " b"]);
      expect(await exited).toBe(70);
    } finally {
      child.kill("SIGKILL");
    }
  }, 40_000);
});

describe("concurrency cap", () => {
  it("serves at most maxConcurrency requests at once; the rest queue, so their first token comes later", async () => {
    const capped = await startMiners(1, { maxConcurrency: 2, ttftMs: 150, tokensPerSec: 100_000 });
    const m = capped.miners[0] as RunningMiner;
    try {
      const results = await Promise.all(Array.from({ length: 6 }, (_, i) => call(m, "/v1/chat/completions", ask(`queued ${i}`))));
      expect(results.every((r) => r.status === 200)).toBe(true);
      const s = m.stats();
      expect(s.peakInflight).toBe(2);
      // Two served at once, four waited for a slot (counts, not timings).
      expect(s.queued).toBe(4);
      expect(s.firstTokenMs).toHaveLength(6);
      m.setBehaviour({ maxConcurrency: Infinity });
      await Promise.all(Array.from({ length: 6 }, (_, i) => call(m, "/v1/chat/completions", ask(`free ${i}`))));
      expect(m.stats().peakInflight).toBe(6);
    } finally {
      await capped.close();
    }
  });

  it("validates the cap", () => {
    expect(() => miner.setBehaviour({ maxConcurrency: 0 })).toThrow(RangeError);
    expect(() => miner.setBehaviour({ stallAfterTokens: -1 })).toThrow(RangeError);
  });
});

describe("continuation (continue_final_message)", () => {
  const user = "Tell me something long";
  const full = async (extra: Record<string, unknown> = {}) =>
    ((await call(miner, "/v1/chat/completions", ask(user, extra))).json as { choices: [{ message: { content: string } }] }).choices[0].message.content;

  it("continues the deterministic answer exactly from a prefix of it, streamed or not", async () => {
    const answer = await full();
    const pieces = (await streamCall(miner, "/v1/chat/completions", ask(user, { stream: true }))).events;
    const tokens = contentOf(pieces);
    expect(tokens.join("")).toBe(answer);
    for (const k of [1, 5, tokens.length - 1]) {
      const prefix = tokens.slice(0, k).join("");
      const body = { model: "demo/tiny-chat", messages: [{ role: "user", content: user }, { role: "assistant", content: prefix }], continue_final_message: true, add_generation_prompt: false };
      const rest = (await call(miner, "/v1/chat/completions", body)).json as { choices: [{ message: { content: string } }]; usage: { completion_tokens: number } };
      expect(prefix + rest.choices[0].message.content).toBe(answer);
      expect(rest.usage.completion_tokens).toBe(tokens.length - k);
      const streamed = await streamCall(miner, "/v1/chat/completions", { ...body, stream: true });
      expect(contentOf(streamed.events)).toEqual(tokens.slice(k));
    }
  });

  it("honours max_tokens as the budget left: prefix + continuation equals the capped answer", async () => {
    const capped = await full({ max_tokens: 9 });
    const tokens = contentOf((await streamCall(miner, "/v1/chat/completions", ask(user, { stream: true, max_tokens: 9 }))).events);
    const prefix = tokens.slice(0, 4).join("");
    const body = { model: "demo/tiny-chat", max_tokens: 5, messages: [{ role: "user", content: user }, { role: "assistant", content: prefix }], continue_final_message: true };
    const rest = (await call(miner, "/v1/chat/completions", body)).json as { choices: [{ message: { content: string }; finish_reason: string }] };
    expect(prefix + rest.choices[0].message.content).toBe(capped);
    expect(rest.choices[0].finish_reason).toBe("length");
  });

  it("refuses continue_final_message without a trailing assistant message, as vLLM does", async () => {
    const r = await call(miner, "/v1/chat/completions", ask(user, { continue_final_message: true }));
    expect(r.status).toBe(400);
    expect(r.json).toMatchObject({ error: { param: "continue_final_message" } });
  });

  it("without the flag, a trailing assistant message is a turn like any other", async () => {
    const body = { model: "demo/tiny-chat", messages: [{ role: "user", content: user }, { role: "assistant", content: "Partial" }] };
    const r = (await call(miner, "/v1/chat/completions", body)).json as { choices: [{ message: { content: string } }] };
    expect(r.choices[0].message.content.startsWith("Partial")).toBe(false);
    expect(r.choices[0].message.content.length).toBeGreaterThan(0);
  });
});
