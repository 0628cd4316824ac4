/**
 * MinerHealth: the shared measurements of every miner serving one model (one object per model,
 * `idFromName(model)`, so no single object carries all traffic). Isolates report batches of
 * observations after their responses and get the merged view back in the same call.
 */
import { DurableObject } from "cloudflare:workers";
import { devFaultsEnabled } from "../../dev/faults";
import type { Env } from "../../env";
import { countOp } from "../../lib/op-counts";
import { freshStats, observe, type MinerStats, type Observation } from "./stats";

const STORAGE_KEY = "stats";
/** Miners not heard of for this long are dropped from the view (deregistered, gone). */
const FORGET_AFTER_MS = 24 * 60 * 60_000;

export class MinerHealth extends DurableObject<Env> {
  private stats = new Map<string, MinerStats>();

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.blockConcurrencyWhile(async () => {
      const saved = await ctx.storage.get<Record<string, MinerStats>>(STORAGE_KEY);
      if (saved) this.stats = new Map(Object.entries(saved));
    });
  }

  /** Folds the observations in (in time order) and returns the merged view. */
  async report(observations: Observation[]): Promise<Record<string, MinerStats>> {
    const sorted = [...observations].sort((a, b) => a.at - b.at);
    for (const o of sorted) this.stats.set(o.hotkey, observe(this.stats.get(o.hotkey) ?? freshStats(o.at), o));
    const now = Date.now();
    for (const [hotkey, s] of this.stats) if (now - s.updatedAt > FORGET_AFTER_MS) this.stats.delete(hotkey);
    const view = Object.fromEntries(this.stats);
    // Durable across restarts; the output gate holds the answer until the write is safe.
    countOp("health.object.report");
    countOp("health.object.rows"); // one key, one storage row
    await this.ctx.storage.put(STORAGE_KEY, view);
    return view;
  }

  /** Dev-only fault injection (src/dev/faults.ts): a restart as after a crash. Does nothing ("off") unless the switch is on. */
  async devRestart(): Promise<"off" | "restarting"> {
    if (!devFaultsEnabled(this.env)) return "off";
    this.ctx.abort("dev fault injection: restart");
    return "restarting";
  }

  async snapshot(): Promise<Record<string, MinerStats>> {
    return Object.fromEntries(this.stats);
  }
}
