import { readFileSync } from "node:fs";
import { Metadata, TypeRegistry } from "@polkadot/types";
import { compactAddLength } from "@polkadot/util";
import { describe, expect, it } from "vitest";
import {
  LEGACY_NEURONS_TYPE,
  axonFromJson,
  decodeOpaqueNeuronsLite,
  neuronsFromJson,
  readCompact,
  registerLegacyNeuronTypes,
} from "../../../src/chain/decode";
import { ChainDecodeError } from "../../../src/chain/errors";
import { REPO_ROOT } from "../../support/chopsticks";
import { ALICE, ALICE_HEX, BOB, BOB_HEX, EXPECTED, FIXTURE_VALUES, ZERO_AXON, finneyMetadataPath, neuronValue } from "./helpers/neurons";

const METADATA_PATH = finneyMetadataPath(REPO_ROOT);
const hex = (h: string): Uint8Array => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ""), "hex"));

/** What the spec-218 runtime returns: SCALE Vec<u8> wrapping SCALE Vec<NeuronInfoLite>. */
function opaqueBytes(values: unknown[]): Uint8Array {
  const registry = new TypeRegistry();
  registerLegacyNeuronTypes(registry);
  return compactAddLength(registry.createType(LEGACY_NEURONS_TYPE, values).toU8a());
}

describe("readCompact", () => {
  it.each([
    ["00", 0n, 1],
    ["fc", 63n, 1],
    ["0101", 64n, 2],
    ["fdff", 16383n, 2],
    ["02000100", 16384n, 4],
    ["feffffff", 2n ** 30n - 1n, 4],
    ["0300000040", 2n ** 30n, 5],
    ["130000000000000010", 2n ** 60n, 9],
    ["13ffffffffffffffff", 2n ** 64n - 1n, 9],
  ])("%s -> %s", (h, value, length) => {
    expect(readCompact(hex(h))).toEqual({ value, length });
  });

  it("refuses truncated input", () => {
    expect(() => readCompact(hex("01"))).toThrow(ChainDecodeError);
    expect(() => readCompact(hex("1300"))).toThrow(ChainDecodeError);
  });
});

describe("decodeOpaqueNeuronsLite (spec < 233 form)", () => {
  it("decodes neurons encoded with the legacy layout, including IPv6 and zero axons", () => {
    expect(decodeOpaqueNeuronsLite(new TypeRegistry(), opaqueBytes(FIXTURE_VALUES))).toEqual(EXPECTED);
  });

  it("decodes an empty subnet (what a fresh local chain answers: 0x0400)", () => {
    expect(decodeOpaqueNeuronsLite(new TypeRegistry(), hex("0400"))).toEqual([]);
  });

  it("decodes hand-written bytes", () => {
    // One neuron, assembled field by field from the runtime's struct layout.
    const inner = [
      "04", // Vec<NeuronInfoLite>: 1 item
      ALICE_HEX, // hotkey
      BOB_HEX, // coldkey
      "14", // uid Compact<u16> = 5
      "04", // netuid Compact<u16> = 1
      "01", // active
      // axon_info: block u64 = 7, version u32 = 1, ip u128 = 1.2.3.4 (LE), port u16 = 8091,
      // ip_type 4, protocol 4, placeholder1 0, placeholder2 0
      "0700000000000000",
      "01000000",
      "04030201000000000000000000000000",
      "9b1f",
      "04",
      "04",
      "00",
      "00",
      // prometheus_info: block u64, version u32, ip u128, port u16, ip_type u8 — all zero
      "0000000000000000",
      "00000000",
      "00000000000000000000000000000000",
      "0000",
      "00",
      "04", // stake: 1 entry
      ALICE_HEX,
      "a10f", // Compact<u64> = 1000
      "00", // rank
      "130000000000000010", // emission Compact<u64> = 2^60
      "02000200", // incentive Compact<u16> = 32768
      "00", // consensus
      "00", // trust
      "00", // validator_trust
      "00", // dividends
      "9101", // last_update Compact<u64> = 100
      "01", // validator_permit
      "feff0300", // pruning_score Compact<u16> = 65535
    ].join("");
    const innerBytes = hex(inner);
    const bytes = new Uint8Array(innerBytes.length + 2);
    bytes.set([((innerBytes.length << 2) | 1) & 0xff, innerBytes.length >> 6], 0); // Compact length, 2-byte mode
    bytes.set(innerBytes, 2);

    expect(decodeOpaqueNeuronsLite(new TypeRegistry(), bytes)).toEqual([
      {
        uid: 5,
        netuid: 1,
        hotkey: ALICE,
        coldkey: BOB,
        active: true,
        validatorPermit: true,
        incentive: 32768 / 65535,
        emission: 2n ** 60n,
        stake: 1000n,
        lastUpdate: 100,
        axon: { ip: "1.2.3.4", port: 8091, ipType: 4, version: 1, protocol: 4 },
      },
    ]);
  });

  it("refuses a wrong outer length prefix and trailing bytes", () => {
    const good = opaqueBytes(FIXTURE_VALUES.slice(0, 1));
    expect(() => decodeOpaqueNeuronsLite(new TypeRegistry(), good.subarray(0, good.length - 1))).toThrow(ChainDecodeError);
    // Same outer length, but the inner Vec claims one item and there are bytes left over.
    const registry = new TypeRegistry();
    registerLegacyNeuronTypes(registry);
    const inner = registry.createType(LEGACY_NEURONS_TYPE, FIXTURE_VALUES.slice(0, 1)).toU8a();
    const padded = compactAddLength(Uint8Array.from([...inner, 0, 0]));
    expect(() => decodeOpaqueNeuronsLite(registry, padded)).toThrow(/layout mismatch/);
  });
});

