// Connection to a Subtensor node. Loaded lazily (scheduled handler, scripts): @polkadot/api is
// ~1.9 MiB and slow to initialise, so it must never sit on the request path.
// First import, on purpose: see polkadot-crypto.ts (no WebAssembly crypto, and no FATAL log).
import "./polkadot-crypto";
import { ApiPromise, HttpProvider, WsProvider } from "@polkadot/api";
import { ChainConfigError, ChainUnavailableError } from "./errors";
import { withTimeout } from "./timeout";

/** Public finney (mainnet) entrypoint. */
export const DEFAULT_SUBTENSOR_URL = "wss://entrypoint-finney.opentensor.ai:443";

export type ConnectOptions = {
  /** Deadline for connecting and loading metadata (default 20 s). */
  timeoutMs?: number;
  /** Per-RPC deadline of the WebSocket provider (default 30 s). */
  requestTimeoutMs?: number;
};

const DEFAULT_CONNECT_TIMEOUT_MS = 20_000;
const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
// Reconnect delay of the WebSocket provider; reconnects only matter for long-lived scripts.
const WS_RECONNECT_MS = 2_500;

function createProvider(url: string, requestTimeoutMs: number): WsProvider | HttpProvider {
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    throw new ChainConfigError(`invalid Subtensor URL ${JSON.stringify(url)}`);
  }
  if (scheme === "ws:" || scheme === "wss:") return new WsProvider(url, WS_RECONNECT_MS, {}, requestTimeoutMs);
  if (scheme === "http:" || scheme === "https:") return new HttpProvider(url);
  throw new ChainConfigError(`unsupported Subtensor URL scheme ${scheme} (use ws, wss, http or https)`);
}

/**
 * Connects and waits until the api has loaded the runtime metadata, or throws
 * ChainUnavailableError after `timeoutMs` (ApiPromise.create would otherwise wait forever).
 * A malformed URL or an unsupported scheme is a ChainConfigError (retrying will not help).
 * The caller owns the returned api and must `disconnectSubtensor` it.
 */
export async function connectSubtensor(url: string, opts: ConnectOptions = {}): Promise<ApiPromise> {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS;
  const provider = createProvider(url, opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS);
  // initWasm: false — workerd cannot compile WebAssembly from bytes, and with the wasm crypto
  // missing ApiPromise silently never becomes ready. Pure-JS sr25519/hashing is used instead.
  const api = new ApiPromise({ provider, initWasm: false, noInitWarn: true });
  try {
    await withTimeout(
      api.isReadyOrError,
      timeoutMs,
      () => new ChainUnavailableError(`Subtensor at ${url} not ready within ${timeoutMs} ms`, url),
    );
    return api;
  } catch (err) {
    await disconnectSubtensor(api);
    if (err instanceof ChainUnavailableError) throw err;
    throw new ChainUnavailableError(`cannot connect to Subtensor at ${url}: ${describe(err)}`, url, { cause: err });
  }
}

/** Closes the connection; never throws (used in finally blocks). */
export async function disconnectSubtensor(api: ApiPromise): Promise<void> {
  try {
    await api.disconnect();
  } catch {
    // Already closed or never opened: nothing left to release.
  }
}

function describe(err: unknown): string {
  if (err instanceof Error) return err.message;
  // The WebSocket provider rejects with the raw `error` Event, which has no message.
  if (typeof err === "object" && err !== null && "type" in err) return `websocket ${String(err.type)}`;
  return String(err);
}
