// Domain types of the metagraph, independent of how the chain encodes them.

/** A served axon: where the miner's HTTP API lives. */
export type Axon = {
  /** Dotted IPv4 (`203.0.113.7`) or RFC 5952 compressed IPv6 (`2001:db8::1`), no brackets. */
  ip: string;
  port: number;
  ipType: 4 | 6;
  version: number;
  protocol: number;
};

export type Neuron = {
  uid: number;
  netuid: number;
  /** SS58 (prefix 42). */
  hotkey: string;
  coldkey: string;
  active: boolean;
  validatorPermit: boolean;
  /** Incentive as a fraction 0..1 (the chain's u16 divided by 65535). */
  incentive: number;
  /** Emission per tempo in rao. */
  emission: bigint;
  /** Sum of the stake entries, in rao (alpha on dynamic-TAO runtimes). */
  stake: bigint;
  /** Block of the neuron's last weights/update. */
  lastUpdate: number;
  /** null when the neuron never served an axon (all-zero AxonInfo) or the address is not representable. */
  axon: Axon | null;
};

export type Metagraph = {
  netuid: number;
  /** Block the metagraph was read at. */
  block: number;
  blockHash: string;
  neurons: Neuron[];
};
