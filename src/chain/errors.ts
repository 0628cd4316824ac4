// Typed errors of the chain module. Callers (the scheduled handler, scripts) switch on `code`;
// messages carry the detail for logs and are never meant to be shown to API clients.

export type ChainErrorCode = "chain_unavailable" | "chain_decode" | "chain_config" | "chain_extrinsic_failed" | "chain_genesis_changed";

export abstract class ChainError extends Error {
  abstract readonly code: ChainErrorCode;
}

/** The node could not be reached, timed out, or failed an RPC: retry later, keep the last data. */
export class ChainUnavailableError extends ChainError {
  override name = "ChainUnavailableError";
  readonly code = "chain_unavailable";
  constructor(
    message: string,
    readonly url: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The chain answered, but not in a shape this code understands (runtime changed under us). */
export class ChainDecodeError extends ChainError {
  override name = "ChainDecodeError";
  readonly code = "chain_decode";
}

/** Bad configuration (NETUID, gateway key, a subnet that does not exist). Retrying will not help. */
export class ChainConfigError extends ChainError {
  override name = "ChainConfigError";
  readonly code = "chain_config";
  /** The configuration variable at fault, when one is. */
  constructor(
    message: string,
    readonly variable?: string,
  ) {
    super(message);
  }
}

/**
 * The chain has another genesis than the one this subnet's settlements were recorded on (a
 * restarted local chain, SUBTENSOR_URL pointing elsewhere). Settling would compare epochs of two
 * different chains, so the run refuses until an operator resolves it (docs/local-subnet.md).
 */
export class ChainGenesisChangedError extends ChainError {
  override name = "ChainGenesisChangedError";
  readonly code = "chain_genesis_changed";
  constructor(
    readonly netuid: number,
    readonly recorded: string,
    readonly current: string,
  ) {
    super(
      `the chain's genesis changed for netuid ${netuid}: settlements in D1 were recorded on ${recorded}, the chain at SUBTENSOR_URL is ${current}. ` +
        `Settlement refuses to run: point SUBTENSOR_URL at the recorded chain, or (a restarted dev chain) start from a fresh D1 / delete the netuid's rows from settlement_chain and settlements.`,
    );
  }
}

/**
 * An extrinsic was included but its dispatch failed (or a sudo-wrapped call failed inside).
 * `error` is the pallet error key `section.name`, e.g. `subtensorModule.InvalidIpAddress`, or the
 * dispatch error's kind (`BadOrigin`, `Token.FundsUnavailable`, ...) when it is not a module error.
 */
export class ExtrinsicFailedError extends ChainError {
  override name = "ExtrinsicFailedError";
  readonly code = "chain_extrinsic_failed";
  constructor(
    readonly error: string,
    readonly call: string,
    readonly docs: string = "",
  ) {
    super(`${call} failed: ${error}${docs ? ` (${docs})` : ""}`);
  }
}
