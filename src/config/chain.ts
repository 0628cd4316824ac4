/**
 * The chain Worker's configuration: every variable it reads (src/config/variables.ts), validated in
 * one place, once per env object, before any job runs. A bad value is a ConfigError naming the
 * variable: each RPC method answers `configuration_error` with it and each cron run logs and throws
 * it (docs/configuration.md). Settlement's own rules live in src/chain/settlement/config.ts (pure,
 * no @polkadot/api) and are checked here too, so they fail at the first call, not at the epoch's end.
 */
import type { D1Database } from "@cloudflare/workers-types";
import { ChainConfigError } from "../chain/errors";
import { settlementConfig, type SettlementConfig } from "../chain/settlement/config";
import { ConfigError, cron, flag, optionalInteger, text, url } from "./parse";
import type { ChainVariable } from "./variables";

export { ConfigError } from "./parse";

/** The chain Worker's variables as it sees them: optional strings, validated here. */
export type ChainVars = { readonly [K in ChainVariable]?: string };

export interface ChainDiscoveryConfig {
  subtensorUrl: string;
  netuid: number;
  /** Secret URI of the gateway's hotkey (signs the model probes). */
  hotkeyUri: string;
  allowPrivateAxons: boolean;
}

export interface ChainConfig {
  /** Metagraph sync; null when SUBTENSOR_URL or NETUID is unset (discovery off). */
  discovery: ChainDiscoveryConfig | null;
  /** The cron trigger that runs the sync; null: every trigger. */
  metagraphSyncCron: string | null;
  /** Settlement; null unless SETTLEMENT_ENABLED=true. */
  settlement: SettlementConfig | null;
  settlementCron: string | null;
}

function discovery(env: ChainVars): ChainDiscoveryConfig | null {
  const subtensorUrl = url("SUBTENSOR_URL", env.SUBTENSOR_URL, ["ws:", "wss:", "http:", "https:"]);
  const netuid = optionalInteger("NETUID", env.NETUID, 0, 65535);
  if (subtensorUrl === undefined || netuid === undefined) return null;
  const hotkeyUri = text(env.GATEWAY_HOTKEY_MNEMONIC);
  if (hotkeyUri === undefined) throw new ConfigError("GATEWAY_HOTKEY_MNEMONIC", "is required when SUBTENSOR_URL and NETUID are set (chain discovery)");
  return { subtensorUrl, netuid, hotkeyUri, allowPrivateAxons: flag("ALLOW_PRIVATE_AXONS", env.ALLOW_PRIVATE_AXONS) };
}

function settlement(env: ChainVars & { DB: D1Database }): SettlementConfig | null {
  if (!flag("SETTLEMENT_ENABLED", env.SETTLEMENT_ENABLED)) return null;
  if (text(env.NETUID) === undefined) throw new ConfigError("NETUID", "is required when SETTLEMENT_ENABLED=true");
  try {
    return settlementConfig(env);
  } catch (err) {
    if (err instanceof ChainConfigError && err.variable) {
      const detail = err.message.startsWith(err.variable) ? err.message.slice(err.variable.length).trim() : err.message;
      throw new ConfigError(err.variable, detail);
    }
    throw err;
  }
}

/** Pure: reads the chain Worker's variables. Throws ConfigError. */
export function parseChainConfig(env: ChainVars & { DB: D1Database }): ChainConfig {
  return {
    discovery: discovery(env),
    metagraphSyncCron: cron("METAGRAPH_SYNC_CRON", env.METAGRAPH_SYNC_CRON) ?? null,
    settlement: settlement(env),
    settlementCron: cron("SETTLEMENT_CRON", env.SETTLEMENT_CRON) ?? null,
  };
}

const parsed = new WeakMap<object, ChainConfig>();

export function chainConfig(env: ChainVars & { DB: D1Database }): ChainConfig {
  let cfg = parsed.get(env);
  if (!cfg) {
    cfg = parseChainConfig(env);
    parsed.set(env, cfg);
  }
  return cfg;
}
