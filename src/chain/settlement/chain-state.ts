// What settlement reads from Subtensor, all at one block: the subnet's weight-setting rules, the
// validator's standing, weights and commits already on chain, balances.
import type { ApiPromise } from "@polkadot/api";
import { ChainConfigError, ChainDecodeError } from "../errors";
import { accountInfo, asArray, asBigInt, asBool, asNumber, asOptionalNumber, readStorage, toNumber, type At } from "./storage";

export type SubnetRules = {
  netuid: number;
  tempo: number;
  commitReveal: boolean;
  /** RevealPeriodEpochs: the reveal is accepted only in commit epoch + this. */
  revealPeriod: number;
  /** WeightsSetRateLimit: blocks between two sets (or commits) by the same uid. */
  rateLimit: number;
  /** WeightsVersionKey: version_key must be >= this (0: any). */
  versionKey: bigint;
  minAllowedWeights: number;
  maxWeightsLimit: number;
  subnetN: number;
};

export type ValidatorStanding = {
  uid: number | null;
  /** LastUpdate of the uid (0: never). */
  lastUpdate: number;
  permit: boolean;
};

export async function readSubnetRules(at: At, netuid: number): Promise<SubnetRules> {
  const q = (item: string, ...args: unknown[]) => readStorage(at, "subtensorModule", item, ...args);
  const [added, tempo, cr, reveal, rate, vk, minW, maxW, n] = await Promise.all([
    q("networksAdded", netuid),
    q("tempo", netuid),
    q("commitRevealWeightsEnabled", netuid),
    q("revealPeriodEpochs", netuid),
    q("weightsSetRateLimit", netuid),
    q("weightsVersionKey", netuid),
    q("minAllowedWeights", netuid),
    q("maxWeightsLimit", netuid),
    q("subnetworkN", netuid),
  ]);
  if (!asBool(added, "NetworksAdded")) throw new ChainConfigError(`subnet ${netuid} does not exist on this chain`);
  return {
    netuid,
    tempo: asNumber(tempo, "Tempo"),
    commitReveal: asBool(cr, "CommitRevealWeightsEnabled"),
    revealPeriod: asNumber(reveal, "RevealPeriodEpochs"),
    rateLimit: asNumber(rate, "WeightsSetRateLimit"),
    versionKey: asBigInt(vk, "WeightsVersionKey"),
    minAllowedWeights: asNumber(minW, "MinAllowedWeights"),
    maxWeightsLimit: asNumber(maxW, "MaxWeightsLimit"),
    subnetN: asNumber(n, "SubnetworkN"),
  };
}

export async function readValidatorStanding(at: At, netuid: number, hotkey: string): Promise<ValidatorStanding> {
  const uid = asOptionalNumber(await readStorage(at, "subtensorModule", "uids", netuid, hotkey), "Uids");
  if (uid === null) return { uid: null, lastUpdate: 0, permit: false };
  const [lastUpdate, permits] = await Promise.all([
    readStorage(at, "subtensorModule", "lastUpdate", netuid),
    readStorage(at, "subtensorModule", "validatorPermit", netuid),
  ]);
  const updates = asArray(lastUpdate, "LastUpdate");
  const permitList = asArray(permits, "ValidatorPermit");
  return { uid, lastUpdate: toNumber(updates[uid] ?? 0, "LastUpdate[uid]"), permit: permitList[uid] === true };
}

/** `Weights(netuid, uid)` as [uid, weight] pairs. */
export async function readWeights(at: At, netuid: number, uid: number): Promise<Array<[number, number]>> {
  const list = asArray(await readStorage(at, "subtensorModule", "weights", netuid, uid), "Weights");
  return list.map((pair, i) => {
    if (!Array.isArray(pair) || pair.length !== 2) throw new ChainDecodeError(`Weights[${i}]: expected a (uid, weight) pair`);
    return [toNumber(pair[0], "Weights uid"), toNumber(pair[1], "Weights weight")];
  });
}

export type WeightCommit = { hash: string; commitBlock: number; firstRevealBlock: number; lastRevealBlock: number };

/** Unrevealed commit-reveal v2 commits of `hotkey` (`WeightCommits(netuid, hotkey)`). */
export async function readWeightCommits(at: At, netuid: number, hotkey: string): Promise<WeightCommit[]> {
  const value = (await readStorage(at, "subtensorModule", "weightCommits", netuid, hotkey)).toJSON();
  if (value === null) return [];
  if (!Array.isArray(value)) throw new ChainDecodeError("WeightCommits: expected a list");
  return value.map((c, i) => {
    if (!Array.isArray(c) || c.length < 4 || typeof c[0] !== "string") throw new ChainDecodeError(`WeightCommits[${i}]: unexpected shape`);
    return { hash: c[0], commitBlock: toNumber(c[1], "commit block"), firstRevealBlock: toNumber(c[2], "first reveal"), lastRevealBlock: toNumber(c[3], "last reveal") };
  });
}

export async function freeBalance(at: At, address: string): Promise<bigint> {
  return (await accountInfo(at, address)).data.free.toBigInt();
}

export function existentialDeposit(api: ApiPromise): bigint {
  const ed = api.consts.balances?.existentialDeposit;
  if (!ed) throw new ChainDecodeError("runtime has no balances.existentialDeposit");
  return asBigInt(ed, "ExistentialDeposit");
}
