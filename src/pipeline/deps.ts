/**
 * The pipeline's dependencies in production: built from the gateway Worker's bindings. The
 * isolate-wide parts (miner directory cache, health book, signer) are module state behind
 * these functions; per request only `waitUntil` differs.
 */
import { grantAdmitter } from "../billing/admission";
import { d1BudgetStore } from "../billing/budget-store";
import { usageSink } from "../billing/usage-sink";
import type { Config, Env } from "../env";
import { minerSnapshot } from "../routing/directory";
import { record, trackInflight } from "../routing/health/book";
import { observeOutcome } from "../routing/health/observe";
import { rankCandidates } from "../routing/select";
import { gatewayKeypair } from "../routing/signer";
import type { PipelineDeps, RoutingHealth } from "./contracts";
import { countPrompt } from "./count-prompt";

export function gatewayDeps(env: Env, config: Config, waitUntil: (p: Promise<unknown>) => void): PipelineDeps {
  const clock = Date.now;
  return {
    config,
    admitter: grantAdmitter({ env, waitUntil }),
    budgets: d1BudgetStore(env.DB, clock),
    miners: { snapshot: () => minerSnapshot(env.DB, config.minerCacheTtlMs, clock(), waitUntil) },
    health: isolateHealth(env),
    signer: () => gatewayKeypair(env),
    countPrompt,
    usage: usageSink(env),
    fetch: (input, init) => fetch(input, init),
    clock,
    waitUntil,
  };
}

/** Routing's measurements in this isolate's health book, shared through the MinerHealth objects. */
function isolateHealth(env: Env): RoutingHealth {
  return {
    rank: (serving, o) => rankCandidates(serving, o),
    attemptStarted: (hotkey) => trackInflight(hotkey, 1),
    attemptEnded: (hotkey) => trackInflight(hotkey, -1),
    attemptFailed: (model, hotkey, failure, at) => record(model, { kind: "failure", hotkey, at, failure }),
    observe: (event, ctx) => observeOutcome(env, event, ctx),
  };
}
