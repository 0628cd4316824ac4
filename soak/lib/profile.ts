/**
 * How big a soak is: the full run (`npm run soak`, >= 10,000 requests, minutes) and the smoke run
 * (`npm run soak:smoke` and test/e2e/soak-smoke.test.ts, a few hundred requests). Both inject
 * every kind of fault; the smoke run just has fewer of each.
 */
import type { MinerFaultKind } from "./faults";

export interface SubscriberGroup {
  /** Plan id (lib/subscribers.ts creates the soak's own plans). */
  plan: string;
  count: number;
  keysEach: number;
  /** Share of the traffic this group sends. */
  share: number;
}

export interface Profile {
  name: "full" | "smoke";
  seed: number;
  /** Requests of the traffic phase (probes and the final checks come on top). */
  requests: number;
  /** Arrivals per second (open loop), and the most requests the client keeps in flight. */
  ratePerSec: number;
  maxInFlight: number;
  /** Reference miner processes serving the chat and embedding models. */
  miners: number;
  groups: SubscriberGroup[];
  streamShare: number;
  abortShare: number;
  /** A new miner fault every this many ms, lasting within `episodeMs`, at most `maxFaulty` miners at once. */
  minerFaultEveryMs: number;
  episodeMs: [number, number];
  maxFaulty: number;
  /** Miner fault kinds in the order they are first used (then the list repeats). */
  minerFaults: readonly MinerFaultKind[];
  /** A fault inside the Worker (D1, queue, Durable Object) every this many ms. */
  workerFaultEveryMs: number;
  /** A concurrency probe wave every this many ms, alternating the small and the sliced plan. */
  waveEveryMs: number;
  /** The budget plan's allowance: small enough that its subscribers spend it mid-run. */
  budgetMicroUsd: number;
}

const ALL_MINER_FAULTS: readonly MinerFaultKind[] = [
  "kill",
  "stall",
  "redirect-307",
  "junk",
  "error-event",
  "kill-reregister",
  "exit",
  "redirect-302",
  "malformed",
  "drop",
  "finish-error",
  "fail-rate",
  "empty",
  "slow",
];

export const FULL: Profile = {
  name: "full",
  seed: 15,
  requests: 10_000,
  ratePerSec: 20,
  maxInFlight: 48,
  miners: 5,
  groups: [
    { plan: "free", count: 5, keysEach: 1, share: 0.15 },
    { plan: "soak-budget", count: 2, keysEach: 1, share: 0.04 },
    { plan: "pro", count: 30, keysEach: 2, share: 0.41 },
    { plan: "unlimited", count: 40, keysEach: 1, share: 0.4 },
  ],
  streamShare: 0.5,
  abortShare: 0.08,
  minerFaultEveryMs: 6_000,
  episodeMs: [5_000, 12_000],
  maxFaulty: 2,
  minerFaults: ALL_MINER_FAULTS,
  workerFaultEveryMs: 5_000,
  waveEveryMs: 15_000,
  budgetMicroUsd: 1_500,
};

export const SMOKE: Profile = {
  name: "smoke",
  seed: 15,
  requests: 360,
  ratePerSec: 15,
  maxInFlight: 24,
  miners: 4,
  groups: [
    { plan: "free", count: 2, keysEach: 1, share: 0.2 },
    { plan: "soak-budget", count: 1, keysEach: 1, share: 0.1 },
    { plan: "pro", count: 5, keysEach: 2, share: 0.35 },
    { plan: "unlimited", count: 6, keysEach: 1, share: 0.35 },
  ],
  streamShare: 0.5,
  abortShare: 0.1,
  minerFaultEveryMs: 2_500,
  episodeMs: [2_000, 4_000],
  maxFaulty: 2,
  minerFaults: ["kill", "stall", "redirect-307", "junk", "error-event", "kill-reregister", "exit", "redirect-302", "malformed"],
  workerFaultEveryMs: 1_500,
  waveEveryMs: 6_000,
  budgetMicroUsd: 200,
};
