/**
 * One signed HTTP call to one miner. The body bytes are signed with Epistula v2 for that miner's
 * hotkey, and the same bytes are sent (the signature covers their SHA-256).
 *
 * Redirects are never followed: a miner's axon URL passed the axon guard, a Location header did
 * not, so following it would let a miner point the gateway (with the body and the signed headers)
 * at any internal address. A 3xx comes back as a plain non-OK response, which callers treat as a
 * miner failure; its body is discarded.
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
  return fetchFn(`${miner.axonUrl}${path}`, { method: "POST", headers, body, signal, redirect: "manual" });
}

/** True for a redirect status: from a miner, a failure (never followed). */
export function isRedirect(status: number): boolean {
  return status >= 300 && status < 400;
}
