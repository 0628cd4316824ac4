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
};

/** Validates knob values so a typo in a test or CLI flag fails loudly instead of silently. */
export function checkBehaviour(b: MinerBehaviour): MinerBehaviour {
  const bad = (what: string): never => {
    throw new RangeError(`invalid miner behaviour: ${what}`);
  };
  if (!(b.ttftMs >= 0) || !Number.isFinite(b.ttftMs)) bad(`ttftMs=${b.ttftMs}`);
  if (!(b.tokensPerSec > 0)) bad(`tokensPerSec=${b.tokensPerSec}`);
  if (!(b.failRate >= 0 && b.failRate <= 1)) bad(`failRate=${b.failRate}`);
  if (!(b.overReport > 0) || !Number.isFinite(b.overReport)) bad(`overReport=${b.overReport}`);
  if (b.dropAfterTokens !== undefined && !(Number.isInteger(b.dropAfterTokens) && b.dropAfterTokens >= 0)) {
    bad(`dropAfterTokens=${b.dropAfterTokens}`);
  }
  if (b.failOnText === "") bad("failOnText is empty");
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
  if ("dropAfterTokens" in p) out.dropAfterTokens = p.dropAfterTokens;
  if (p.malformedStream !== undefined) out.malformedStream = p.malformedStream;
  if ("failOnText" in p) out.failOnText = p.failOnText;
  return out;
}
