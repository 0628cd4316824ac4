/**
 * The gateway's hotkey, derived once per isolate from GATEWAY_HOTKEY_MNEMONIC (derivation is
 * expensive; signing is not cheap either, so nothing else is recomputed per request).
 */
import type { Env } from "../env";
import { GatewayError } from "../errors";
import { keypairFromUri, type Sr25519Keypair } from "../protocol/keys";

let cached: { uri: string; keypair: Sr25519Keypair } | null = null;

export function gatewayKeypair(env: Env): Sr25519Keypair {
  const uri = env.GATEWAY_HOTKEY_MNEMONIC;
  if (!uri) {
    console.error("GATEWAY_HOTKEY_MNEMONIC is not set: cannot sign miner requests");
    throw new GatewayError(503, "api_error", "gateway_not_configured", "The gateway is not configured to reach miners yet.");
  }
  if (cached?.uri !== uri) cached = { uri, keypair: keypairFromUri(uri) };
  return cached.keypair;
}
