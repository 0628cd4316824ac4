/**
 * The metagraph sync job: discover miners on chain, then record how it went in `chain_sync` so
 * `/health` can report staleness. The chain code is imported lazily, so only the scheduled
 * handler and the admin trigger ever load @polkadot/api; the request path never does.
 */
import { sql } from "drizzle-orm";
import { database } from "../db/client";
import { chainSync } from "../db/schema";
import type { ChainConfig } from "../config/chain";
import type { ChainEnv } from "../env";
import { invalidateMinerSnapshot } from "../routing/directory";

export type MetagraphSyncOutcome =
  | { ok: true; netuid: number; block: number; found: number; kept: number; skipped: { hotkey: string; uid: number; reason: string }[]; deactivated: string[]; durationMs: number }
  | { ok: false; code: string; message: string };

/** Chain discovery is on when both SUBTENSOR_URL and NETUID are configured (src/config/chain.ts). */
export async function runMetagraphSync(env: ChainEnv, cfg: ChainConfig, now = Date.now): Promise<MetagraphSyncOutcome> {
  const discovery = cfg.discovery;
  if (!discovery) return { ok: false, code: "chain_not_configured", message: "SUBTENSOR_URL and NETUID are not both set" };
  const { syncMetagraph, ChainError } = await import("../chain/sync");
  const netuid = discovery.netuid;
  try {
    const report = await syncMetagraph(
      {
        DB: env.DB,
        SUBTENSOR_URL: discovery.subtensorUrl,
        NETUID: String(netuid),
        GATEWAY_HOTKEY_MNEMONIC: discovery.hotkeyUri,
        ALLOW_PRIVATE_AXONS: String(discovery.allowPrivateAxons),
      },
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
    await database(env.DB)
      .update(chainSync)
      .set({ lastErrorCode: err.code, lastErrorAt: now() })
      .where(sql`${chainSync.netuid} = ${netuid}`);
    return { ok: false, code: err.code, message: err.message };
  }
}
