/**
 * The traffic: `requests` requests arriving at a steady rate (open loop, capped at `maxInFlight`
 * outstanding), each drawn from a seeded generator: a subscriber by its group's share, one of its
 * keys, a dialect, streamed or not, a length, and sometimes an abort (before the answer, or after
 * a few streamed pieces). Every request's client record is kept.
 */
import { rngFromSeed, type Rng } from "../../miner/prng";
import { send, type AbortPlan, type ClientRecord, type Planned } from "./client";
import { CHAT_MODEL, EMBED_MODEL, type Dialect } from "./dialects";
import type { Profile } from "./profile";
import type { Subscribers } from "./subscribers";

const DIALECT_WEIGHTS: readonly [Dialect, number][] = [
  ["chat", 0.3],
  ["completions", 0.15],
  ["embeddings", 0.15],
  ["messages", 0.2],
  ["responses", 0.2],
];
const WORDS = ["rivers", "stones", "bridges", "gardens", "engines", "clouds", "letters", "forests", "cities", "signals"];

function weighted<T>(rng: Rng, items: readonly (readonly [T, number])[]): T {
  const total = items.reduce((s, [, w]) => s + w, 0);
  let x = rng.next() * total;
  for (const [item, w] of items) {
    x -= w;
    if (x < 0) return item;
  }
  return items[items.length - 1]![0];
}

export interface Sequencer {
  next(): number;
}

export function sequencer(): Sequencer {
  let n = 0;
  return { next: () => ++n };
}

function plan(rng: Rng, seq: number, profile: Profile, subs: Subscribers): Planned {
  const { members } = weighted(rng, subs.groups.map((g) => [g, g.group.share] as const));
  const sub = rng.pick(members);
  const dialect = weighted(rng, DIALECT_WEIGHTS);
  const stream = dialect !== "embeddings" && rng.next() < profile.streamShare;
  let abort: AbortPlan = { kind: "none" };
  if (rng.next() < profile.abortShare) {
    abort = stream && rng.next() < 0.5 ? { kind: "mid_stream", afterContentEvents: 1 + rng.int(4) } : { kind: "before_answer", afterMs: rng.int(250) };
  }
  return {
    seq,
    phase: "traffic",
    subscriberId: sub.id,
    plan: sub.plan.id,
    key: rng.pick(sub.keys),
    dialect,
    model: dialect === "embeddings" ? EMBED_MODEL : CHAT_MODEL,
    prompt: `soak ${seq}: say something about ${rng.pick(WORDS)} and ${rng.pick(WORDS)}`,
    maxTokens: 6 + rng.int(20),
    stream,
    abort,
  };
}

export interface DriverProgress {
  sent: number;
  done: number;
}

/** Traffic goes on past `requests` while `keepGoing` says so (every fault must strike under traffic), up to this many times `requests`. */
const MAX_OVERRUN = 4;

/** Sends the traffic; resolves once the last request ended. */
export async function drive(
  baseUrl: string,
  profile: Profile,
  subs: Subscribers,
  seq: Sequencer,
  onRecord: (r: ClientRecord) => void,
  progress: DriverProgress,
  keepGoing: () => boolean = () => false,
): Promise<void> {
  const rng = rngFromSeed(profile.seed);
  const started = Date.now();
  const inFlight = new Set<Promise<void>>();
  for (let i = 0; i < profile.requests || (keepGoing() && i < profile.requests * MAX_OVERRUN); i++) {
    // Open loop: request i leaves at start + i / rate, unless the client is at its cap.
    const due = started + (i * 1000) / profile.ratePerSec;
    const wait = due - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    while (inFlight.size >= profile.maxInFlight) await Promise.race(inFlight);
    const p = send(baseUrl, plan(rng, seq.next(), profile, subs)).then((r) => {
      progress.done++;
      onRecord(r);
    });
    progress.sent++;
    const tracked = p.finally(() => inFlight.delete(tracked));
    inFlight.add(tracked);
  }
  await Promise.all(inFlight);
}
