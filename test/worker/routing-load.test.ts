/**
 * Routing under concurrency, against real reference miners: a fast miner keeps its traffic while
 * it does not slow down (8 and 32 requests at once), a flaky one gets little, no client sees a
 * failure; a fast miner that really saturates (a concurrency cap, queueing beyond it) sheds load
 * to the next best. Shares are counts of attempts (each miner's observations at the gateway),
 * not timings; the one timing compared is a ratio of medians of the same miner's first tokens.
 */
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { SseDecoder } from "../../src/lib/sse";
import { admin, chat, newSubscriber, registerMiners } from "./helpers";

const l = env.TEST_FIXTURES.load;
let key: string;

interface RoutingView {
  data: { hotkey: string; stats: { samples: number } }[];
}

interface Answer {
  status: number;
  miner: string | null;
  complete: boolean;
}

/** One streamed chat, read to its end. */
async function streamOnce(model: string, i: number): Promise<Answer> {
  const res = await chat(key, { model, stream: true, max_tokens: 6, messages: [{ role: "user", content: `Load request ${i} ${Math.random()}` }] });
  const miner = res.headers.get("x-miner-hotkey");
  if (res.status !== 200 || !res.body) {
    await res.arrayBuffer();
    return { status: res.status, miner, complete: false };
  }
  const decoder = new SseDecoder();
  const reader = res.body.getReader();
  let last = "";
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    for (const ev of decoder.push(value)) last = ev.data;
  }
  return { status: res.status, miner, complete: last === "[DONE]" };
}

async function drive(model: string, n: number, concurrency: number): Promise<Answer[]> {
  const out: Answer[] = [];
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < n) out.push(await streamOnce(model, next++));
    }),
  );
  return out;
}

/** Attempts per miner so far: every success and failure the gateway observed. */
async function attempts(model: string): Promise<Map<string, number>> {
  const view = await admin<RoutingView>("GET", `/admin/routing?model=${encodeURIComponent(model)}`);
  return new Map(view.data.map((m) => [m.hotkey, m.stats.samples]));
}

