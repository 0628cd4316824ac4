// Pure decoders from chain data to domain types (no I/O, no api object).
//
// Two shapes reach us from `NeuronInfoRuntimeApi.get_neurons_lite`:
// - typed (spec >= 233, mainnet): the metadata describes `Vec<NeuronInfoLite>`, polkadot-js decodes
//   it and we read its `toJSON()`;
// - opaque (older runtimes such as the local spec 218): the API returns `Vec<u8>` whose content is a
//   SCALE `Vec<NeuronInfoLite>`; we strip the outer length prefix and decode with the definitions
//   below. Both paths end in `neuronsFromJson`, so the domain mapping exists once.
import type { Registry } from "@polkadot/types/types";
import { ChainDecodeError } from "./errors";
import { ipFromU128 } from "./ip";
import type { Axon, Neuron } from "./types";

/**
 * NeuronInfoLite as the runtime encodes it (field order matters for SCALE). Names are prefixed so
 * registering them in an api's registry cannot shadow the metadata's own types. Keys are camelCase
 * to match the JSON polkadot-js produces for the typed form.
 */
export const LEGACY_NEURON_TYPES = {
  GatewayAxonInfo: {
    block: "u64",
    version: "u32",
    ip: "u128",
    port: "u16",
    ipType: "u8",
    protocol: "u8",
    placeholder1: "u8",
    placeholder2: "u8",
  },
  GatewayPrometheusInfo: { block: "u64", version: "u32", ip: "u128", port: "u16", ipType: "u8" },
  GatewayNeuronInfoLite: {
    hotkey: "AccountId32",
    coldkey: "AccountId32",
    uid: "Compact<u16>",
    netuid: "Compact<u16>",
    active: "bool",
    axonInfo: "GatewayAxonInfo",
    prometheusInfo: "GatewayPrometheusInfo",
    stake: "Vec<(AccountId32, Compact<u64>)>",
    rank: "Compact<u16>",
    emission: "Compact<u64>",
    incentive: "Compact<u16>",
    consensus: "Compact<u16>",
    trust: "Compact<u16>",
    validatorTrust: "Compact<u16>",
    dividends: "Compact<u16>",
    lastUpdate: "Compact<u64>",
    validatorPermit: "bool",
    pruningScore: "Compact<u16>",
  },
} as const;

export const LEGACY_NEURONS_TYPE = "Vec<GatewayNeuronInfoLite>";

const registered = new WeakSet<Registry>();

/** Adds LEGACY_NEURON_TYPES to a registry once (idempotent). */
export function registerLegacyNeuronTypes(registry: Registry): void {
  if (registered.has(registry)) return;
  registry.register(LEGACY_NEURON_TYPES);
  registered.add(registry);
}

/** Reads a SCALE compact integer; returns its value and encoded length. */
export function readCompact(bytes: Uint8Array, offset = 0): { value: bigint; length: number } {
  const first = bytes[offset];
  if (first === undefined) throw new ChainDecodeError("compact: unexpected end of input");
  const mode = first & 0b11;
  const byteAt = (i: number): number => {
    const b = bytes[offset + i];
    if (b === undefined) throw new ChainDecodeError("compact: unexpected end of input");
    return b;
  };
  if (mode === 0) return { value: BigInt(first >> 2), length: 1 };
  if (mode === 1) return { value: BigInt((first | (byteAt(1) << 8)) >> 2), length: 2 };
  if (mode === 2) {
    const v = (first | (byteAt(1) << 8) | (byteAt(2) << 16)) + byteAt(3) * 0x100_0000;
    return { value: BigInt(v >>> 2), length: 4 };
  }
  const n = (first >> 2) + 4;
  let value = 0n;
  for (let i = n; i >= 1; i--) value = (value << 8n) | BigInt(byteAt(i));
  return { value, length: 1 + n };
}

/**
 * Decodes the opaque answer: `bytes` is the SCALE `Vec<u8>` (length prefix + content), the content
 * being a SCALE `Vec<NeuronInfoLite>`.
 */
