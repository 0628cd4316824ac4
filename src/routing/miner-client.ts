/**
 * One signed HTTP call to one miner. The body bytes are signed with Epistula v2 for that miner's
 * hotkey, and the same bytes are sent (the signature covers their SHA-256).
 */
import { signRequest } from "../protocol/epistula";
import type { Sr25519Keypair } from "../protocol/keys";
import type { Miner } from "./directory";

export async function callMiner(
  miner: Miner,
  path: string,
  body: Uint8Array,
  signer: Sr25519Keypair,
  signal: AbortSignal,
  fetchFn: typeof fetch = fetch,
): Promise<Response> {
  const headers = await signRequest({ body, signer, signedFor: miner.hotkey });
  headers["content-type"] = "application/json";
  headers.accept = "application/json, text/event-stream";
  return fetchFn(`${miner.axonUrl}${path}`, { method: "POST", headers, body, signal });
}
