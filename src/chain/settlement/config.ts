// Settlement configuration from the Worker's string variables (pure). Anything malformed is a
// ChainConfigError naming the variable, never echoing a secret.
import type { D1Database } from "@cloudflare/workers-types";
import { ChainConfigError } from "../errors";
import type { PayoutPolicy } from "./payouts";

export type SettlementEnv = {
  DB: D1Database;
  SUBTENSOR_URL?: string;
  NETUID?: string;
  /** The validator hotkey that sets weights (the gateway's hotkey). Secret. */
  GATEWAY_HOTKEY_MNEMONIC?: string;
  /** Fixed epoch length in blocks; unset: the subnet's tempo + 1, aligned with the chain's epochs. */
  SETTLEMENT_EPOCH_BLOCKS?: string;
  /** Usage rows younger than this stay for the next epoch (late queue deliveries, long streams). */
  SETTLEMENT_LAG_MS?: string;
  /** version_key to sign with; the chain's WeightsVersionKey is used when that is higher. */
  WEIGHTS_VERSION_KEY?: string;
  /** How long one run waits for an extrinsic to be finalized before leaving it to the next run. */
  SETTLEMENT_INCLUSION_TIMEOUT_MS?: string;
  PAYOUT_ENABLED?: string;
  PAYOUT_SHARE_BPS?: string;
  PAYOUT_RAO_PER_USD?: string;
  PAYOUT_MIN_RAO?: string;
  PAYOUT_MAX_RAO_PER_EPOCH?: string;
  /** Secret URI of the treasury coldkey that pays. Secret. */
  PAYOUT_TREASURY_MNEMONIC?: string;
};

export type PayoutConfig = PayoutPolicy & { treasuryUri: string };

export type SettlementConfig = {
  subtensorUrl: string | undefined;
  netuid: number;
  validatorUri: string;
  epochBlocks: number | null;
  lagMs: number;
  versionKey: bigint | null;
  inclusionTimeoutMs: number;
  payouts: PayoutConfig | null;
};

export const DEFAULT_LAG_MS = 10 * 60_000;
export const DEFAULT_INCLUSION_TIMEOUT_MS = 90_000;
/** 0.001 TAO. */
export const DEFAULT_PAYOUT_MIN_RAO = 1_000_000n;

function present(v: string | undefined): string | undefined {
  const t = v?.trim();
  return t ? t : undefined;
}

function integer(name: string, value: string | undefined, min: number, max = Number.MAX_SAFE_INTEGER): number | undefined {
  const t = present(value);
  if (t === undefined) return undefined;
  if (!/^[0-9]+$/.test(t) || Number(t) < min || Number(t) > max) throw new ChainConfigError(`${name} must be an integer ${min}-${max}, got ${JSON.stringify(value)}`, name);
  return Number(t);
}

function big(name: string, value: string | undefined): bigint | undefined {
  const t = present(value);
  if (t === undefined) return undefined;
  if (!/^[0-9]{1,30}$/.test(t)) throw new ChainConfigError(`${name} must be a non-negative integer, got ${JSON.stringify(value)}`, name);
  return BigInt(t);
}

function required<T>(name: string, value: T | undefined): T {
  if (value === undefined) throw new ChainConfigError(`${name} is required for settlement`, name);
  return value;
}

export function settlementConfig(env: SettlementEnv): SettlementConfig {
  const netuid = required("NETUID", integer("NETUID", env.NETUID, 0, 65535));
  const validatorUri = required("GATEWAY_HOTKEY_MNEMONIC", present(env.GATEWAY_HOTKEY_MNEMONIC));
  const versionKey = big("WEIGHTS_VERSION_KEY", env.WEIGHTS_VERSION_KEY);
  if (versionKey !== undefined && versionKey > 0xffff_ffff_ffff_ffffn) throw new ChainConfigError("WEIGHTS_VERSION_KEY must fit in a u64", "WEIGHTS_VERSION_KEY");
  const payoutsOn = /^(1|true|yes)$/i.test(env.PAYOUT_ENABLED?.trim() ?? "");
  let payouts: PayoutConfig | null = null;
  if (payoutsOn) {
    payouts = {
      treasuryUri: required("PAYOUT_TREASURY_MNEMONIC", present(env.PAYOUT_TREASURY_MNEMONIC)),
      shareBps: required("PAYOUT_SHARE_BPS", integer("PAYOUT_SHARE_BPS", env.PAYOUT_SHARE_BPS, 0, 10_000)),
      raoPerUsd: required("PAYOUT_RAO_PER_USD", big("PAYOUT_RAO_PER_USD", env.PAYOUT_RAO_PER_USD)),
      minRao: big("PAYOUT_MIN_RAO", env.PAYOUT_MIN_RAO) ?? DEFAULT_PAYOUT_MIN_RAO,
      maxRaoPerEpoch: big("PAYOUT_MAX_RAO_PER_EPOCH", env.PAYOUT_MAX_RAO_PER_EPOCH) ?? null,
    };
  }
  return {
    subtensorUrl: present(env.SUBTENSOR_URL),
    netuid,
    validatorUri,
    epochBlocks: integer("SETTLEMENT_EPOCH_BLOCKS", env.SETTLEMENT_EPOCH_BLOCKS, 1) ?? null,
    lagMs: integer("SETTLEMENT_LAG_MS", env.SETTLEMENT_LAG_MS, 0) ?? DEFAULT_LAG_MS,
    versionKey: versionKey ?? null,
    inclusionTimeoutMs: integer("SETTLEMENT_INCLUSION_TIMEOUT_MS", env.SETTLEMENT_INCLUSION_TIMEOUT_MS, 1) ?? DEFAULT_INCLUSION_TIMEOUT_MS,
    payouts,
  };
}
