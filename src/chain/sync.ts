// Metagraph -> `miners` table. Run by the Worker's scheduled handler through a dynamic import
// (`await import("./chain/sync")`), never from request-path code.
//
// Order matters: everything that can fail because of the chain happens before D1 is touched, so a
// chain outage leaves the last synced miner list serving traffic.
import type { D1Database } from "@cloudflare/workers-types";
import type { ApiPromise } from "@polkadot/api";
import { keypairFromUri, type Sr25519Keypair } from "../protocol/keys";
import { checkAxon } from "./axon-guard";
import { mapLimit } from "./concurrency";
import { connectSubtensor, DEFAULT_SUBTENSOR_URL, disconnectSubtensor } from "./connection";
import { ChainConfigError } from "./errors";
import { readMetagraph } from "./metagraph";
import { probeMinerModels } from "./probe";
import { applyChainMiners, type ChainMinerRow } from "./store";
import type { Metagraph, Neuron } from "./types";

export { ChainConfigError, ChainDecodeError, ChainError, ChainUnavailableError } from "./errors";

export type SyncEnv = {
  DB: D1Database;
  SUBTENSOR_URL: string;
  NETUID: string;
  GATEWAY_HOTKEY_MNEMONIC: string;
  ALLOW_PRIVATE_AXONS?: string;
};

export type SyncLog = (event: string, fields: Record<string, unknown>) => void;

export type SyncDeps = {
  /** An already connected api (kept open); otherwise one is opened for this sync and closed after. */
  api?: ApiPromise;
  fetch?: typeof fetch;
  now?: () => number;
  log?: SyncLog;
  /** Deadline of each miner probe (default 5 s). */
  probeTimeoutMs?: number;
  /** Probes in flight at once (default 6, the Workers per-invocation connection limit). */
  probeConcurrency?: number;
  /** Deadline for connecting to the chain (default 20 s). */
  connectTimeoutMs?: number;
};

export type SkippedNeuron = { hotkey: string; uid: number; reason: string };

export type SyncReport = {
  netuid: number;
  /** Finalized block the metagraph was read at. */
  block: number;
  blockHash: string;
  /** When the rows were written (ms since epoch); also their updated_at. */
  syncedAt: number;
  /** Neurons in the metagraph. */
  found: number;
  /** Miners written as active. */
  kept: number;
  skipped: SkippedNeuron[];
  /** Chain rows switched to inactive by this sync. */
  deactivated: string[];
  durationMs: number;
};

const DEFAULT_PROBE_TIMEOUT_MS = 5_000;
const DEFAULT_PROBE_CONCURRENCY = 6;

function parseNetuid(text: string): number {
  const trimmed = text.trim();
  if (!/^[0-9]{1,5}$/.test(trimmed) || Number(trimmed) > 65535) {
    throw new ChainConfigError(`NETUID must be an integer 0-65535, got ${JSON.stringify(text)}`);
  }
  return Number(trimmed);
}

function gatewaySigner(secret: string): Sr25519Keypair {
  try {
    return keypairFromUri(secret);
  } catch (err) {
    // Never echo the secret itself, only why it was refused.
    throw new ChainConfigError(`GATEWAY_HOTKEY_MNEMONIC is not a usable secret URI: ${err instanceof Error ? err.message : "invalid"}`);
  }
}

function defaultLog(event: string, fields: Record<string, unknown>): void {
  console.log(JSON.stringify({ event, ...fields }));
}

type Candidate = { neuron: Neuron; url: string };

/** Splits neurons into candidates with a callable axon and the skipped rest. */
function screen(neurons: readonly Neuron[], allowPrivate: boolean): { candidates: Candidate[]; skipped: SkippedNeuron[] } {
  const candidates: Candidate[] = [];
  const skipped: SkippedNeuron[] = [];
  for (const neuron of neurons) {
    if (!neuron.axon) {
      skipped.push({ hotkey: neuron.hotkey, uid: neuron.uid, reason: "no axon served" });
      continue;
    }
    const check = checkAxon(neuron.axon, { allowPrivate });
    if (check.ok) candidates.push({ neuron, url: check.url });
    else skipped.push({ hotkey: neuron.hotkey, uid: neuron.uid, reason: `axon refused: ${check.reason}` });
  }
  return { candidates, skipped };
}

/**
 * Reads the metagraph of NETUID, probes each servable axon for its models and writes the result
 * to `miners` (source 'chain'). Throws ChainUnavailableError / ChainDecodeError / ChainConfigError
 * before any D1 write; one bad neuron or miner never fails the sync (it is reported in `skipped`).
 */
export async function syncMetagraph(env: SyncEnv, deps: SyncDeps = {}): Promise<SyncReport> {
  const now = deps.now ?? Date.now;
  const log = deps.log ?? defaultLog;
  // Wrapped, not passed bare: workerd throws "Illegal invocation" for an unbound global fetch.
  const doFetch: typeof fetch = deps.fetch ?? ((input, init) => fetch(input, init));
  const started = now();
  const netuid = parseNetuid(env.NETUID);
  const signer = gatewaySigner(env.GATEWAY_HOTKEY_MNEMONIC);
  const allowPrivate = /^(1|true|yes)$/i.test(env.ALLOW_PRIVATE_AXONS?.trim() ?? "");

  const url = (env.SUBTENSOR_URL ?? "").trim() || DEFAULT_SUBTENSOR_URL;
  const api = deps.api ?? (await connectSubtensor(url, { timeoutMs: deps.connectTimeoutMs }));
  let metagraph: Metagraph;
  try {
    metagraph = await readMetagraph(api, netuid);
  } finally {
    if (!deps.api) await disconnectSubtensor(api);
  }

  const { candidates, skipped } = screen(metagraph.neurons, allowPrivate);
  const timeoutMs = deps.probeTimeoutMs ?? DEFAULT_PROBE_TIMEOUT_MS;
  const probes = await mapLimit(candidates, deps.probeConcurrency ?? DEFAULT_PROBE_CONCURRENCY, (c) =>
    probeMinerModels(c.url, c.neuron.hotkey, signer, { fetch: doFetch, timeoutMs, now }),
  );

  const kept: ChainMinerRow[] = [];
  candidates.forEach(({ neuron, url: axonUrl }, i) => {
    const probe = probes[i];
    if (probe?.ok) {
      kept.push({
        hotkey: neuron.hotkey,
        coldkey: neuron.coldkey,
        uid: neuron.uid,
        netuid,
        axonUrl,
        models: probe.models,
        incentive: neuron.incentive,
        stakeRao: neuron.stake,
      });
    } else {
      skipped.push({ hotkey: neuron.hotkey, uid: neuron.uid, reason: probe?.reason ?? "not probed" });
    }
  });
  for (const s of skipped) log("metagraph_sync_skip", { netuid, ...s });

  const syncedAt = now();
  const deactivated = await applyChainMiners(env.DB, kept, syncedAt);
  const report: SyncReport = {
    netuid,
    block: metagraph.block,
    blockHash: metagraph.blockHash,
    syncedAt,
    found: metagraph.neurons.length,
    kept: kept.length,
    skipped: skipped.sort((a, b) => a.uid - b.uid),
    deactivated,
    durationMs: now() - started,
  };
  log("metagraph_sync", { ...report, skipped: report.skipped.length });
  return report;
}
