// Asks a miner which models it serves: `GET {axon}/v1/models`, signed with Epistula for the
// miner's hotkey. The miner is untrusted: bounded time, bounded size, strict shape.
import { signRequest } from "../protocol/epistula";
import type { Sr25519Keypair } from "../protocol/keys";
import { readTextLimited } from "../lib/read-limited";

export type ProbeResult = { ok: true; models: string[] } | { ok: false; reason: string };

export type ProbeOptions = {
  fetch: typeof fetch;
  timeoutMs: number;
  now: () => number;
  /** Largest answer accepted, in bytes (default 256 KiB). */
  maxBytes?: number;
};

const DEFAULT_MAX_BYTES = 256 * 1024;
const MAX_MODELS = 512;
const MAX_MODEL_ID_LENGTH = 256;
// Printable ASCII without spaces: ids go into logs, JSON and routing keys.
const MODEL_ID_RE = /^[\x21-\x7e]+$/;

/** Model ids from an OpenAI list answer `{ data: [{ id }] }`; null when the shape is wrong. */
export function modelsFromList(json: unknown): string[] | null {
  if (typeof json !== "object" || json === null || !("data" in json) || !Array.isArray(json.data)) return null;
  const ids = new Set<string>();
  for (const item of json.data as unknown[]) {
    if (typeof item !== "object" || item === null || !("id" in item)) return null;
    const id = item.id;
    if (typeof id !== "string" || id.length > MAX_MODEL_ID_LENGTH || !MODEL_ID_RE.test(id)) return null;
    ids.add(id);
  }
  if (ids.size > MAX_MODELS) return null;
  return [...ids].sort();
}

export async function probeMinerModels(
  axonUrl: string,
  minerHotkey: string,
  signer: Sr25519Keypair,
  opts: ProbeOptions,
): Promise<ProbeResult> {
  const headers = await signRequest({ body: "", signer, signedFor: minerHotkey, now: opts.now() });
  const signal = AbortSignal.timeout(opts.timeoutMs);
  try {
    // redirect "manual": a miner must not bounce the gateway to an address the guard refused.
    const res = await opts.fetch(`${axonUrl}/v1/models`, { method: "GET", headers, signal, redirect: "manual" });
    if (!res.ok) {
      await res.body?.cancel();
      return { ok: false, reason: `GET /v1/models answered HTTP ${res.status}` };
    }
    const text = await readTextLimited(res, opts.maxBytes ?? DEFAULT_MAX_BYTES);
    if (text === null) return { ok: false, reason: "GET /v1/models answer too large" };
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { ok: false, reason: "GET /v1/models answer is not JSON" };
    }
    const models = modelsFromList(json);
    if (!models) return { ok: false, reason: "GET /v1/models answer is not a valid model list" };
    if (models.length === 0) return { ok: false, reason: "miner serves no models" };
    return { ok: true, models };
  } catch (err) {
    if (signal.aborted) return { ok: false, reason: `GET /v1/models timed out after ${opts.timeoutMs} ms` };
    return { ok: false, reason: `GET /v1/models failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}
