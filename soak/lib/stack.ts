/**
 * The dev stack as the soak runs it: `startDevStack` (the same code as `npm run dev`: wrangler dev
 * with both Workers, local D1, Queue, R2 and Durable Objects) with the soak's miners registered,
 * the dev-only fault switch on and shorter miner timeouts, so a stalled miner costs seconds, not
 * the production minutes. The gateway's log is watched for what should never be there.
 */
import { startDevStack, type DevStack, type DevVars } from "../../scripts/lib/dev-stack";
import type { Fleet } from "./fleet";

export const SOAK_VARS: DevVars = {
  DEV_FAULT_INJECTION: "true",
  FIRST_BYTE_TIMEOUT_MS: "2500",
  STREAM_IDLE_TIMEOUT_MS: "2500",
  MINER_TIMEOUT_MS: "15000",
  ROUTING_DEADLINE_MS: "15000",
  // A lease whose settle was lost (its limits object restarted) frees its slot within this.
  LEASE_TTL_MS: "15000",
};

/** Lines in the gateway's log that mean a bug or lost usage, by what they mean. */
const ALARMS: readonly [string, RegExp][] = [
  ["unhandled error (a 500)", /unhandled error on /],
  ["usage batch unrecorded (queue and direct write failed)", /usage-batch-unrecorded|could not be recorded \(queue and direct write failed\)/],
  ["uncaught exception", /Uncaught|uncaught exception/],
  ["worker restarted mid-request", /restarted mid-request/],
];

export interface LogWatch {
  counts: Record<string, number>;
  samples: string[];
}

export interface SoakStack {
  stack: DevStack;
  log: LogWatch;
}

export async function startSoakStack(fleet: Fleet, echo: boolean): Promise<SoakStack> {
  const stack = await startDevStack({
    externalMiners: fleet.all().map((m) => ({ hotkey: m.hotkey, url: m.url, models: m.models })),
    vars: SOAK_VARS,
    echo,
  });
  const log: LogWatch = { counts: Object.fromEntries(ALARMS.map(([name]) => [name, 0])), samples: [] };
  const watch = (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) {
      for (const [name, re] of ALARMS) {
        if (!re.test(line)) continue;
        log.counts[name] = (log.counts[name] ?? 0) + 1;
        if (log.samples.length < 20) log.samples.push(line.trim().slice(0, 300));
      }
    }
  };
  stack.gateway.child.stdout?.on("data", watch);
  stack.gateway.child.stderr?.on("data", watch);
  return { stack, log };
}