describe("neuronsFromJson", () => {
  it("refuses unexpected shapes with the path", () => {
    expect(() => neuronsFromJson({})).toThrow(ChainDecodeError);
    expect(() => neuronsFromJson([{ uid: 1 }])).toThrow(/neurons\[0\]/);
    const bad = { ...neuronValue({}), axonInfo: { ...ZERO_AXON, port: 70000 } };
    expect(() => neuronsFromJson([bad])).toThrow(/axonInfo\.port/);
  });

  it("maps axons: zero -> null, unknown ip_type -> null, ip out of IPv4 range -> null", () => {
    expect(axonFromJson(ZERO_AXON)).toBeNull();
    expect(axonFromJson({ ...ZERO_AXON, ip: 16909060, port: 80, ipType: 5 })).toBeNull();
    expect(axonFromJson({ ...ZERO_AXON, ip: "0x0100000000", port: 80, ipType: 4 })).toBeNull();
    // ip 0 with a port is not "never served": it is kept so the axon guard can explain the refusal.
    expect(axonFromJson({ ...ZERO_AXON, port: 80, ipType: 4 })).toEqual({ ip: "0.0.0.0", port: 80, ipType: 4, version: 0, protocol: 0 });
  });
});

describe("typed form (spec >= 233, finney metadata v16)", () => {
  const registry = new TypeRegistry();
  registry.setMetadata(new Metadata(registry, new Uint8Array(readFileSync(METADATA_PATH))));
  const api = registry.metadata.apis.find((a) => a.name.toString() === "NeuronInfoRuntimeApi");
  const method = api?.methods.find((m) => m.name.toString() === "get_neurons_lite");
  if (!method) throw new Error("finney metadata has no NeuronInfoRuntimeApi.get_neurons_lite");
  const outputType = registry.createLookupType(method.output);

  it("declares Vec<NeuronInfoLite> as the output", () => {
    expect(registry.lookup.getTypeDef(method.output).type).toBe("Vec<PalletSubtensorRpcInfoNeuronInfoNeuronInfoLite>");
  });

  it("decodes the api's typed answer (toJSON) to the same neurons", () => {
    // Encode with mainnet types, decode the bytes as polkadot-js would, then map the JSON.
    const bytes = registry.createType(outputType, FIXTURE_VALUES).toU8a();
    const answer = registry.createType(outputType, bytes);
    expect(answer.toRawType()).not.toBe("Bytes");
    expect(neuronsFromJson(answer.toJSON())).toEqual(EXPECTED);
  });

  it("has the same byte layout as the legacy definitions", () => {
    const typed = registry.createType(outputType, FIXTURE_VALUES).toU8a();
    const legacy = new TypeRegistry();
    registerLegacyNeuronTypes(legacy);
    expect(Buffer.from(legacy.createType(LEGACY_NEURONS_TYPE, FIXTURE_VALUES).toU8a()).toString("hex")).toBe(
      Buffer.from(typed).toString("hex"),
    );
  });
});
