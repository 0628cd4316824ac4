// A mainnet-shaped node without a node: a provider that answers the handful of RPCs polkadot-js
// and readMetagraph use, from finney's real metadata (spec 393, V16). Lets the typed
// `get_neurons_lite` path run through a real ApiPromise offline.
import { readFileSync } from "node:fs";
import type { ProviderInterface, ProviderInterfaceCallback, ProviderInterfaceEmitCb, ProviderInterfaceEmitted } from "@polkadot/rpc-provider/types";
import { Metadata, TypeRegistry } from "@polkadot/types";
import { u8aToHex } from "@polkadot/util";
import { xxhashAsHex } from "@polkadot/util-crypto";

const GENESIS = `0x${"11".repeat(32)}`;
const HEAD = `0x${"22".repeat(32)}`;
const PARENT = `0x${"33".repeat(32)}`;
export const OFFLINE_BLOCK = 100;

export type OfflineChain = {
  provider: ProviderInterface;
  /** state_call methods the api made, for assertions. */
  calls: string[];
};

/** `neurons` are NeuronInfoLite values (runtime field layout) served for `netuid`; other subnets do not exist. */
export function offlineFinney(metadataPath: string, netuid: number, neurons: unknown[]): OfflineChain {
  const metadataBytes = new Uint8Array(readFileSync(metadataPath));
  const registry = new TypeRegistry();
  registry.setMetadata(new Metadata(registry, metadataBytes));
  const method = registry.metadata.apis
    .find((a) => a.name.toString() === "NeuronInfoRuntimeApi")
    ?.methods.find((m) => m.name.toString() === "get_neurons_lite");
  if (!method) throw new Error("metadata has no get_neurons_lite");
  const neuronsHex = registry.createType(registry.createLookupType(method.output), neurons).toHex();
  const netuidArg = registry.createType("u16", netuid).toHex(true);
  // Storage key of SubtensorModule.NetworksAdded(netuid): twox128(pallet) ++ twox128(item) ++ identity(u16 LE).
  const networksAddedKey = `${xxhashAsHex("SubtensorModule", 128)}${xxhashAsHex("NetworksAdded", 128).slice(2)}${netuidArg.slice(2)}`;
  const calls: string[] = [];

  const header = (number: number, parentHash: string) => ({
    parentHash,
    number: `0x${number.toString(16)}`,
    stateRoot: `0x${"00".repeat(32)}`,
    extrinsicsRoot: `0x${"00".repeat(32)}`,
    digest: { logs: [] },
  });

  const answers: Record<string, (params: unknown[]) => unknown> = {
    rpc_methods: () => ({ methods: Object.keys(answers) }),
    system_chain: () => "Bittensor",
    system_properties: () => ({ ss58Format: 42, tokenDecimals: 9, tokenSymbol: "TAO" }),
    chain_getBlockHash: ([n]) => (n === 0 ? GENESIS : HEAD),
    chain_getFinalizedHead: () => HEAD,
    chain_getHeader: ([hash]) => (hash === PARENT ? header(OFFLINE_BLOCK - 1, GENESIS) : header(OFFLINE_BLOCK, PARENT)),
    // No runtime apis listed: polkadot-js then reads the metadata through state_getMetadata.
    state_getRuntimeVersion: () => ({
      specName: "node-subtensor",
      implName: "node-subtensor",
      authoringVersion: 1,
      specVersion: 393,
      implVersion: 1,
      apis: [],
      transactionVersion: 1,
      stateVersion: 1,
    }),
    state_getMetadata: () => u8aToHex(metadataBytes),
    state_getStorage: ([key]) => (key === networksAddedKey ? "0x01" : null),
    state_call: ([name, data]) => {
      calls.push(String(name));
      if (name === "NeuronInfoRuntimeApi_get_neurons_lite" && data === netuidArg) return neuronsHex;
      if (name === "NeuronInfoRuntimeApi_get_neurons_lite") return "0x00";
      throw new Error(`offline finney: unexpected state_call ${String(name)}`);
    },
  };

  const provider: ProviderInterface = {
    hasSubscriptions: false,
    isClonable: false,
    isConnected: true,
    clone: () => provider,
    connect: async () => {},
    disconnect: async () => {},
    on: (_type: ProviderInterfaceEmitted, _cb: ProviderInterfaceEmitCb) => () => {},
    async send<T>(method: string, params: unknown[]): Promise<T> {
      const answer = answers[method];
      if (!answer) throw new Error(`offline finney: unexpected RPC ${method}`);
      return answer(params) as T;
    },
    subscribe: (_type: string, method: string, _params: unknown[], _cb: ProviderInterfaceCallback) =>
      Promise.reject(new Error(`offline finney: no subscriptions (${method})`)),
    unsubscribe: async () => true,
  };
  return { provider, calls };
}
