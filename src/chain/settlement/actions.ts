// What to do about a chain error (pure). Errors arrive as pallet keys (`section.Name`, decoded from
// the dispatch error) or pool refusals (`Pool.*`). Three answers:
// - wait: nothing is wrong with the plan; try the same step on a later run (rate limit, reveal
//   window not open, treasury short of funds: an operator can top it up);
// - retry: the extrinsic can never land as signed; sign a fresh one on the next run (stale nonce,
//   the subnet switched commit-reveal on or off, a newer version key);
// - give_up: the plan cannot succeed (no permit, not registered, bad vector, expired commit);
//   the step is marked failed and the reason logged for an operator.
import type { ExtrinsicKind } from "./types";

export type ErrorAction = "wait" | "retry" | "give_up";

const WAIT = new Set([
  "subtensorModule.SettingWeightsTooFast",
  "subtensorModule.CommittingWeightsTooFast",
  "subtensorModule.RevealTooEarly",
  "subtensorModule.TooManyUnrevealedCommits",
  "subtensorModule.TxRateLimitExceeded",
  "Token.FundsUnavailable",
  "balances.InsufficientBalance",
  "Pool.Invalid.Payment",
  "Pool.TemporarilyBanned",
  "Pool.PriorityTooLow",
  "Pool.Invalid.Future",
]);

const RETRY = new Set([
  "Pool.Invalid.Stale",
  "Pool.Invalid.AncientBirthBlock",
  "Pool.Invalid.BadProof",
  "Pool.AlreadyImported",
  "subtensorModule.IncorrectWeightVersionKey",
  "subtensorModule.CommitRevealEnabled",
  "subtensorModule.CommitRevealDisabled",
]);

/**
 * Pool custom codes of Subtensor's SignedExtension for weight calls (pallets/subtensor lib.rs):
 * 1 commit_weights, 2 reveal_weights, 3 set_weights: the hotkey's stake is below WeightsMinStake.
 */
export const POOL_CUSTOM_MEANING: Readonly<Record<string, string>> = {
  "Pool.Invalid.Custom(1)": "commit_weights refused: hotkey stake below WeightsMinStake",
  "Pool.Invalid.Custom(2)": "reveal_weights refused: hotkey stake below WeightsMinStake",
  "Pool.Invalid.Custom(3)": "set_weights refused: hotkey stake below WeightsMinStake",
};

export function actionFor(error: string, kind: ExtrinsicKind): ErrorAction {
  // A reveal is bound to its version key through the commit hash: a newer key cannot be used.
  if (kind === "reveal_weights" && error === "subtensorModule.IncorrectWeightVersionKey") return "give_up";
  if (WAIT.has(error)) return "wait";
  if (RETRY.has(error)) return "retry";
  return "give_up";
}

export function explain(error: string, docs = ""): string {
  const meaning = POOL_CUSTOM_MEANING[error];
  return meaning ? `${error} (${meaning})` : docs ? `${error} (${docs})` : error;
}
