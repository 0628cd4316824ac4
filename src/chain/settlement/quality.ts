// A miner's quality over an epoch (pure), from its usage rows: how often it answered, whether its
// token reports were honest, and how it did on the gateway's canary probes. One factor in
// parts-per-million (integers, so an operator recomputes exactly the same number).
import { PPM } from "./types";

/** Counts over one miner's usage rows in the epoch window (see usage.ts for how rows are sorted). */
export type MinerUsageStats = {
  /** Subscriber requests the miner answered (ok, or cancelled by the client after output). */
  served: number;
  /** Subscriber requests that failed on the miner (errors, timeouts, bad answers, cut streams). */
  failed: number;
  /** Token totals over served requests that carried a miner usage report. */
  reportedTokens: number;
  countedTokensOfReported: number;
  /** Canary probes (kind 'canary') that reached the miner, and those it answered. */
  canaryTotal: number;
  canaryOk: number;
};

export type QualityComponents = {
  /** served / (served + failed). */
  successPpm: number;
  /** min(1, counted / reported) over reported tokens: over-reporting lowers it. */
  honestyPpm: number;
  /** canaryOk / canaryTotal; 1 without canaries. */
  canaryPpm: number;
  /** Routing's own score when routing supplies one (issue 4); 1 otherwise. */
  routingPpm: number;
  /** The product of the four. */
  qualityPpm: number;
};

function ratioPpm(numerator: number, denominator: number): number {
  if (denominator <= 0) return PPM;
  return Math.min(PPM, Math.floor((numerator * PPM) / denominator));
}

function clampPpm(value: number): number {
  if (!Number.isFinite(value)) return 0;
  return Math.max(0, Math.min(PPM, Math.floor(value)));
}

/**
 * quality = success x honesty x canary x routing, each in [0, 1], computed in integer ppm and
 * rounded down at every product. `routingScorePpm` is the hook for routing's scores (issue 4).
 */
export function minerQuality(stats: MinerUsageStats, routingScorePpm?: number): QualityComponents {
  const successPpm = ratioPpm(stats.served, stats.served + stats.failed);
  const honestyPpm = ratioPpm(stats.countedTokensOfReported, stats.reportedTokens);
  const canaryPpm = ratioPpm(stats.canaryOk, stats.canaryTotal);
  const routingPpm = routingScorePpm === undefined ? PPM : clampPpm(routingScorePpm);
  const product = [honestyPpm, canaryPpm, routingPpm].reduce((acc, f) => (acc * BigInt(f)) / BigInt(PPM), BigInt(successPpm));
  return { successPpm, honestyPpm, canaryPpm, routingPpm, qualityPpm: Number(product) };
}
