// One settlement run (cron, or POST /admin/settlements/run through the chain Worker):
//   lock -> connect -> read the subnet's rules -> plan the last closed epoch if due ->
//   move every open settlement forward (reconcile stored extrinsics first) -> unlock.
// Safe to run at any time, concurrently, and again after a crash at any point: the D1 records and
// the chain decide what is left to do; nothing is submitted twice.
import { Keyring, type ApiPromise } from "@polkadot/api";
import type { KeyringPair } from "@polkadot/keyring/types";
import { connectSubtensor, DEFAULT_SUBTENSOR_URL, disconnectSubtensor } from "../connection";
import { ChainConfigError, ChainError, ChainUnavailableError } from "../errors";
import { existentialDeposit, readSubnetRules, readValidatorStanding } from "./chain-state";
import { settlementConfig, type SettlementEnv } from "./config";
import type { RunContext, SettlementHooks, SettlementLog, StepReport } from "./context";
import { epochIndex } from "./epoch";
import { advancePayout } from "./payout-step";
import { planDue, scheduleOf } from "./plan";
import { acquireLock, checkSettlementChain, openSettlements, releaseLock, settlementDb } from "./store";
import { DEFAULT_ERA_PERIOD } from "./tx";
import type { SettlementMode } from "./types";
import { advanceWeights } from "./weights-step";

export type { SettlementEnv } from "./config";
export type { StepReport } from "./context";
export { ChainConfigError, ChainDecodeError, ChainError, ChainGenesisChangedError, ChainUnavailableError } from "../errors";

export type SettlementDeps = {
  /** An already connected api (left open); otherwise one is opened for the run and closed after. */
  api?: ApiPromise;
  now?: () => number;
  log?: SettlementLog;
  hooks?: SettlementHooks;
  connectTimeoutMs?: number;
  /** Pause between inclusion checks (default 1 s). */
  pollMs?: number;
  eraPeriod?: number;
};

export type SettlementRunReport =
  | { ran: false; netuid: number; reason: string }
  | {
      ran: true;
      netuid: number;
      /** Best block the run started from, and its epoch. */
      block: number;
      epoch: number;
      mode: SettlementMode;
      /** The settlement planned by this run, if an epoch had closed. */
      planned: string | null;
      /** Why this run planned nothing (null when it planned). */
      notPlannedReason: string | null;
      steps: StepReport[];
      /** Steps that hit a chain error (also in `steps`). */
      errors: StepReport[];
      durationMs: number;
    };

/** A run holds the lock at most this long; a crashed run's lock expires after it. */
export const LOCK_TTL_MS = 10 * 60_000;
/** No new extrinsic is signed after this much of a run: what is left waits for the next run, well within the lock. */
export const SUBMIT_BUDGET_MS = 5 * 60_000;

function keypair(name: string, uri: string): KeyringPair {
  try {
    return new Keyring({ type: "sr25519", ss58Format: 42 }).addFromUri(uri);
  } catch (err) {
    // Never echo the secret, only why it was refused.
    throw new ChainConfigError(`${name} is not a usable secret URI: ${err instanceof Error ? err.message.replace(uri, "<secret>") : "invalid"}`);
  }
}

function defaultLog(event: string, fields: Record<string, unknown>): void {
  const line = JSON.stringify({ event, ...fields }, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v));
  if (event.endsWith("_error")) console.error(line);
  else console.log(line);
}

