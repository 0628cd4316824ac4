/**
 * Imported for its side effect, before anything that loads @polkadot/util-crypto (connection.ts
 * imports it first). util-crypto starts @polkadot/wasm-crypto as soon as it is loaded; workerd
 * refuses to compile WebAssembly from bytes, so every chain Worker start logged
 * "FATAL: Unable to initialize @polkadot/wasm-crypto" (and the bundled "none" initialiser logs a
 * FATAL of its own). Nothing needs it: util-crypto 14 signs sr25519 with @scure/sr25519 and hashes
 * with @noble/hashes, and the api is created with `initWasm: false`. So the bridge is initialised
 * here, once, with no WebAssembly and no complaint; util-crypto's own start then reuses it.
 * Node scripts and tests load the same modules and run the same pure-JS code.
 */
import { initBridge } from "@polkadot/wasm-crypto/init";

void initBridge(async () => ({ error: null, type: "none", wasm: null }));
