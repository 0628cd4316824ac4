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
    }
  | { kind: "failure"; hotkey: string; at: number; failure: FailureKind }
  | { kind: "canary"; hotkey: string; at: number; pass: boolean };

export type CircuitState = "closed" | "open" | "half_open";

export interface MinerStats {
  /** Observations folded in (successes and failures). */
  samples: number;
  /** EWMA of time to first token (ms), of output tokens per second, of total latency (ms). */
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
  /** Success moves slower than timings: one failure should not swing traffic. */
  successAlpha: 0.1,
  canaryAlpha: 0.3,
  /** Consecutive failures that open a circuit. */
  circuitFailures: 3,
  circuitBaseMs: 5_000,
  circuitMaxMs: 60_000,
  /** Below this many counted tokens a request says little about honesty. */
  honestyMinTokens: 4,
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
      s.success = ewma(s.success, 1, TUNING.successAlpha);
      s.consecutiveFailures = 0;
      s.circuit = "closed";
      s.openings = 0;
      s.latencyMs = ewma(s.latencyMs, o.durationMs, a);
      if (o.ttftMs !== null) s.ttftMs = ewma(s.ttftMs, o.ttftMs, a);
      if (o.ttftMs !== null && o.inflight !== undefined) s.loadTtft = foldLoad(prev.loadTtft, o.inflight, o.ttftMs);
      const genMs = o.durationMs - (o.ttftMs ?? 0);
      if (o.countedTokens >= 2 && genMs > 0) s.tokensPerSec = ewma(s.tokensPerSec, (o.countedTokens * 1000) / genMs, a);
      if (o.reportedTokens !== null && o.countedTokens >= TUNING.honestyMinTokens) {
        const ratio = o.reportedTokens > 0 ? Math.min(1, o.countedTokens / o.reportedTokens) : 1;
        s.honesty = ewma(s.honesty, ratio, a);
        s.honestySamples++;
      }
      return s;
    }
    case "failure": {
      s.samples++;
      s.success = ewma(s.success, 0, TUNING.successAlpha);
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
