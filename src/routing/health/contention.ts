/**
 * The gateway's own delay, told apart from a miner's: a slowdown every miner of a model shows at
 * once is the isolate's (its CPU, its event loop, its network), not any one miner's. Without
 * this, an isolate under load sees every miner's first token arrive late and the load curve
 * (load-curve.ts) blames the busiest miner, the fast one, for it: traffic flees to slow miners,
 * which hold requests longer and make the overload worse.
 *
 * Each success with a TTFT sets the miner's *excess*: how far that TTFT is above the miner's own
 * unloaded base. The isolate's contention is the smallest recent excess among the model's miners
 * (two at least): the part of the delay that every miner shows. The latest excess, not an average:
 * a rarely picked miner is measured seldom, and an average of its old excess would lag the
 * isolate's load, let its own base absorb the delay, and hide the contention from then on. A
 * single noisy sample can only make the minimum smaller, so the correction errs towards none. Routing's TTFT
 * measurements are folded net of it, so a miner that really saturates still stands out (its
 * excess exceeds the others'), and one that merely shares a busy gateway does not.
 */
import { loadModel } from "./load-curve";
import type { MinerStats } from "./stats";

/** An excess counts as recent for this long. */
export const CONTENTION_WINDOW_MS = 10_000;
export interface Excess {
  /** The latest measured TTFT minus the miner's unloaded base, ms; may be negative. */
  ms: number;
  at: number;
}

/** The miner's unloaded TTFT as routing knows it: its load curve's base, else its EWMA. */
export function unloadedTtft(s: MinerStats): number | null {
  return loadModel(s.loadTtft).baseMs ?? s.ttftMs;
}

/** The miner's excess after one measured TTFT (none while the miner has no base yet). */
export function excessOf(stats: MinerStats, ttftMs: number, at: number): Excess | null {
  const base = unloadedTtft(stats);
  return base === null ? null : { ms: ttftMs - base, at };
}

/** The delay every recently measured miner shows (ms, >= 0); 0 with fewer than two of them. */
export function contentionMs(excess: ReadonlyMap<string, Excess>, now: number): number {
  let min = Infinity;
  let recent = 0;
  for (const e of excess.values()) {
    if (now - e.at > CONTENTION_WINDOW_MS) continue;
    recent++;
    if (e.ms < min) min = e.ms;
  }
  return recent >= 2 && min > 0 ? min : 0;
}
