// Test helper: start N reference miners on dev hotkeys (//Bob, //Charlie, ...) and call them signed.
import { keypairFromUri, type Sr25519Keypair } from "../../src/protocol/keys";
import { signRequest } from "../../src/protocol/epistula";
import { startMiner, type MinerOptions, type RunningMiner } from "../../miner/server";

export type { RunningMiner } from "../../miner/server";

/** Dev hotkeys in order; //Alice is left out on purpose: it plays the gateway/validator. */
export const DEV_MINER_URIS: readonly string[] = ["//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"];

export function devMinerUri(i: number): string {
  return DEV_MINER_URIS[i] ?? `//Miner${i + 1}`;
}

/** Fast pacing for tests that don't measure latency; override per miner when they do. */
export const FAST: Partial<MinerOptions> = { ttftMs: 0, tokensPerSec: 100_000 };

export type MinerFleet = { miners: RunningMiner[]; close(): Promise<void> };

/**
 * Starts `count` miners (default fast pacing, 127.0.0.1, ephemeral ports). `perMiner` may tweak
 * options by index, e.g. `(i) => (i === 2 ? { failRate: 1 } : {})`.
 */
export async function startMiners(
  count: number,
  perMiner: Partial<MinerOptions> | ((i: number) => Partial<MinerOptions>) = {},
): Promise<MinerFleet> {
  const started = await Promise.allSettled(
    Array.from({ length: count }, (_, i) => {
      const extra = typeof perMiner === "function" ? perMiner(i) : perMiner;
      return startMiner({ ...FAST, hotkey: devMinerUri(i), ...extra });
    }),
  );
  const miners = started.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
  const close = async (): Promise<void> => {
    await Promise.all(miners.map((m) => m.close()));
  };
  const failed = started.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed) {
    await close();
    throw failed.reason;
  }
  return { miners, close };
}

const gateway = keypairFromUri("//Alice");

/** fetch() to a miner with Epistula v2 headers signed by `signer` (//Alice by default). */
export async function signedFetch(
  miner: Pick<RunningMiner, "url" | "hotkey">,
  path: string,
  body?: unknown,
  opts: { signer?: Sr25519Keypair; signal?: AbortSignal; headers?: Record<string, string> } = {},
): Promise<Response> {
  const bytes = body === undefined ? "" : JSON.stringify(body);
  const headers = await signRequest({ body: bytes, signer: opts.signer ?? gateway, signedFor: miner.hotkey });
  return fetch(`${miner.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: { ...headers, ...(body === undefined ? {} : { "content-type": "application/json" }), ...opts.headers },
    body: body === undefined ? undefined : bytes,
    signal: opts.signal,
  });
}
