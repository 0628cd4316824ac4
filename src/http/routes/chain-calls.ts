/**
 * The gateway's calls into the chain Worker (ChainService, src/chain-worker.ts) over the CHAIN
 * service binding, and how their outcomes become HTTP: a job that could not run for a reason the
 * operator can fix is a 409, a misconfigured chain Worker a 500, a chain that failed a 502, and an
 * unreachable chain Worker (the RPC call itself threw) a 503.
 */
import type { Env } from "../../env";
import { GatewayError, internalError } from "../../errors";

type ChainService = Env["CHAIN"];
type Outcome = { ok: true } | { ok: false; code: string; message: string };

/** Codes that mean "not turned on" or "refused until an operator decides", not "broken". */
const NOT_ENABLED = new Set(["chain_not_configured", "settlement_disabled", "chain_genesis_changed"]);
/** Codes that mean the chain Worker's configuration is wrong; retrying will not help. */
const MISCONFIGURED = new Set(["configuration_error", "chain_config"]);

export function chainFailure(code: string, message: string): GatewayError {
  if (NOT_ENABLED.has(code)) return new GatewayError(409, "invalid_request_error", code, message);
  if (code === "internal_error") return new GatewayError(500, "server_error", code, message);
  if (MISCONFIGURED.has(code)) return new GatewayError(500, "api_error", code, message);
  return new GatewayError(502, "api_error", code, message);
}

/** Calls one ChainService method; a failed outcome is thrown as its GatewayError. */
export async function callChain<T extends Outcome>(env: Env, call: (chain: ChainService) => Promise<T>): Promise<Extract<T, { ok: true }>> {
  if (!env.CHAIN) throw new GatewayError(503, "api_error", "chain_worker_unbound", "The CHAIN service binding is not configured.");
  let outcome: T;
  try {
    outcome = await call(env.CHAIN);
  } catch (err) {
    console.error("chain worker call failed", err);
    throw new GatewayError(503, "api_error", "chain_worker_unavailable", `The chain worker could not be reached: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (succeeded(outcome)) return outcome;
  const failure: Outcome = outcome;
  throw failure.ok ? internalError() : chainFailure(failure.code, failure.message);
}

function succeeded<T extends Outcome>(outcome: T): outcome is Extract<T, { ok: true }> {
  return outcome.ok;
}
