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
/** A refresh is under way (plain state: no request ever awaits another request's refresh). */
let refreshing = false;

/**
 * The isolate's miner list, at most `ttlMs` old. Past that, the last list is served while one
 * request refreshes it in the background (`background`: its waitUntil); only an isolate with no
 * list yet (or `ttlMs` 0, or no `background`) waits for a load, each request its own.
 *
 * Why never share the in-flight load: in workerd a request that awaits a promise another request
 * created resumes inside that other request's context, and its next touch of its own I/O (its
 * abort signal, its fetch, its queue send) fails with "Cannot perform I/O on behalf of a different
 * request" (found under load by the benchmark: 500s and unrecorded usage batches).
 */
export async function minerSnapshot(d1: D1Database, ttlMs: number, now = Date.now(), background?: (task: Promise<unknown>) => void): Promise<MinerSnapshot> {
  if (snapshot && now - snapshot.loadedAt < ttlMs) return snapshot;
  if (snapshot && ttlMs > 0 && background) {
    if (!refreshing) {
      refreshing = true;
      background(
        load(d1, now)
          .then((s) => {
            snapshot = s;
          })
          .catch((err: unknown) => console.error("miner directory refresh failed; serving the last list", err))
          .finally(() => {
            refreshing = false;
          }),
      );
    }
    return snapshot;
  }
  try {
    snapshot = await load(d1, now);
    return snapshot;
  } catch (err) {
    if (!snapshot) throw err;
    console.error("miner directory refresh failed; serving the last list", err);
    return snapshot;
  }
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
