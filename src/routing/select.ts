/**
 * Which miners to try, in order, for one request. Runs on the request path with no I/O: it reads
 * the isolate's health book (src/routing/health/book.ts) and scores each miner (score.ts).
 *
 * 1. Open circuits come last: they are tried only once every other candidate has failed,
 *    soonest to reopen first, since a probe beats a certain error (when every circuit is open,
 *    they are all there is). Half-open miners are probed lightly (a tenth of their weight).
 * 2. A session's miner (affinity key) comes first while it is healthy (circuit closed, and
 *    success, honesty and canary EWMAs all at least 0.8), so its KV cache is reused. Speed does
 *    not break affinity: a warm cache is worth more than a few milliseconds of measured TTFT.
 * 3. With probability EXPLORATION the first pick is uniform among miners in good standing
 *    (score above 0, success at least 0.9), so new miners and slow ones get re-measured;
 *    otherwise picks are weighted by score, without replacement.
 */
import { affinityOf, inflightOf, statsOf } from "./health/book";
import { circuitState, forgiven, type CircuitState, type MinerStats } from "./health/stats";
import type { Miner } from "./directory";
import { peerBests, scoreMiner, type RouteHint, type ScoreComponents } from "./score";

export const EXPLORATION = 0.05;
const HALF_OPEN_WEIGHT = 0.1;
const AFFINITY_MIN_HEALTH = 0.8;
const EXPLORE_MIN_SUCCESS = 0.9;

export interface ScoredMiner {
  miner: Miner;
  stats: MinerStats;
  circuit: CircuitState;
  components: ScoreComponents;
  /** The weight used for sampling (score, reduced while half-open). */
  weight: number;
}

export interface RankOptions {
  model: string;
  maxAttempts: number;
  hint?: RouteHint;
  affinityKey?: string;
  now?: number;
  random?: () => number;
}

export function scoreCandidates(miners: readonly Miner[], model: string, hint: RouteHint, now: number): ScoredMiner[] {
  const stats = miners.map((m) => forgiven(statsOf(model, m.hotkey, now), now));
  const peers = peerBests(stats, miners);
  return miners.map((miner, i) => {
    const s = stats[i] as MinerStats;
    const circuit = circuitState(s, now);
    const components = scoreMiner(s, miner, peers, hint, inflightOf(miner.hotkey));
    const weight = circuit === "open" ? 0 : circuit === "half_open" ? components.score * HALF_OPEN_WEIGHT : components.score;
    return { miner, stats: s, circuit, components, weight };
  });
}

export function rankCandidates(miners: readonly Miner[], opts: RankOptions): Miner[] {
  const now = opts.now ?? Date.now();
  const random = opts.random ?? Math.random;
  const scored = scoreCandidates(miners, opts.model, opts.hint ?? "balanced", now);
  let pool = scored.filter((s) => s.circuit !== "open");
  if (pool.length === 0) {
    // Every circuit is open: try the ones that reopen soonest, evenly weighted.
    pool = scored.sort((a, b) => a.stats.openUntil - b.stats.openUntil).map((s) => ({ ...s, weight: 1 }));
  }
  const order: Miner[] = [];
  const take = (i: number) => {
    order.push((pool[i] as ScoredMiner).miner);
    pool.splice(i, 1);
  };

  if (opts.affinityKey) {
    const hotkey = affinityOf(opts.affinityKey);
    const healthy = (s: ScoredMiner) =>
      s.circuit === "closed" && s.stats.success >= AFFINITY_MIN_HEALTH && s.stats.honesty >= AFFINITY_MIN_HEALTH && s.stats.canary >= AFFINITY_MIN_HEALTH;
    const i = pool.findIndex((s) => s.miner.hotkey === hotkey && healthy(s));
    if (i >= 0) take(i);
  }
  if (order.length === 0 && pool.length > 1 && random() < EXPLORATION) {
    // Explore among miners in good standing: a zero score (failed canaries) is a verdict, and a
    // miner known to fail often is measured enough by its own (small) weighted share.
    const live = pool.flatMap((s, i) => (s.weight > 0 && s.stats.success >= EXPLORE_MIN_SUCCESS ? [i] : []));
    if (live.length > 0) take(live[Math.floor(random() * live.length)] as number);
  }

  while (order.length < opts.maxAttempts && pool.length > 0) {
    const total = pool.reduce((sum, s) => sum + s.weight, 0);
    if (total <= 0) {
      take(Math.floor(random() * pool.length));
      continue;
    }
    let r = random() * total;
    let i = 0;
    for (; i < pool.length - 1; i++) {
      r -= (pool[i] as ScoredMiner).weight;
      if (r < 0) break;
    }
    take(i);
  }
  // Attempts left: the open circuits, as a last resort. A request whose only healthy candidates
  // failed would otherwise end in an error with miners untried whose fault may be over (found by
  // the soak, docs/soak.md). Dispatch reaches them only after everything above failed.
  if (order.length < opts.maxAttempts) {
    const rest = scored.filter((s) => s.circuit === "open" && !order.includes(s.miner)).sort((a, b) => a.stats.openUntil - b.stats.openUntil);
    for (const s of rest) order.push(s.miner);
  }
  return order.slice(0, opts.maxAttempts);
}
