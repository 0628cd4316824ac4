/**
 * The metagraph sync job: discover miners on chain, then record how it went in `chain_sync` so
 * `/health` can report staleness. The chain code is imported lazily, so only the scheduled
 * handler and the admin trigger ever load @polkadot/api; the request path never does.
 */
import { sql } from "drizzle-orm";
import { database } from "../db/client";
import { chainSync } from "../db/schema";
import type { Env } from "../env";
import { invalidateMinerSnapshot } from "../routing/directory";

export type MetagraphSyncOutcome =
  | { ok: true; netuid: number; block: number; found: number; kept: number; skipped: { hotkey: string; uid: number; reason: string }[]; deactivated: string[]; durationMs: number }
  | { ok: false; code: string; message: string };

/** Chain discovery is on when both SUBTENSOR_URL and NETUID are configured. */
export function chainDiscoveryEnabled(env: Env): env is Env & { SUBTENSOR_URL: string; NETUID: string } {
  return Boolean(env.SUBTENSOR_URL && env.NETUID);
}

export async function runMetagraphSync(env: Env, now = Date.now): Promise<MetagraphSyncOutcome> {
  if (!chainDiscoveryEnabled(env)) return { ok: false, code: "chain_not_configured", message: "SUBTENSOR_URL and NETUID are not both set" };
  if (!env.GATEWAY_HOTKEY_MNEMONIC) return { ok: false, code: "chain_config", message: "GATEWAY_HOTKEY_MNEMONIC is not set" };
  const { syncMetagraph, ChainError } = await import("../chain/sync");
  const netuid = Number(env.NETUID);
  try {
    const report = await syncMetagraph(
      { DB: env.DB, SUBTENSOR_URL: env.SUBTENSOR_URL, NETUID: env.NETUID, GATEWAY_HOTKEY_MNEMONIC: env.GATEWAY_HOTKEY_MNEMONIC, ALLOW_PRIVATE_AXONS: env.ALLOW_PRIVATE_AXONS },
      { now },
    );
    const row = {
      netuid: report.netuid,
      block: report.block,
      blockHash: report.blockHash,
      syncedAt: report.syncedAt,
      found: report.found,
      kept: report.kept,
      skipped: report.skipped.length,
      deactivated: report.deactivated.length,
      durationMs: report.durationMs,
      lastErrorCode: null,
      lastErrorAt: null,
    };
    await database(env.DB).insert(chainSync).values(row).onConflictDoUpdate({ target: chainSync.netuid, set: row });
    invalidateMinerSnapshot();
    for (const s of report.skipped) console.warn(`metagraph sync: skipped uid ${s.uid} ${s.hotkey}: ${s.reason}`);
    return { ok: true, netuid: report.netuid, block: report.block, found: report.found, kept: report.kept, skipped: report.skipped, deactivated: report.deactivated, durationMs: report.durationMs };
  } catch (err) {
    if (!(err instanceof ChainError)) throw err;
    // The last good miner list keeps serving; remember the failure for /health.
    console.error(`metagraph sync failed (${err.code}): ${err.message}`);
    if (Number.isInteger(netuid)) {
      await database(env.DB)
        .update(chainSync)
        .set({ lastErrorCode: err.code, lastErrorAt: now() })
        .where(sql`${chainSync.netuid} = ${netuid}`);
    }
    return { ok: false, code: err.code, message: err.message };
  }
}
