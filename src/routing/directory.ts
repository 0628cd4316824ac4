/**
 * The miners routing may use, read from D1's `miners` table (filled by the admin API or the chain
 * sync) and cached per isolate for MINER_CACHE_TTL_MS, so picking a miner costs no round trip on
 * the hot path. A failed refresh keeps serving the last good list.
 */
import { eq } from "drizzle-orm";
import { database } from "../db/client";
import { miners } from "../db/schema";

export interface Miner {
  hotkey: string;
  uid: number;
  /** Base URL of the axon, without the `/v1` path. */
  axonUrl: string;
  models: ReadonlySet<string>;
  /** The chain's view (0 / 0n for static miners). */
  incentive: number;
  stakeRao: bigint;
}

export interface MinerSnapshot {
  miners: readonly Miner[];
  byModel: ReadonlyMap<string, readonly Miner[]>;
  loadedAt: number;
}

let snapshot: MinerSnapshot | null = null;
let inflight: Promise<MinerSnapshot> | null = null;

export async function minerSnapshot(d1: D1Database, ttlMs: number, now = Date.now()): Promise<MinerSnapshot> {
  if (snapshot && now - snapshot.loadedAt < ttlMs) return snapshot;
  // One refresh at a time per isolate; concurrent requests share it.
  inflight ??= load(d1, now)
    .then((s) => (snapshot = s))
    .catch((err: unknown) => {
      if (snapshot) {
        console.error("miner directory refresh failed; serving the last list", err);
        return snapshot;
      }
      throw err;
    })
    .finally(() => (inflight = null));
  return inflight;
}

/** Forget the cached list (after an admin change), so the next request reloads it. */
export function invalidateMinerSnapshot(): void {
  snapshot = null;
}

async function load(d1: D1Database, now: number): Promise<MinerSnapshot> {
  const rows = await database(d1).select().from(miners).where(eq(miners.active, true)).all();
  const list: Miner[] = rows.map((r) => ({
    hotkey: r.hotkey,
    uid: r.uid,
    axonUrl: r.axonUrl.replace(/\/+$/, ""),
    models: new Set(parseModels(r.models)),
    incentive: r.incentive,
    stakeRao: /^\d+$/.test(r.stakeRao) ? BigInt(r.stakeRao) : 0n,
  }));
  const byModel = new Map<string, Miner[]>();
  for (const m of list) {
    for (const model of m.models) {
      const arr = byModel.get(model);
      if (arr) arr.push(m);
      else byModel.set(model, [m]);
    }
  }
  return { miners: list, byModel, loadedAt: now };
}

function parseModels(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : [];
  } catch {
    return [];
  }
}
