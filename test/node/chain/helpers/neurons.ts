// Shared NeuronInfoLite fixtures: values in the runtime's field layout and the Neurons they decode to.
import { ipToU128 } from "../../../../src/chain/ip";
import type { Neuron } from "../../../../src/chain/types";

export const ALICE = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
export const ALICE_HEX = "d43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d";
export const BOB = "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty";
export const BOB_HEX = "8eaf04151687736326c9fea17e25fc5287613693c912909cb226aa4794f26a48";
export const CHARLIE = "5FLSigC9HGRKVhB9FiEo4Y3koPsNmBmLJbpXg2mp1hXcS59Y";

function axonInfo(ip: string, port: number, extra: { version?: number; protocol?: number } = {}) {
  const { ip: value, ipType } = ipToU128(ip);
  return { block: 10, version: extra.version ?? 7, ip: value, port, ipType, protocol: extra.protocol ?? 4, placeholder1: 0, placeholder2: 0 };
}
export const ZERO_AXON = { block: 0, version: 0, ip: 0, port: 0, ipType: 0, protocol: 0, placeholder1: 0, placeholder2: 0 };
const ZERO_PROMETHEUS = { block: 0, version: 0, ip: 0, port: 0, ipType: 0 };

export function neuronValue(over: Record<string, unknown>) {
  return {
    hotkey: ALICE,
    coldkey: BOB,
    uid: 0,
    netuid: 3,
    active: true,
    axonInfo: ZERO_AXON,
    prometheusInfo: ZERO_PROMETHEUS,
    stake: [],
    rank: 0,
    emission: 0,
    incentive: 0,
    consensus: 0,
    trust: 0,
    validatorTrust: 0,
    dividends: 0,
    lastUpdate: 0,
    validatorPermit: false,
    pruningScore: 65535,
    ...over,
  };
}

// Three neurons covering IPv4, IPv6 (a u128 above 2^53, rendered as hex by polkadot-js), a zero
// axon, an emission above 2^53, summed stake and the incentive scale.
export const FIXTURE_VALUES = [
  neuronValue({
    uid: 0,
    axonInfo: axonInfo("203.0.113.7", 8091),
    stake: [
      [ALICE, 1_000_000_000],
      [BOB, 2_500_000_000],
    ],
    emission: 123_456_789n,
    incentive: 65535,
    lastUpdate: 4242,
    validatorPermit: true,
  }),
  neuronValue({
    uid: 1,
    hotkey: BOB,
    coldkey: CHARLIE,
    active: false,
    axonInfo: axonInfo("2001:db8:0:0:1::1", 443, { version: 9, protocol: 0 }),
    emission: 2n ** 60n,
    incentive: 32768,
  }),
  neuronValue({ uid: 2, hotkey: CHARLIE, coldkey: ALICE }),
];

export const EXPECTED: Neuron[] = [
  {
    uid: 0,
    netuid: 3,
    hotkey: ALICE,
    coldkey: BOB,
    active: true,
    validatorPermit: true,
    incentive: 1,
    emission: 123_456_789n,
    stake: 3_500_000_000n,
    lastUpdate: 4242,
    axon: { ip: "203.0.113.7", port: 8091, ipType: 4, version: 7, protocol: 4 },
  },
  {
    uid: 1,
    netuid: 3,
    hotkey: BOB,
    coldkey: CHARLIE,
    active: false,
    validatorPermit: false,
    incentive: 32768 / 65535,
    emission: 2n ** 60n,
    stake: 0n,
    lastUpdate: 0,
    axon: { ip: "2001:db8::1:0:0:1", port: 443, ipType: 6, version: 9, protocol: 0 },
  },
  {
    uid: 2,
    netuid: 3,
    hotkey: CHARLIE,
    coldkey: ALICE,
    active: true,
    validatorPermit: false,
    incentive: 0,
    emission: 0n,
    stake: 0n,
    lastUpdate: 0,
    axon: null,
  },
];


/** Path of the finney (mainnet) metadata, spec 393, V16. */
export function finneyMetadataPath(repoRoot: string): string {
  return process.env.FINNEY_METADATA ?? `${repoRoot}/../shared/chain/finney-metadata-spec393.scale`;
}