export function decodeOpaqueNeuronsLite(registry: Registry, bytes: Uint8Array): Neuron[] {
  const { value: length, length: prefix } = readCompact(bytes);
  if (length !== BigInt(bytes.length - prefix)) {
    throw new ChainDecodeError(`opaque neurons: length prefix says ${length} bytes, ${bytes.length - prefix} present`);
  }
  registerLegacyNeuronTypes(registry);
  const content = bytes.subarray(prefix);
  let json: unknown;
  try {
    const codec = registry.createType(LEGACY_NEURONS_TYPE, content);
    // createType ignores trailing bytes: a size mismatch means our layout is wrong for this runtime.
    if (codec.encodedLength !== content.length) {
      throw new ChainDecodeError(`opaque neurons: decoded ${codec.encodedLength} of ${content.length} bytes (layout mismatch)`);
    }
    json = codec.toJSON();
  } catch (err) {
    if (err instanceof ChainDecodeError) throw err;
    throw new ChainDecodeError(`opaque neurons: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  return neuronsFromJson(json);
}

// ---- JSON (codec.toJSON()) -> domain ----------------------------------------------------------

type Json = Record<string, unknown>;

function fail(path: string, expected: string, got: unknown): never {
  const shown = typeof got === "string" ? JSON.stringify(got.slice(0, 80)) : typeof got;
  throw new ChainDecodeError(`neuron JSON: ${path} should be ${expected}, got ${shown}`);
}

function asObject(v: unknown, path: string): Json {
  if (typeof v !== "object" || v === null || Array.isArray(v)) fail(path, "an object", v);
  return v as Json;
}

/** polkadot-js renders integers as numbers when safe, else as hex (or decimal) strings. */
function asBigInt(v: unknown, path: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  if (typeof v === "string" && /^(0x[0-9a-fA-F]+|[0-9]+)$/.test(v)) return BigInt(v);
  fail(path, "an unsigned integer", v);
}

function asSmallInt(v: unknown, path: string, max: number): number {
  const n = asBigInt(v, path);
  if (n > BigInt(max)) fail(path, `an integer <= ${max}`, v);
  return Number(n);
}

function asBool(v: unknown, path: string): boolean {
  if (typeof v !== "boolean") fail(path, "a boolean", v);
  return v;
}

function asAddress(v: unknown, path: string): string {
  // AccountId32 renders as SS58 with the registry's prefix; 42 on Bittensor.
  if (typeof v !== "string" || !/^[1-9A-HJ-NP-Za-km-z]{40,60}$/.test(v)) fail(path, "an SS58 address", v);
  return v;
}

const U16_MAX = 65535;
const U32_MAX = 0xffff_ffff;

/** Axon from AxonInfo JSON; null for the all-zero default (never served) or an unrepresentable address. */
export function axonFromJson(json: unknown, path = "axonInfo"): Axon | null {
  const o = asObject(json, path);
  const ip = asBigInt(o.ip, `${path}.ip`);
  const port = asSmallInt(o.port, `${path}.port`, U16_MAX);
  const ipType = asSmallInt(o.ipType, `${path}.ipType`, 255);
  const version = asSmallInt(o.version, `${path}.version`, U32_MAX);
  const protocol = asSmallInt(o.protocol, `${path}.protocol`, 255);
  if (ip === 0n && port === 0) return null;
  if (ipType !== 4 && ipType !== 6) return null;
  const text = ipFromU128(ip, ipType);
  if (text === null) return null;
  return { ip: text, port, ipType, version, protocol };
}

/** One NeuronInfoLite JSON object to a Neuron. */
export function neuronFromJson(json: unknown, path = "neuron"): Neuron {
  const o = asObject(json, path);
  const stakeList = o.stake;
  if (!Array.isArray(stakeList)) fail(`${path}.stake`, "an array", stakeList);
  let stake = 0n;
  stakeList.forEach((entry: unknown, i) => {
    if (!Array.isArray(entry) || entry.length !== 2) fail(`${path}.stake[${i}]`, "an [account, amount] pair", entry);
    stake += asBigInt(entry[1], `${path}.stake[${i}][1]`);
  });
  return {
    uid: asSmallInt(o.uid, `${path}.uid`, U16_MAX),
    netuid: asSmallInt(o.netuid, `${path}.netuid`, U16_MAX),
    hotkey: asAddress(o.hotkey, `${path}.hotkey`),
    coldkey: asAddress(o.coldkey, `${path}.coldkey`),
    active: asBool(o.active, `${path}.active`),
    validatorPermit: asBool(o.validatorPermit, `${path}.validatorPermit`),
    incentive: asSmallInt(o.incentive, `${path}.incentive`, U16_MAX) / U16_MAX,
    emission: asBigInt(o.emission, `${path}.emission`),
    stake,
    lastUpdate: asSmallInt(o.lastUpdate, `${path}.lastUpdate`, Number.MAX_SAFE_INTEGER),
    axon: axonFromJson(o.axonInfo, `${path}.axonInfo`),
  };
}

/** `Vec<NeuronInfoLite>` JSON (either form) to Neurons, in chain order. */
export function neuronsFromJson(json: unknown): Neuron[] {
  if (!Array.isArray(json)) fail("neurons", "an array", json);
  return json.map((n: unknown, i) => neuronFromJson(n, `neurons[${i}]`));
}
