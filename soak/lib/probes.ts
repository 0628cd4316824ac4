/**
 * Concurrency probes, in waves during the traffic: more streamed requests than the plan's
 * concurrency limit at once, on `soak/gated`, for a probe subscriber (the small plan, admitted
 * one lease at a time, and pro, admitted from grant books in turn). Every admitted stream waits
 * at the gate (lib/gate.ts) until all of the wave's requests have their answer or refusal; then
 * the gate opens. The streams that then carry `released-<wave>` were all open in the gateway at
 * that instant, so their number can never pass the limit (as seen by the client, and causally:
 * no timing is assumed). A wave that reached the limit shows the check could have failed.
 */
import { send, type ClientRecord, type Planned } from "./client";
import { GATED_MODEL, type Gate } from "./gate";
import type { Sequencer } from "./driver";
import type { Subscriber, Subscribers } from "./subscribers";

export interface WaveResult {
  wave: number;
  subscriberId: string;
  plan: string;
  limit: number;
  width: number;
  /** 200 with the held content before the gate opened. */
  held: number;
  refused429: number;
  /** Streams that carried the wave's release: open in the gateway at the same instant. */
  provenConcurrent: number;
  /** Requests of the wave that ended some other way (miner or gateway failure). */
  other: number;
}

export interface ProbeRun {
  waves: WaveResult[];
  stop(): Promise<void>;
}

/** How long a wave waits for all of its requests to be answered or refused before opening the gate anyway. */
const SETTLE_MS = 10_000;

async function wave(baseUrl: string, gate: Gate, sub: Subscriber, n: number, seq: Sequencer, onRecord: (r: ClientRecord) => void): Promise<WaveResult> {
  const limit = sub.plan.concurrentRequests;
  const width = limit + 3;
  const held = new Set<number>();
  let settled = 0;
  let allSettled!: () => void;
  const everyoneSettled = new Promise<void>((r) => (allSettled = r));
  const settle = () => {
    if (++settled === width) allSettled();
  };
  const results = Array.from({ length: width }, (_, i) => {
    const p: Planned = {
      seq: seq.next(),
      phase: "probe",
      subscriberId: sub.id,
      plan: sub.plan.id,
      key: sub.keys[0]!,
      dialect: "chat",
      model: GATED_MODEL,
      prompt: `soak wave ${n} request ${i}`,
      maxTokens: 16,
      stream: true,
      abort: { kind: "none" },
      onFirstContent: () => {
        held.add(i);
        settle();
      },
    };
    return send(baseUrl, p).then((r) => {
      if (!held.has(i)) settle();
      onRecord(r);
      return r;
    });
  });
  // The gate opens once every request of the wave was held or ended (or after SETTLE_MS).
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([everyoneSettled, new Promise<void>((r) => (timer = setTimeout(r, SETTLE_MS)))]);
  clearTimeout(timer);
  const heldAtOpening = held.size;
  gate.open(n);
  const records = await Promise.all(results);
  const released = `released-${n}`;
  const proven = (r: ClientRecord) => r.outcome === "complete" && (r.text ?? "").includes(released);
  return {
    wave: n,
    subscriberId: sub.id,
    plan: sub.plan.id,
    limit,
    width,
    held: heldAtOpening,
    refused429: records.filter((r) => r.status === 429).length,
    provenConcurrent: records.filter(proven).length,
    other: records.filter((r) => r.status !== 429 && !proven(r)).length,
  };
}

export function startProbes(opts: { baseUrl: string; gate: Gate; subs: Subscribers; everyMs: number; seq: Sequencer; onRecord: (r: ClientRecord) => void }): ProbeRun {
  const waves: WaveResult[] = [];
  let stopping = false;
  let wake: (() => void) | null = null;
  const loop = (async () => {
    for (let n = 1; !stopping; n++) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, opts.everyMs);
        wake = () => {
          clearTimeout(t);
          resolve();
        };
      });
      if (stopping) break;
      const sub = n % 2 === 1 ? opts.subs.probeSmall : opts.subs.probeSliced;
      waves.push(await wave(opts.baseUrl, opts.gate, sub, n, opts.seq, opts.onRecord));
    }
  })();
  return {
    waves,
    async stop() {
      stopping = true;
      wake?.();
      await loop;
    },
  };
}
