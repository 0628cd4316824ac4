// How one usage event counts for settlement (pure). The gateway's usage consumer applies it to
// every event once, when it folds a batch into the per-second miner rollup (usage_miner_seconds);
// settlement then only sums (src/chain/settlement/usage.ts). Recomputing from the raw archive
// applies the same function. It lives in billing/ because the gateway runs it: only the chain
// Worker loads src/chain/.
import type { AttemptRecord, UsageEvent } from "./usage-event";

/**
 * Billing believes a miner's token report up to 10% over the gateway's own count (src/billing/pricing.ts
 * REPORT_TOLERANCE_PERCENT; test/worker/settlements.test.ts checks they agree). Not imported from
 * there: this module is pure and also type-checked for Node with the chain code.
 */
export const REPORT_TOLERANCE_PERCENT = 10;
/** On top of that, chat-template overhead a real tokenizer adds to a prompt: below it nothing is "over-reported". */
export const OVER_REPORT_SLACK_TOKENS = 16;

/**
 * One event's contribution to its (miner, model, kind, second) rollup. With pc/cc the counted and
 * pr/cr the reported prompt/completion tokens (the counted value when not reported):
 * - served: status 'ok', or 'client_cancelled' after output was delivered;
 * - refused: the miner answered 4xx (the request's fault): neither success nor failure;
 * - cancelledEmpty: the client left before any output: neither;
 * - request_error (every miner failed the same request the same way: the request's fault) and
 *   internal_error (the gateway's own failure) say nothing about the miner: neither;
 * - failed: everything else that reached the miner (errors, timeouts, bad answers, cut streams);
 * - overReported: served with a usage report claiming more than
 *   floor((pc + cc) x (100 + REPORT_TOLERANCE_PERCENT) + 99) / 100) + OVER_REPORT_SLACK_TOKENS tokens.
 * Counted work = served AND NOT over, in gateway-counted tokens.
 */
export type UsageCounts = {
  requests: number;
  counted: number;
  promptTokens: number;
  completionTokens: number;
  served: number;
  failed: number;
  refused: number;
  cancelledEmpty: number;
  overReported: number;
  reportedTokens: number;
  countedTokensOfReported: number;
  costMicroUsd: number;
};

type Classified = Pick<
  UsageEvent,
  "status" | "httpStatus" | "promptTokensCounted" | "completionTokensCounted" | "promptTokensReported" | "completionTokensReported" | "costMicroUsd"
>;

export function usageCounts(e: Classified): UsageCounts {
  const pc = e.promptTokensCounted;
  const cc = e.completionTokensCounted;
  // `??` and `!= null` also cover fields missing from an event archived by an older version.
  const hasReport = e.promptTokensReported != null || e.completionTokensReported != null;
  const reported = (e.promptTokensReported ?? pc) + (e.completionTokensReported ?? cc);
  const served = e.status === "ok" || (e.status === "client_cancelled" && cc > 0);
  const refused = e.status === "miner_error" && e.httpStatus >= 400 && e.httpStatus <= 499;
  const cancelledEmpty = e.status === "client_cancelled" && cc === 0;
  const notTheMiners = e.status === "request_error" || e.status === "internal_error";
  const threshold = Math.floor(((pc + cc) * (100 + REPORT_TOLERANCE_PERCENT) + 99) / 100) + OVER_REPORT_SLACK_TOKENS;
  const over = served && hasReport && reported > threshold;
  const counted = served && !over;
  return {
    requests: 1,
    counted: counted ? 1 : 0,
    promptTokens: counted ? pc : 0,
    completionTokens: counted ? cc : 0,
    served: served ? 1 : 0,
    failed: !served && !refused && !cancelledEmpty && !notTheMiners ? 1 : 0,
    refused: refused ? 1 : 0,
    cancelledEmpty: cancelledEmpty ? 1 : 0,
    overReported: over ? 1 : 0,
    reportedTokens: served && hasReport ? reported : 0,
    countedTokensOfReported: served && hasReport ? pc + cc : 0,
    costMicroUsd: e.costMicroUsd ?? 0,
  };
}

export const ZERO_COUNTS: UsageCounts = Object.freeze({
  requests: 0,
  counted: 0,
  promptTokens: 0,
  completionTokens: 0,
  served: 0,
  failed: 0,
  refused: 0,
  cancelledEmpty: 0,
  overReported: 0,
  reportedTokens: 0,
  countedTokensOfReported: 0,
  costMicroUsd: 0,
});

export function addCounts(a: UsageCounts, b: UsageCounts): UsageCounts {
  const out = { ...a };
  for (const k of Object.keys(b) as (keyof UsageCounts)[]) out[k] += b[k];
  return out;
}

type Attributed = Classified & Pick<UsageEvent, "minerHotkey" | "attemptLog">;

/** One miner's share of an event in the miner rollup ('' / null: no miner took the request). */
export interface MinerShare {
  minerHotkey: string | null;
  counts: UsageCounts;
}

/**
 * How one event counts for each miner it reached (issue 13: settlement sees every miner).
 * The event's own miner (the one that finished, or the last one tried) keeps the request as
 * `usageCounts` classifies it, with the prompt and the cost, but only the completion tokens it
 * delivered itself. Every earlier attempt in `attemptLog` counts against its miner as a failure:
 * `failed` (nothing reached the client, the request moved on) or `broken` (its stream broke
 * after content; it is credited the completion tokens it delivered, when the request's work
 * counts at all). When the whole request is not the miners' doing (request_error: every miner
 * failed it the same way; internal_error: the gateway's own failure), nobody is blamed.
 */
export function minerShares(e: Attributed): MinerShare[] {
  const whole = usageCounts(e);
  const log = e.attemptLog ?? [];
  const earlier = log.at(-1)?.minerHotkey === e.minerHotkey ? log.slice(0, -1) : log;
  const blamed = earlier.filter((a) => a.outcome === "failed" || a.outcome === "broken");
  if (blamed.length === 0 || e.status === "request_error" || e.status === "internal_error") return [{ minerHotkey: e.minerHotkey, counts: whole }];
  const creditOf = (a: AttemptRecord) => (a.outcome === "broken" && whole.counted === 1 ? a.completionTokens : 0);
  const deliveredEarlier = blamed.reduce((n, a) => n + creditOf(a), 0);
  const own: MinerShare = { minerHotkey: e.minerHotkey, counts: { ...whole, completionTokens: Math.max(0, whole.completionTokens - deliveredEarlier) } };
  return [own, ...blamed.map((a) => ({ minerHotkey: a.minerHotkey, counts: { ...ZERO_COUNTS, requests: 1, failed: 1, completionTokens: creditOf(a) } }))];
}
