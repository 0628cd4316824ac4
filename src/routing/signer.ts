/**
 * The gateway's hotkey, derived once per isolate from GATEWAY_HOTKEY_MNEMONIC (derivation is
 * expensive), with its signature bound to sr25519 in WebAssembly (signing is on every miner
 * call: see docs/signing.md). The module is the precompiled one wrangler bundles from the
 * `.wasm` import; it is instantiated on the first signature.
 */
import type { Env } from "../env";
import { GatewayError } from "../errors";
import { keypairFromUri, type Sr25519Keypair } from "../protocol/keys";
import { wasmSr25519, withWasmSigning } from "../protocol/sr25519-wasm";
import schnorrkelWasm from "../protocol/wasm/schnorrkel.wasm";

const sr25519 = wasmSr25519(schnorrkelWasm);
let cached: { uri: string; keypair: Sr25519Keypair } | null = null;

export function gatewayKeypair(env: Env): Sr25519Keypair {
  const uri = env.GATEWAY_HOTKEY_MNEMONIC;
  if (!uri) {
    console.error("GATEWAY_HOTKEY_MNEMONIC is not set: cannot sign miner requests");
    throw new GatewayError(503, "api_error", "gateway_not_configured", "The gateway is not configured to reach miners yet.");
  }
  if (cached?.uri !== uri) cached = { uri, keypair: withWasmSigning(keypairFromUri(uri), sr25519) };
  return cached.keypair;
}
