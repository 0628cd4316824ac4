/**
 * The dev stack as the soak runs it: `startDevStack` (the same code as `npm run dev`: wrangler dev
 * with both Workers, local D1, Queue, R2 and Durable Objects) with the soak's miners registered,
 * the dev-only fault switch on and shorter miner timeouts, so a stalled miner costs seconds, not
 * the production minutes. The gateway's log is watched for what should never be there.
 */
import { listeningLoopbackPorts } from "../../bench/lib/procfs";
import { startDevStack, type DevStack, type DevVars } from "../../scripts/lib/dev-stack";
import type { Fleet } from "./fleet";
import { gatewayWorkerdPid } from "./memory";

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
];

export interface LogWatch {
  counts: Record<string, number>;
  samples: string[];
}

export interface SoakStack {
  stack: DevStack;
  log: LogWatch;
  /**
   * The Worker's own workerd socket (miniflare's entry), skipping wrangler dev's local proxy: the
   * closest local stand-in for production, which has no such hop (docs/soak.md, "Why not through
   * wrangler's proxy"). `stack.url` is the proxy.
   */
  workerUrl: string;
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
  try {
    return { stack, log, workerUrl: await workerSocket(stack) };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** Which of the Worker's workerd sockets serves the app: the one whose /health is the gateway's (its x-request-id). */
async function workerSocket(stack: DevStack): Promise<string> {
  for (const port of listeningLoopbackPorts(gatewayWorkerdPid(stack))) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200 && /^req_[0-9a-f]{32}$/.test(res.headers.get("x-request-id") ?? "")) return `http://127.0.0.1:${port}`;
    } catch {
      /* the inspector or another socket */
    }
  }
  throw new Error("soak: no socket of the Worker's workerd answers /health");
}
