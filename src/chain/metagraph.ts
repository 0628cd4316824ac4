// Reads a subnet's metagraph through `NeuronInfoRuntimeApi.get_neurons_lite`, at the finalized
// head so a sync never acts on a block that may be reorganised away.
import type { ApiPromise } from "@polkadot/api";
import type { Codec } from "@polkadot/types/types";
import { decodeOpaqueNeuronsLite, neuronsFromJson } from "./decode";
import { ChainConfigError, ChainDecodeError, ChainError, ChainUnavailableError } from "./errors";
import { withTimeout } from "./timeout";
import type { Metagraph } from "./types";

export type ReadMetagraphOptions = {
  /** Deadline for all the reads together (default 30 s). */
  timeoutMs?: number;
};

const DEFAULT_READ_TIMEOUT_MS = 30_000;

/** Older runtimes (spec < 233) declare the answer as `Vec<u8>`, which polkadot-js names `Bytes`. */
function isOpaque(codec: Codec): boolean {
  const raw = codec.toRawType();
  return raw === "Bytes" || raw === "Vec<u8>";
}

async function read(api: ApiPromise, netuid: number): Promise<Metagraph> {
  const blockHash = await api.rpc.chain.getFinalizedHead();
  // Independent reads go out together: on mainnet each one is a network round trip.
  const [header, at] = await Promise.all([api.rpc.chain.getHeader(blockHash), api.at(blockHash)]);
  const getNeuronsLite = at.call.neuronInfoRuntimeApi?.getNeuronsLite;
  if (!getNeuronsLite) throw new ChainDecodeError("runtime has no NeuronInfoRuntimeApi.get_neurons_lite");
  const networksAdded = at.query.subtensorModule?.networksAdded;
  const [exists, answer] = await Promise.all([networksAdded?.(netuid), getNeuronsLite(netuid)]);
  // An unknown netuid yields an empty list, which would deactivate every miner: refuse it instead.
  if (exists && exists.toPrimitive() !== true) {
    throw new ChainConfigError(`subnet ${netuid} does not exist on this chain`);
  }

  // polkadot-js wraps the runtime's raw return bytes (a SCALE Vec<u8>, prefix included) as the
  // Bytes content without decoding them, so the bare content is exactly what the runtime returned.
  const neurons = isOpaque(answer)
    ? decodeOpaqueNeuronsLite(at.registry, answer.toU8a(true))
    : neuronsFromJson(answer.toJSON());
  return { netuid, block: header.number.toNumber(), blockHash: blockHash.toHex(), neurons };
}

/**
 * The metagraph of `netuid`. Throws ChainUnavailableError when the node fails or is too slow,
 * ChainDecodeError when the answer has an unknown shape, ChainConfigError for an unknown subnet.
 */
export async function readMetagraph(api: ApiPromise, netuid: number, opts: ReadMetagraphOptions = {}): Promise<Metagraph> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_READ_TIMEOUT_MS;
  try {
    return await withTimeout(
      read(api, netuid),
      timeoutMs,
      () => new ChainUnavailableError(`metagraph read for subnet ${netuid} took over ${timeoutMs} ms`, undefined),
    );
  } catch (err) {
    if (err instanceof ChainError) throw err;
    // Anything else came from the provider/RPC layer (connection dropped, RPC error).
    const message = err instanceof Error ? err.message : String(err);
    throw new ChainUnavailableError(`metagraph read for subnet ${netuid} failed: ${message}`, undefined, { cause: err });
  }
}
