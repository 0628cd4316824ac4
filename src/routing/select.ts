/**
 * Which miners to try, in order, for one request. For now: a uniformly random order over the
 * miners serving the model, so load spreads evenly. Scoring replaces this (issue #4) without
 * changing the relay, which only consumes the ordered list.
 */
import type { Miner } from "./directory";

export function candidateOrder(miners: readonly Miner[], maxAttempts: number, random: () => number = Math.random): Miner[] {
  const pool = miners.slice();
  const n = Math.min(maxAttempts, pool.length);
  // Partial Fisher-Yates: only the first n positions are needed.
  for (let i = 0; i < n; i++) {
    const j = i + Math.floor(random() * (pool.length - i));
    const tmp = pool[i] as Miner;
    pool[i] = pool[j] as Miner;
    pool[j] = tmp;
  }
  return pool.slice(0, n);
}
