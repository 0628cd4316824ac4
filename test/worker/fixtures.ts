import type { JWK } from "jose";

/** What the Node-side global setup starts for the workerd tests, passed in as a binding. */
export interface MinerFixture {
  hotkey: string;
  url: string;
}

export interface Fixtures {
  /** Honest, fast reference miners. */
  healthy: MinerFixture[];
  /** Answers 500 to everything. */
  failing: MinerFixture;
  /** First token only after longer than FIRST_BYTE_TIMEOUT_MS / MINER_TIMEOUT_MS. */
  slow: MinerFixture;
  /** Emits an invalid `data:` line mid-stream. */
  malformed: MinerFixture;
  /** Cuts the connection after a few streamed tokens. */
  dropping: MinerFixture;
  /** Streams 4 tokens a second (`test/paced`): holds requests in flight for limit tests. */
  paced: MinerFixture;
  /** Honest and fast, serves `test/priced` for billing tests. */
  priced: MinerFixture;
  /** Reports 3x the tokens it produced (`test/over-report`). */
  overReporting: MinerFixture;
  /** Routing scenarios (models route/mix, route/honesty, route/canary): a fast honest miner, one
   * with 5x its time to first token, one failing 30% of requests, one reporting 2x its tokens,
   * and one answering known-answer prompts wrongly. */
  routing: { fast: MinerFixture; slow: MinerFixture; flaky: MinerFixture; overReporter: MinerFixture; garbage: MinerFixture };
  /** Miners answering 307 / 302 with a Location on an internal service; GET {internalUrl}/__hits counts what reached it. */
  redirecting: { internalUrl: string; temporary: MinerFixture; found: MinerFixture };
  /** Three honest miners (models test/poison, test/big-embed) that all answer 500 to any body containing `poisonPill`. */
  poisoned: MinerFixture[];
  poisonPill: string;
  /** Routing under load (models load/mix, load/saturating): fast (60 ms to first token), slow
   * (8x), flaky (30% 500s), a fast one capped at 4 concurrent requests (it queues beyond), and
   * the next best (3x slower, uncapped). */
  load: { fast: MinerFixture; slow: MinerFixture; flaky: MinerFixture; capped: MinerFixture; next: MinerFixture };
  /** Continuation (model cont/chat): an honest miner; miners whose streams break after 3 tokens
   * (connection cut, stall, in-band error, finish_reason "error", malformed event); and miners
   * whose streams fail before any content (empty, silent, error first, finish_reason "error" first). */
  continuation: {
    healthy: MinerFixture;
    midStream: Record<"drop" | "stall" | "errorEvent" | "finishError" | "malformed", MinerFixture>;
    beforeContent: Record<"empty" | "silent" | "errorFirst" | "finishErrorFirst", MinerFixture>;
  };
  /** Concurrency levels of the routing-under-load test (env ROUTING_LOAD_LEVELS, default "8"; `npm run test:routing-load`: "8,32"). */
  loadLevels: number[];
  /** Run the saturating-miner test (env ROUTING_LOAD_SATURATING=1, set by `npm run test:routing-load`). */
  loadSaturating: boolean;
  /** `GET ${minerStatsUrl}?hotkey=H`: that fixture miner's own counters (MinerStats of miner/context.ts). */
  minerStatsUrl: string;
  /** A loopback port nothing listens on. */
  unreachableUrl: string;
  jwksUrl: string;
  /** RS256 private key (JWK) matching the JWKS, for signing test tokens. */
  rsaPrivateJwk: JWK;
  /** Checks sr25519 signatures in Node with @polkadot/util-crypto; serves the Epistula vectors (test/support/sr25519-verifier.ts). */
  sr25519VerifierUrl: string;
}

declare module "vitest" {
  export interface ProvidedContext {
    fixtures: Fixtures;
  }
}
