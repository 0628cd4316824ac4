/**
 * The score of a miner for one request, from live measurements and the chain's view:
 *
 *   score = success¹⁶ × speed × honesty² × canary² × prior × load
 *
 *   success  share of answered requests (1 = all): a running mean over the first ones, then an
 *            EWMA (α 0.05), its deficit forgiven by half every 5 idle minutes (health/stats.ts).
 *            The 16th power: a miner failing 1 request in 20 keeps 44% of its weight, 1 in 10
 *            keeps 19%, 3 in 10 keeps 0.3%. Each failure costs the user a wait and a retry and
 *            the subnet a wasted request, so reliability weighs more than speed: beside a
 *            reliable peer a 30%-failing miner must carry well under a tenth of the attempts,
 *            even when a lucky streak makes it look like a 20%-failing one (0.8¹⁶ = 0.03).
 *   speed    relative to the best measured miner for the same model, by the request's hint:
 *            latency = (best base TTFT / base TTFT)², throughput = tokens/s / best tokens/s,
 *            balanced = latency × √throughput. Base TTFT is the miner's TTFT unloaded (the lowest
 *            load level measured, health/load-curve.ts), else its overall EWMA. The wait for the
 *            first token is what users feel most, so a miner twice as slow to start gets a
 *            quarter of the weight. TTFT is the gateway's own clock: time to the first delivered
 *            token (for non-streamed answers, to the whole answer). Unmeasured miners count as
 *            fast (1), so new miners get traffic.
 *   honesty  EWMA of counted/reported completion tokens (capped at 1). Squared: a miner that
 *            claims twice the tokens it sent keeps a quarter of its weight.
 *   canary   EWMA of passed known-answer probes. Squared: wrong answers cost trust fast.
 *   prior    0.5 + 0.4 × incentive/max incentive + 0.1 × stake/max stake, from the metagraph
 *            (1 when the chain says nothing, e.g. static miners). Validators' judgement counts,
 *            but never more than halves a miner's weight: live evidence comes first.
 *   load     (base TTFT / predicted TTFT with one more request in flight)², the exponent 1 for
 *            the throughput hint: the miner's own learned slowdown under load (load-curve.ts).
 *            1 until the miner has been seen slowing down, so a fast miner keeps its traffic
 *            until it does; speed × load compares miners by the TTFT each would give now.
 *
 * Open circuits are not scored: the selector skips them.
 */
import { loadModel, predictTtft } from "./health/load-curve";
import type { MinerStats } from "./health/stats";

export type RouteHint = "balanced" | "latency" | "throughput";

export interface ChainView {
  incentive: number;
  stakeRao: bigint;
}

export interface ScoreComponents {
  success: number;
  speed: number;
  honesty: number;
  canary: number;
  prior: number;
  load: number;
  score: number;
}

export interface PeerBests {
  bestTtftMs: number | null;
  bestTokensPerSec: number | null;
  maxIncentive: number;
  maxStakeRao: bigint;
}

export function peerBests(stats: readonly MinerStats[], chain: readonly ChainView[]): PeerBests {
  let bestTtftMs: number | null = null;
  let bestTokensPerSec: number | null = null;
  for (const s of stats) {
    if (s.ttftMs !== null && (bestTtftMs === null || s.ttftMs < bestTtftMs)) bestTtftMs = s.ttftMs;
    if (s.tokensPerSec !== null && (bestTokensPerSec === null || s.tokensPerSec > bestTokensPerSec)) bestTokensPerSec = s.tokensPerSec;
  }
  let maxIncentive = 0;
  let maxStakeRao = 0n;
  for (const c of chain) {
    if (c.incentive > maxIncentive) maxIncentive = c.incentive;
    if (c.stakeRao > maxStakeRao) maxStakeRao = c.stakeRao;
  }
  return { bestTtftMs, bestTokensPerSec, maxIncentive, maxStakeRao };
}


/** How much slower the miner's first token gets with one more request (1: not at all). */
export function loadFactor(s: MinerStats, inflight: number, hint: RouteHint): number {
  const base = loadModel(s.loadTtft).baseMs;
  const predicted = predictTtft(s.loadTtft, inflight + 1);
  if (base === null || predicted === null) return 1;
  const ratio = Math.max(1, base) / Math.max(1, predicted);
  return hint === "throughput" ? ratio : ratio ** 2;
}

export function scoreMiner(s: MinerStats, chain: ChainView, peers: PeerBests, hint: RouteHint, inflight: number): ScoreComponents {
  // Latency compares the miners' TTFT EWMAs: a minimum over load buckets would favour whichever
  // miner has the most samples (the most buckets to take a minimum over) and lock traffic onto it.
  const latency = s.ttftMs === null || peers.bestTtftMs === null ? 1 : (Math.max(1, peers.bestTtftMs) / Math.max(1, s.ttftMs)) ** 2;
  const throughput = s.tokensPerSec === null || peers.bestTokensPerSec === null ? 1 : s.tokensPerSec / peers.bestTokensPerSec;
  const speed = hint === "latency" ? latency : hint === "throughput" ? throughput : latency * Math.sqrt(throughput);
  const incentiveShare = peers.maxIncentive > 0 ? chain.incentive / peers.maxIncentive : null;
  const stakeShare = peers.maxStakeRao > 0n ? Number((chain.stakeRao * 1000n) / peers.maxStakeRao) / 1000 : null;
  const prior = incentiveShare === null && stakeShare === null ? 1 : 0.5 + 0.4 * (incentiveShare ?? 0) + 0.1 * (stakeShare ?? 0);
  const load = loadFactor(s, inflight, hint);
  const success = s.success ** 16;
  const honesty = s.honesty ** 2;
  const canary = s.canary ** 2;
  return { success, speed, honesty, canary, prior, load, score: success * speed * honesty * canary * prior * load };
}