/** The run's context at the current best block (exported for tests that drive single steps). */
export async function createRunContext(env: SettlementEnv, api: ApiPromise, deps: SettlementDeps = {}): Promise<RunContext> {
  const cfg = settlementConfig(env);
  const validator = keypair("GATEWAY_HOTKEY_MNEMONIC", cfg.validatorUri);
  const treasury = cfg.payouts ? keypair("PAYOUT_TREASURY_MNEMONIC", cfg.payouts.treasuryUri) : null;
  const [header, rules, standing] = await Promise.all([
    api.rpc.chain.getHeader(),
    readSubnetRules(api, cfg.netuid),
    readValidatorStanding(api, cfg.netuid, validator.address),
  ]);
  return {
    api,
    db: settlementDb(env.DB),
    cfg,
    validator,
    treasury,
    rules,
    standing,
    head: header.number.toNumber(),
    existentialDeposit: existentialDeposit(api),
    now: deps.now ?? Date.now,
    log: deps.log ?? defaultLog,
    hooks: deps.hooks ?? {},
    pollMs: deps.pollMs ?? 1_000,
    eraPeriod: deps.eraPeriod ?? DEFAULT_ERA_PERIOD,
    submitDeadline: Date.now() + SUBMIT_BUDGET_MS,
    steps: [],
  };
}

/**
 * RPC failures (polkadot-js RpcError: a numeric JSON-RPC code) surface as ChainUnavailableError,
 * to be retried by the next run; anything else is a bug and is rethrown as it is.
 */
function asChainError(err: unknown): unknown {
  if (err instanceof ChainError || !(err instanceof Error)) return err;
  const rpc = err.name === "RpcError" || (typeof (err as { code?: unknown }).code === "number" && /^-?\d+:/.test(err.message));
  return rpc ? new ChainUnavailableError(`settlement RPC failed: ${err.message}`, undefined, { cause: err }) : err;
}

export async function runSettlement(env: SettlementEnv, deps: SettlementDeps = {}): Promise<SettlementRunReport> {
  const cfg = settlementConfig(env);
  const now = deps.now ?? Date.now;
  const log = deps.log ?? defaultLog;
  const started = now();
  // Keys are checked before anything else so a bad secret fails fast and clearly.
  keypair("GATEWAY_HOTKEY_MNEMONIC", cfg.validatorUri);
  if (cfg.payouts) keypair("PAYOUT_TREASURY_MNEMONIC", cfg.payouts.treasuryUri);
  const db = settlementDb(env.DB);
  const owner = crypto.randomUUID();
  if (!(await acquireLock(db, cfg.netuid, owner, started, LOCK_TTL_MS))) {
    log("settlement_busy", { netuid: cfg.netuid });
    return { ran: false, netuid: cfg.netuid, reason: "another settlement run holds the lock" };
  }
  try {
    const api = deps.api ?? (await connectSubtensor(cfg.subtensorUrl ?? DEFAULT_SUBTENSOR_URL, { timeoutMs: deps.connectTimeoutMs }));
    try {
      const ctx = await createRunContext(env, api, { ...deps, now, log });
      const { rules } = ctx;
      const block = ctx.head;
      // Before anything is compared or planned: is this the chain the records were made on?
      await checkSettlementChain(db, cfg.netuid, api.genesisHash.toHex(), now());
      const plan = await planDue(ctx, env.DB);
      if (!plan.planned) log("settlement_not_planned", { netuid: cfg.netuid, block, reason: plan.reason });
      for (const s of await openSettlements(db, cfg.netuid)) {
        await advanceWeights(ctx, s.id);
        await advancePayout(ctx, s.id);
      }
      const report: SettlementRunReport = {
        ran: true,
        netuid: cfg.netuid,
        block,
        epoch: epochIndex(scheduleOf(ctx), block),
        mode: rules.commitReveal ? "commit_reveal" : "set_weights",
        planned: plan.planned?.id ?? null,
        notPlannedReason: plan.planned ? null : plan.reason,
        steps: ctx.steps,
        errors: ctx.steps.filter((s) => s.error !== undefined),
        durationMs: now() - started,
      };
      log("settlement_run", { netuid: cfg.netuid, block, epoch: report.epoch, planned: report.planned, notPlannedReason: report.notPlannedReason, steps: report.steps.length, errors: report.errors.length, durationMs: report.durationMs });
      return report;
    } catch (err) {
      throw asChainError(err);
    } finally {
      if (!deps.api) await disconnectSubtensor(api);
    }
  } finally {
    await releaseLock(db, cfg.netuid, owner);
  }
}
