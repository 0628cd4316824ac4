/**
 * Memory of the gateway's workerd (the process that runs the Worker, its queue consumer and its
 * Durable Objects, not wrangler's proxy), from /proc: resident set sampled through the run, and
 * the kernel's high-water mark (VmHWM) at the end.
 */
import { commandLine, descendants, peakRssKib, rssKib } from "../../bench/lib/procfs";
import type { DevStack } from "../../scripts/lib/dev-stack";

export function gatewayWorkerdPid(stack: DevStack): number {
  const port = new URL(stack.url).port;
  const workerds = descendants(stack.gateway.child.pid as number).filter((pid) => (commandLine(pid)[0] ?? "").endsWith("/workerd"));
  // wrangler's proxy workerd owns the public port; the other one runs the Worker.
  const worker = workerds.find((pid) => !commandLine(pid).some((a) => a === `--socket-addr=entry=127.0.0.1:${port}`));
  if (worker === undefined) throw new Error("soak: no workerd running the Worker under wrangler dev");
  return worker;
}

export interface MemorySampler {
  /** [seconds since start, RSS KiB] every `everyMs`. */
  samples: [number, number][];
  stop(): { hwmKib: number; rssEndKib: number; samples: [number, number][] };
}

export function sampleMemory(pid: number, everyMs: number): MemorySampler {
  const started = Date.now();
  const samples: [number, number][] = [];
  const take = () => samples.push([Math.round((Date.now() - started) / 1000), rssKib(pid)]);
  take();
  const timer = setInterval(take, everyMs);
  return {
    samples,
    stop() {
      clearInterval(timer);
      take();
      return { hwmKib: peakRssKib(pid), rssEndKib: rssKib(pid), samples };
    },
  };
}
