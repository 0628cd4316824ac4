/**
 * The score of a miner for one request, from live measurements and the chain's view:
 *
 *   score = success⁴ × speed × honesty² × canary² × prior × load
 *
 *   success  EWMA (α 0.1) of answered requests (1 = all). The 4th power makes a 30%-failing miner worth
 *            ~0.24 of a reliable one: failures cost users retries, so they weigh more than speed.
 *   speed    relative to the best measured miner for the same model, by the request's hint:
 *            latency = (best TTFT / TTFT)², throughput = tokens/s / best tokens/s, balanced =
 *            latency × √throughput. The wait for the first token is what users feel most, so a
 *            miner twice as slow to start gets a quarter of the weight; a slow generator still
 *            costs them on long answers. TTFT is the gateway's own clock: time to the first
 *            delivered token (for non-streamed answers, to the whole answer). Unmeasured miners
 *            count as fast (1), so new miners get traffic.
 *   honesty  EWMA of counted/reported completion tokens (capped at 1). Squared: a miner that
 *            claims twice the tokens it sent keeps a quarter of its weight.
 *   canary   EWMA of passed known-answer probes. Squared: wrong answers cost trust fast.
 *   prior    0.5 + 0.4 × incentive/max incentive + 0.1 × stake/max stake, from the metagraph
 *            (1 when the chain says nothing, e.g. static miners). Validators' judgement counts,
 *            but never more than halves a miner's weight: live evidence comes first.
 *   load     1 / (1 + in-flight/4): spreads load before a miner queues.
 *
 * Open circuits are not scored: the selector skips them.
 */
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

export function scoreMiner(s: MinerStats, chain: ChainView, peers: PeerBests, hint: RouteHint, inflight: number): ScoreComponents {
  const latency = s.ttftMs === null || peers.bestTtftMs === null ? 1 : (Math.max(1, peers.bestTtftMs) / Math.max(1, s.ttftMs)) ** 2;
  const throughput = s.tokensPerSec === null || peers.bestTokensPerSec === null ? 1 : s.tokensPerSec / peers.bestTokensPerSec;
  const speed = hint === "latency" ? latency : hint === "throughput" ? throughput : latency * Math.sqrt(throughput);
  const incentiveShare = peers.maxIncentive > 0 ? chain.incentive / peers.maxIncentive : null;
  const stakeShare = peers.maxStakeRao > 0n ? Number((chain.stakeRao * 1000n) / peers.maxStakeRao) / 1000 : null;
  const prior = incentiveShare === null && stakeShare === null ? 1 : 0.5 + 0.4 * (incentiveShare ?? 0) + 0.1 * (stakeShare ?? 0);
  const load = 1 / (1 + inflight / 4);
  const success = s.success ** 4;
  const honesty = s.honesty ** 2;
  const canary = s.canary ** 2;
  return { success, speed, honesty, canary, prior, load, score: success * speed * honesty * canary * prior * load };
}