/** Shares of the attempts made between two snapshots. */
function sharesBetween(before: Map<string, number>, after: Map<string, number>): Map<string, number> {
  const delta = new Map([...after].map(([k, v]) => [k, v - (before.get(k) ?? 0)]));
  const total = [...delta.values()].reduce((a, b) => a + b, 0);
  return new Map([...delta].map(([k, v]) => [k, total > 0 ? v / total : 0]));
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

/** The miner's own record of its first tokens (ms from arrival, queueing included), oldest first. */
async function minerFirstTokens(hotkey: string): Promise<number[]> {
  const res = await fetch(`${env.TEST_FIXTURES.minerStatsUrl}?hotkey=${encodeURIComponent(hotkey)}`);
  return ((await res.json()) as { firstTokenMs: number[] }).firstTokenMs;
}

beforeAll(async () => {
  ({ key } = await newSubscriber("routing-load"));
  await registerMiners([
    { ...l.fast, models: ["load/mix"] },
    { ...l.slow, models: ["load/mix"] },
    { ...l.flaky, models: ["load/mix"] },
    { ...l.capped, models: ["load/saturating"] },
    { ...l.next, models: ["load/saturating"] },
  ]);
});

/**
 * Concurrency levels of the mix: ROUTING_LOAD_LEVELS, "8" in the default run, "8,32" with the
 * saturating test in `npm run test:routing-load` (docs/routing.md, "Measured"). Why not all of it
 * in CI: on 2 cores shared with the rest of the suite, the fast miner's share at 32 ranged 0.76-0.88
 * and the saturating miner's shed 0.08-0.13 against a 0.1 bar over the last runs: a gate that
 * fails by chance one run in a few blocks every landing, and proves nothing more than the
 * deterministic unit tests of the same mechanism (routing-score.test.ts).
 */
const LEVELS = env.TEST_FIXTURES.loadLevels;
/**
 * The saturating miner takes 2 requests at a time: at 8 in flight, sending it everything would
 * queue most requests for several of its turns. (At 32 the queue would outlast the suite's 1.5 s
 * first-token timeout before the curve is learned: timeouts, not routing, would decide.)
 */
const SATURATING_LEVEL = 8;

describe("routing under load", () => {
  it(`keeps >= 75% of attempts on the fast miner at ${LEVELS.join(" and ")} concurrent requests, <= 10% on the flaky one, no client failure`, async () => {
    // Warm-up, one at a time: every miner gets measured, and the fast one's unloaded TTFT is known
    // (as the miner itself saw it: the gateway's clock on a loaded 2-core machine measures mostly
    // the gateway).
    const warm = await drive("load/mix", 40, 1);
    const unloaded = median(await minerFirstTokens(l.fast.hotkey));
    const results: Answer[] = [...warm];
    for (const concurrency of LEVELS) {
      await drive("load/mix", 2 * concurrency, concurrency); // settle at this level first
      const before = await attempts("load/mix");
      const seenBefore = (await minerFirstTokens(l.fast.hotkey)).length;
      const run = await drive("load/mix", Math.max(240, 8 * concurrency), concurrency);
      const shares = sharesBetween(before, await attempts("load/mix"));
      results.push(...run);
      const fast = shares.get(l.fast.hotkey) ?? 0;
      const flaky = shares.get(l.flaky.hotkey) ?? 0;
      const loadedTtft = median((await minerFirstTokens(l.fast.hotkey)).slice(seenBefore));
      console.log(
        `load/mix at ${concurrency}: fast ${fast.toFixed(2)}, slow ${(shares.get(l.slow.hotkey) ?? 0).toFixed(2)}, flaky ${flaky.toFixed(2)}; ` +
          `fast TTFT median ${loadedTtft.toFixed(0)} ms vs ${unloaded.toFixed(0)} ms unloaded`,
      );
      expect(fast).toBeGreaterThanOrEqual(0.75);
      expect(flaky).toBeLessThanOrEqual(0.1);
      expect(loadedTtft).toBeLessThanOrEqual(1.5 * unloaded);
    }
    expect(results.filter((r) => r.status !== 200 || !r.complete)).toEqual([]);
  }, 400_000);

  it.skipIf(!env.TEST_FIXTURES.loadSaturating)(`sheds load from a fast miner that saturates (it queues beyond 2 concurrent requests) to a 3x slower one at ${SATURATING_LEVEL} concurrent requests`, async () => {
    // Unloaded, the capped miner scores ~9x the next one: the next one gets little beyond exploration.
    await drive("load/saturating", 20, 1);
    const idleBefore = await attempts("load/saturating");
    const idle = await drive("load/saturating", 40, 1);
    const idleNext = sharesBetween(idleBefore, await attempts("load/saturating")).get(l.next.hotkey) ?? 0;
    // At 8 in flight, sending everything to the capped miner would queue most requests for several
    // of its turns: its learned load curve must move the excess to the next miner.
    await drive("load/saturating", 4 * SATURATING_LEVEL, SATURATING_LEVEL);
    const before = await attempts("load/saturating");
    const run = await drive("load/saturating", 160, SATURATING_LEVEL);
    const shares = sharesBetween(before, await attempts("load/saturating"));
    const capped = shares.get(l.capped.hotkey) ?? 0;
    const next = shares.get(l.next.hotkey) ?? 0;
    console.log(`load/saturating: next ${idleNext.toFixed(2)} unloaded; at ${SATURATING_LEVEL}: capped ${capped.toFixed(2)}, next ${next.toFixed(2)}`);
    expect([...idle, ...run].filter((r) => r.status !== 200 || !r.complete)).toEqual([]);
    // The load, not chance, moved the traffic: the next miner's share grows well past its unloaded
    // one. (Not to half: a request waiting up to two turns at the capped miner still gets its first
    // token no later than at the next one, 3x slower, so ~a quarter of the attempts is the ideal.)
    expect(next).toBeGreaterThanOrEqual(0.2);
    expect(next - idleNext).toBeGreaterThanOrEqual(0.1);
    // The capped miner still carries what it can.
    expect(capped).toBeGreaterThanOrEqual(0.15);
  }, 400_000);
});
