// Sets up a subnet with registered, serving neurons on a local chopsticks chain, following the recipe
// verified in ../shared/chain/README.md. Shared by the chain tests and `npm run chain:local`.
import { Keyring, type ApiPromise } from "@polkadot/api";
import type { SubmittableExtrinsic } from "@polkadot/api/types";
import type { KeyringPair } from "@polkadot/keyring/types";
import { submitAndWait, type Inclusion } from "../../src/chain/extrinsic";
import { ipToU128 } from "../../src/chain/ip";

/** 1 TAO in rao. */
export const TAO = 1_000_000_000n;

/** sr25519 dev keys (`//Alice`, `//Miner1`, ...) with the Bittensor SS58 prefix. */
export function devKey(uri: string): KeyringPair {
  return new Keyring({ type: "sr25519", ss58Format: 42 }).addFromUri(uri);
}

/**
 * submitAndWait, retrying (after building a block) when the pool refuses the submission: right
 * after a fresh chopsticks start extrinsics have been seen to fail with `1010 badProof` and pass
 * once the chain has moved on.
 */
export async function submit(api: ApiPromise, tx: SubmittableExtrinsic<"promise">, signer: KeyringPair): Promise<Inclusion> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await submitAndWait(api, tx, signer);
    } catch (err) {
      if (attempt >= 4 || !(err instanceof Error) || !/\b1010\b/.test(err.message)) throw err;
      await newBlocks(api, 1);
    }
  }
}

export async function sudo(api: ApiPromise, call: SubmittableExtrinsic<"promise">, sudoKey = devKey("//Alice")): Promise<Inclusion> {
  const sudoCall = api.tx.sudo?.sudo;
  if (!sudoCall) throw new Error("runtime has no sudo pallet");
  return submit(api, sudoCall(call), sudoKey);
}

/** Builds `count` empty blocks (chopsticks `dev_newBlock`). */
export async function newBlocks(api: ApiPromise, count = 1): Promise<void> {
  await api.rpc("dev_newBlock", { count });
}

function palletCall(api: ApiPromise, pallet: string, call: string): (...args: unknown[]) => SubmittableExtrinsic<"promise"> {
  const fn = api.tx[pallet]?.[call];
  if (!fn) throw new Error(`runtime has no ${pallet}.${call}`);
  return fn;
}

export type Subnet = { netuid: number; ownerHotkey: string };

export type CreateSubnetOptions = {
  ownerColdkey?: KeyringPair;
  ownerHotkey?: KeyringPair;
  tempo?: number;
  commitReveal?: boolean;
};

/**
 * Registers a new subnet and sets the hyperparameters tests need: fast tempo, no weights rate limit,
 * one weight minimum, commit-reveal off, and no serving rate limit (so an axon can be re-served
 * right away; the default 50 blocks would refuse it with ServingRateLimitExceeded).
 */
export async function createSubnet(api: ApiPromise, opts: CreateSubnetOptions = {}): Promise<Subnet> {
  const ownerColdkey = opts.ownerColdkey ?? devKey("//Alice");
  const ownerHotkey = opts.ownerHotkey ?? devKey("//SubnetOwnerHotkey");
  const admin = (call: string, ...args: unknown[]): SubmittableExtrinsic<"promise"> => palletCall(api, "adminUtils", call)(...args);

  await sudo(api, admin("sudoSetNetworkRateLimit", 0));
  await submit(api, palletCall(api, "subtensorModule", "registerNetwork")(ownerHotkey.address, 1), ownerColdkey);

  const added = await api.query.subtensorModule?.networksAdded?.entries();
  if (!added) throw new Error("runtime has no subtensorModule.networksAdded");
  const netuids = added.map(([key]) => Number(key.args[0]?.toString()));
  const netuid = Math.max(...netuids);

  await sudo(api, admin("sudoSetTempo", netuid, opts.tempo ?? 5));
  await sudo(api, admin("sudoSetWeightsSetRateLimit", netuid, 0));
  await sudo(api, admin("sudoSetMinAllowedWeights", netuid, 1));
  await sudo(api, admin("sudoSetCommitRevealWeightsEnabled", netuid, opts.commitReveal ?? false));
  await sudo(api, admin("sudoSetServingRateLimit", netuid, 0));
  return { netuid, ownerHotkey: ownerHotkey.address };
}

/** Sets free balances through sudo (`balances.forceSetBalance`). */
export async function fund(api: ApiPromise, addresses: readonly string[], amountRao = 1_000n * TAO): Promise<void> {
  for (const address of addresses) {
    await sudo(api, palletCall(api, "balances", "forceSetBalance")(address, amountRao));
  }
}

/** `burnedRegister` paid by `coldkey`; returns the uid the hotkey got. */
export async function registerNeuron(api: ApiPromise, netuid: number, coldkey: KeyringPair, hotkey: string): Promise<number> {
  await submit(api, palletCall(api, "subtensorModule", "burnedRegister")(netuid, hotkey), coldkey);
  const uid = await api.query.subtensorModule?.uids?.(netuid, hotkey);
  const value: unknown = uid?.toJSON();
  if (typeof value !== "number") throw new Error(`hotkey ${hotkey} has no uid on subnet ${netuid} after registering`);
  return value;
}

export type ServeAxonOptions = { ip: string; port: number; version?: number; protocol?: number };

/** `serveAxon` signed by the hotkey itself. 127.0.0.1 is refused by the runtime; use 127.0.0.x, x >= 2. */
export async function serveAxon(api: ApiPromise, netuid: number, hotkey: KeyringPair, axon: ServeAxonOptions): Promise<void> {
  const { ip, ipType } = ipToU128(axon.ip);
  const tx = palletCall(api, "subtensorModule", "serveAxon")(netuid, axon.version ?? 1, ip, axon.port, ipType, axon.protocol ?? 4, 0, 0);
  await submit(api, tx, hotkey);
}

export type NeuronSpec = { hotkey: KeyringPair; coldkey: KeyringPair; axon?: ServeAxonOptions };
export type RegisteredNeuron = { hotkey: string; coldkey: string; uid: number };

/** Funds the coldkeys, registers each hotkey and serves its axon when given. */
export async function registerNeurons(api: ApiPromise, netuid: number, specs: readonly NeuronSpec[]): Promise<RegisteredNeuron[]> {
  await fund(api, [...new Set(specs.map((s) => s.coldkey.address))]);
  const out: RegisteredNeuron[] = [];
  for (const spec of specs) {
    const uid = await registerNeuron(api, netuid, spec.coldkey, spec.hotkey.address);
    if (spec.axon) await serveAxon(api, netuid, spec.hotkey, spec.axon);
    out.push({ hotkey: spec.hotkey.address, coldkey: spec.coldkey.address, uid });
  }
  return out;
}
