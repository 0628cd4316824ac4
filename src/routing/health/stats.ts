/**
 * Per miner and model measurements, and the pure functions that fold observations into them.
 * The same functions run in every isolate (on its local copy) and in the MinerHealth Durable
 * Object (the shared copy), so both always agree on what an observation means.
 */

import { foldLoad, type LoadBucket } from "./load-curve";

export type FailureKind = "connect" | "status" | "timeout" | "bad_response" | "stream";

export type Observation =
  | {
      kind: "success";
      hotkey: string;
      at: number;
      ttftMs: number | null;
      durationMs: number;
      /** Completion tokens the gateway counted, and what the miner claimed. */
      countedTokens: number;
      reportedTokens: number | null;
      /** Requests this miner carried (this one included) when it answered; absent when unknown. */
      inflight?: number;
      /**
       * The isolate's own delay at the time, which every miner showed (contention.ts): routing's
       * TTFT measurements are folded net of it. Absent: none.
       */
      contentionMs?: number;
    }
  | { kind: "failure"; hotkey: string; at: number; failure: FailureKind }
  | { kind: "canary"; hotkey: string; at: number; pass: boolean };

export type CircuitState = "closed" | "open" | "half_open";

export interface MinerStats {
  /** Observations folded in (successes and failures). */
  samples: number;
  /**
   * EWMA of time to first token (ms; net of the gateway's own delay, contention.ts), of output
   * tokens per second, of total latency (ms).
   */
  ttftMs: number | null;
  tokensPerSec: number | null;
  latencyMs: number | null;
  /**
   * TTFT by load level (load-curve.ts): what the miner's first token costs as it carries more
   * requests. Optional: views stored before it existed have none.
   */
  loadTtft?: (LoadBucket | null)[];
  /** EWMA of success (1) / failure (0). */
  success: number;
  /** EWMA of counted/reported completion tokens, capped at 1: 1 is honest, 0.5 claims twice what it sent. */
  honesty: number;
  honestySamples: number;
  /** EWMA of canary passes. */
  canary: number;
  canarySamples: number;
  consecutiveFailures: number;
  /** Circuit: open until `openUntil`; after that one half-open probe decides. */
  circuit: "closed" | "open";
  openUntil: number;
  /** How many times in a row the circuit opened (backoff exponent). */
  openings: number;
  updatedAt: number;
}

export const TUNING = {
  alpha: 0.2,
  /**
   * Success is a running mean over a miner's first observations (after `successPrior` imagined
   * successes), then an EWMA with this floor: quick to tell a 30%-failing miner from a reliable
   * one, then steady (a window of ~40 requests), so one lucky or unlucky streak does not swing
   * traffic. See docs/routing.md.
   */
  successAlpha: 0.05,
  successPrior: 2,
  /** Evidence ages: a miner's failure deficit halves every this many ms without observations. */
  forgiveHalfLifeMs: 5 * 60_000,
  canaryAlpha: 0.3,
  /** Consecutive failures that open a circuit. */
  circuitFailures: 3,
  circuitBaseMs: 5_000,
  circuitMaxMs: 60_000,
  /** Below this many counted tokens a request says little about honesty. */
  honestyMinTokens: 4,
  /**
   * Below this many counted tokens an answer's generation time is mostly the relay's and the
   * network's (a short answer arrives in a burst or two), not the miner's speed.
   */
  throughputMinTokens: 16,
} as const;

export function freshStats(now: number): MinerStats {
  return {
    samples: 0,
    ttftMs: null,
    tokensPerSec: null,
    latencyMs: null,
    loadTtft: [],
    success: 1,
    honesty: 1,
    honestySamples: 0,
    canary: 1,
    canarySamples: 0,
    consecutiveFailures: 0,
    circuit: "closed",
    openUntil: 0,
    openings: 0,
    updatedAt: now,
  };
}

const ewma = (prev: number | null, value: number, alpha: number) => (prev === null ? value : prev + alpha * (value - prev));

/** The weight of the n-th observation (1-based) in the success estimate. */
function successAlpha(n: number): number {
  return Math.max(TUNING.successAlpha, 1 / (n + TUNING.successPrior));
}

/**
 * The stats as routing should judge them at `now`: a miner not observed for a while has its
 * failure deficit forgiven by half every `forgiveHalfLifeMs`. Without this a miner that once
 * failed a streak keeps a near-zero weight, gets no traffic, and so never shows it recovered.
 */
export function forgiven(s: MinerStats, now: number): MinerStats {
  const idle = now - s.updatedAt;
  if (!(idle > 0) || s.success >= 1) return s;
  const keep = 2 ** (-idle / TUNING.forgiveHalfLifeMs);
  return { ...s, success: 1 - (1 - s.success) * keep };
}

export function circuitState(s: MinerStats, now: number): CircuitState {
  if (s.circuit === "closed") return "closed";
  return now >= s.openUntil ? "half_open" : "open";
}

/** Folds one observation into a copy of the stats. */
export function observe(prev: MinerStats, o: Observation): MinerStats {
  const s: MinerStats = { ...prev, updatedAt: Math.max(prev.updatedAt, o.at) };
  const a = TUNING.alpha;
  switch (o.kind) {
    case "success": {
      s.samples++;
      s.success = ewma(s.success, 1, successAlpha(s.samples));
      s.consecutiveFailures = 0;
      s.circuit = "closed";
      s.openings = 0;
      s.latencyMs = ewma(s.latencyMs, o.durationMs, a);
      const ttft = o.ttftMs === null ? null : Math.max(1, o.ttftMs - (o.contentionMs ?? 0));
      if (ttft !== null) s.ttftMs = ewma(s.ttftMs, ttft, a);
      if (ttft !== null && o.inflight !== undefined) s.loadTtft = foldLoad(prev.loadTtft, o.inflight, ttft);
      const genMs = o.durationMs - (o.ttftMs ?? 0);
      if (o.countedTokens >= TUNING.throughputMinTokens && genMs > 0) s.tokensPerSec = ewma(s.tokensPerSec, (o.countedTokens * 1000) / genMs, a);
      if (o.reportedTokens !== null && o.countedTokens >= TUNING.honestyMinTokens) {
        const ratio = o.reportedTokens > 0 ? Math.min(1, o.countedTokens / o.reportedTokens) : 1;
        s.honesty = ewma(s.honesty, ratio, a);
        s.honestySamples++;
      }
      return s;
    }
    case "failure": {
      s.samples++;
      s.success = ewma(s.success, 0, successAlpha(s.samples));
      s.consecutiveFailures++;
      const halfOpenProbeFailed = prev.circuit === "open" && o.at >= prev.openUntil;
      if (halfOpenProbeFailed || (prev.circuit === "closed" && s.consecutiveFailures >= TUNING.circuitFailures)) {
        s.circuit = "open";
        s.openUntil = o.at + Math.min(TUNING.circuitMaxMs, TUNING.circuitBaseMs * 2 ** prev.openings);
        s.openings = prev.openings + 1;
      }
      return s;
    }
    case "canary": {
      s.canary = ewma(s.canarySamples === 0 ? null : s.canary, o.pass ? 1 : 0, TUNING.canaryAlpha);
      s.canarySamples++;
      return s;
    }
  }
}
