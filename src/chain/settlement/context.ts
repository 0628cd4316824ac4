// The state one settlement run works with: connections, keys, the subnet's rules and the
// validator's standing at the current best block, the run's report and its log.
import type { ApiPromise } from "@polkadot/api";
import type { KeyringPair } from "@polkadot/keyring/types";
import type { SettlementExtrinsicRow } from "../../db/schema";
import type { SubnetRules, ValidatorStanding } from "./chain-state";
import type { SettlementConfig } from "./config";
import type { Db } from "./store";
import type { ExtrinsicKind } from "./types";

export type SettlementLog = (event: string, fields: Record<string, unknown>) => void;

/** Test hooks: let a test stop the run between two steps, as a crash would. */
export type SettlementHooks = {
  /** After the signed extrinsic is stored, before it is broadcast. */
  beforeBroadcast?: (row: SettlementExtrinsicRow) => void | Promise<void>;
  /** After the node accepted it, before its fate is known or recorded. */
  afterBroadcast?: (row: SettlementExtrinsicRow) => void | Promise<void>;
};

export type StepOutcome =
  /** The extrinsic is in a finalized block and did what it should. */
  | "included"
  /** Waiting for the chain (rate limit, reveal window, inclusion, funds): a later run continues. */
  | "waiting"
  /** Failed now; a fresh extrinsic is signed on a later run. */
  | "retrying"
  /** Given up: the step is failed and needs an operator. */
  | "failed"
  /** The chain already had it (found by reconciliation). */
  | "reconciled";

export type StepReport = {
  settlementId: string;
  epoch: number;
  step: ExtrinsicKind;
  outcome: StepOutcome;
  message: string;
  txHash?: string;
  block?: number;
  /** Pallet error (`section.Name`) or pool refusal, when the chain refused. */
  error?: string;
};

export type RunContext = {
  api: ApiPromise;
  db: Db;
  cfg: SettlementConfig;
  validator: KeyringPair;
  treasury: KeyringPair | null;
  rules: SubnetRules;
  standing: ValidatorStanding;
  /** Best block the run's decisions are based on. */
  head: number;
  existentialDeposit: bigint;
  now: () => number;
  log: SettlementLog;
  hooks: SettlementHooks;
  pollMs: number;
  eraPeriod: number;
  /** Wall-clock time (Date.now) after which no new extrinsic is signed: the lock must outlive the run. */
  submitDeadline: number;
  steps: StepReport[];
};

/** Records a step in the report and the log (errors at error level). */
export function reportStep(ctx: RunContext, step: StepReport): void {
  ctx.steps.push(step);
  ctx.log(step.outcome === "failed" || step.error ? "settlement_step_error" : "settlement_step", { netuid: ctx.cfg.netuid, ...step });
}
