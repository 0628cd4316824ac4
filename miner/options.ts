// Reference miner configuration: static options plus the runtime-tunable misbehaviour knobs
// that routing tests flip (all off by default, so a default miner is fast and honest).
import type { Sr25519Keypair } from "../src/protocol/keys";

export type MinerBehaviour = {
  /** Delay before the first token (ms). */
  ttftMs: number;
  /** Pace between tokens; Infinity = no pacing after the first token. */
  tokensPerSec: number;
  /** Probability (0..1) of an OpenAI-shaped HTTP 500 before any byte; drawn from the seeded PRNG. */
  failRate: number;
  /** Multiply reported usage by this factor (1 = honest). */
  overReport: number;
  /** Answer known-answer (canary) prompts wrongly. */
  garbage: boolean;
  /** Destroy the socket after this many tokens (no finish chunk, no [DONE]); undefined = off. */
  dropAfterTokens: number | undefined;
  /** Emit one invalid `data:` line mid-stream. */
  malformedStream: boolean;
  /**
   * Answer HTTP 500 (as if the miner crashed on it) to every inference request whose body contains
   * this text; undefined = off. Stands in for inputs that break every miner ("poisoned" requests).
   */
  failOnText: string | undefined;
  /**
   * The miner dies after this many streamed tokens reached the wire: every connection is cut
   * and the server stops listening (the CLI exits the process). undefined = off.
   */
  exitAfterTokens: number | undefined;
  /** After this many streamed tokens send nothing more, holding the connection open (0: nothing after the headers). */
  stallAfterTokens: number | undefined;
  /** After this many streamed tokens send an in-band `data: {"error":...}` event and end the stream (0: before any content). */
  errorEventAfterTokens: number | undefined;
  /** After this many streamed tokens send a chunk with `finish_reason: "error"`, then `[DONE]`. */
  finishErrorAfterTokens: number | undefined;
  /** Answer streams with `data: [DONE]` alone: a 200 event stream without any chunk. */
  emptyStream: boolean;
  /**
   * Inference requests served at once; later ones wait in a FIFO queue for a slot (after the
   * Epistula check), so time to first token grows with the queue, as on a saturated GPU server.
   * Infinity = no cap.
   */
  maxConcurrency: number;
};

export type MinerOptions = Partial<MinerBehaviour> & {
  /** Secret URI (e.g. "//Bob") or a ready keypair. */
  hotkey: string | Sr25519Keypair;
  /** Bind address; 127.0.0.1 by default (127.0.0.x works for chain tests: 127.0.0.1 cannot be served on chain). */
  host?: string;
  /** 0 = ephemeral. */
  port?: number;
  /** Served model ids; default demo/tiny-chat + demo/tiny-embed, or the upstream's list in proxy mode. */
  models?: readonly string[];
  /** OpenAI-compatible base URL including /v1 (vLLM, llama.cpp, Ollama): proxy mode. */
  upstream?: string;
  upstreamKey?: string;
  /** Allow-list of sender hotkeys (SS58); any signed sender when absent. */
  validators?: readonly string[];
  /** Seed of the failRate PRNG. */
  seed?: number;
  /** Verify Epistula (default true). false exists only so tests can use a miner as a plain upstream. */
  epistula?: boolean;
  /** Request body cap in bytes (default 4 MiB -> 413 above). */
  maxBodyBytes?: number;
  /** Epistula timestamp skew (ms), default 8000. */
  skewMs?: number;
  /**
   * What `exitAfterTokens` does once the tokens are out. Default: cut every connection and stop
   * listening (a library miner must not end its host process); the CLI exits the process.
   */
  onExit?: () => void;
  /** Log sink; silent by default. */
  log?: (line: string) => void;
};

export const DEFAULT_MODELS: readonly string[] = ["demo/tiny-chat", "demo/tiny-embed"];
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

export const DEFAULT_BEHAVIOUR: Readonly<MinerBehaviour> = {
  ttftMs: 20,
  tokensPerSec: 500,
  failRate: 0,
  overReport: 1,
  garbage: false,
  dropAfterTokens: undefined,
  malformedStream: false,
  failOnText: undefined,
  exitAfterTokens: undefined,
  stallAfterTokens: undefined,
  errorEventAfterTokens: undefined,
  finishErrorAfterTokens: undefined,
  emptyStream: false,
  maxConcurrency: Infinity,
};

/** The knobs that take a token count (undefined = off). */
const TOKEN_COUNT_KNOBS = ["dropAfterTokens", "exitAfterTokens", "stallAfterTokens", "errorEventAfterTokens", "finishErrorAfterTokens"] as const;

/** Validates knob values so a typo in a test or CLI flag fails loudly instead of silently. */
export function checkBehaviour(b: MinerBehaviour): MinerBehaviour {
  const bad = (what: string): never => {
    throw new RangeError(`invalid miner behaviour: ${what}`);
  };
  if (!(b.ttftMs >= 0) || !Number.isFinite(b.ttftMs)) bad(`ttftMs=${b.ttftMs}`);
  if (!(b.tokensPerSec > 0)) bad(`tokensPerSec=${b.tokensPerSec}`);
  if (!(b.failRate >= 0 && b.failRate <= 1)) bad(`failRate=${b.failRate}`);
  if (!(b.overReport > 0) || !Number.isFinite(b.overReport)) bad(`overReport=${b.overReport}`);
  for (const k of TOKEN_COUNT_KNOBS) {
    const v = b[k];
    if (v !== undefined && !(Number.isInteger(v) && v >= 0)) bad(`${k}=${v}`);
  }
  if (b.failOnText === "") bad("failOnText is empty");
  if (!(b.maxConcurrency >= 1) || !(Number.isInteger(b.maxConcurrency) || b.maxConcurrency === Infinity)) bad(`maxConcurrency=${b.maxConcurrency}`);
  return b;
}

/** Picks only the behaviour keys out of a partial (so unrelated option keys are not copied). */
export function pickBehaviour(p: Partial<MinerBehaviour>): Partial<MinerBehaviour> {
  const out: Partial<MinerBehaviour> = {};
  if (p.ttftMs !== undefined) out.ttftMs = p.ttftMs;
  if (p.tokensPerSec !== undefined) out.tokensPerSec = p.tokensPerSec;
  if (p.failRate !== undefined) out.failRate = p.failRate;
  if (p.overReport !== undefined) out.overReport = p.overReport;
  if (p.garbage !== undefined) out.garbage = p.garbage;
  for (const k of TOKEN_COUNT_KNOBS) if (k in p) out[k] = p[k];
  if (p.malformedStream !== undefined) out.malformedStream = p.malformedStream;
  if ("failOnText" in p) out.failOnText = p.failOnText;
  if (p.emptyStream !== undefined) out.emptyStream = p.emptyStream;
  if (p.maxConcurrency !== undefined) out.maxConcurrency = p.maxConcurrency;
  return out;
}
