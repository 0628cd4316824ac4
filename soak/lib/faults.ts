/**
 * The fault schedule, run alongside the traffic until it stops:
 *   - miner faults, one new episode every `minerFaultEveryMs` on a miner that is healthy (at most
 *     `maxFaulty` at once), each ending with a healthy miner back on the slot: SIGKILL and restart
 *     on the same hotkey and port, SIGKILL and re-registration on a new port, a restart with a
 *     misbehaviour knob (stall, in-band error, finish_reason error, malformed or empty stream,
 *     dropped connection, the process exiting mid-stream, 5xx, first byte too late), or the
 *     address taken over by a redirect (must be refused as a miner failure) or junk;
 *   - faults inside the Worker through the dev-only switch (src/dev/faults.ts), in turn: a D1
 *     write failure in the usage consumer, a redelivery of a recorded batch, a queue send that
 *     succeeded but reported failure, a restart of a subscriber's limits Durable Object, a
 *     restart of a model's routing-health Durable Object.
 * Each injected fault is counted; nothing is counted that did not happen.
 */
import { rngFromSeed, type Rng } from "../../miner/prng";
import type { Admin } from "./admin";
import { CHAT_MODEL, EMBED_MODEL } from "./dialects";
import type { Fleet, MinerSlot } from "./fleet";
import type { Listening } from "./impostors";
import type { Profile } from "./profile";
import type { Subscribers } from "./subscribers";

export type MinerFaultKind =
  | "kill"
  | "kill-reregister"
  | "stall"
  | "error-event"
  | "finish-error"
  | "malformed"
  | "drop"
  | "exit"
  | "fail-rate"
  | "empty"
  | "slow"
  | "redirect-307"
  | "redirect-302"
  | "junk";

/** Reference miner flags of each knob fault (docs/reference-miner.md). */
const KNOBS: Partial<Record<MinerFaultKind, (n: number) => string[]>> = {
  stall: () => ["--stall-after-tokens", "2"],
  "error-event": () => ["--error-event-after-tokens", "3"],
  "finish-error": () => ["--finish-error-after-tokens", "3"],
  malformed: () => ["--malformed-stream"],
  drop: () => ["--drop-after-tokens", "4"],
  exit: () => ["--exit-after-tokens", "5"],
  "fail-rate": (n) => ["--fail-rate", "0.5", "--seed", String(n)],
  empty: () => ["--empty-stream"],
  // Past the soak's FIRST_BYTE_TIMEOUT_MS (lib/stack.ts).
  slow: () => ["--ttft-ms", "4000"],
};

export type WorkerFaultKind = "usage_d1_write" | "usage_redelivery" | "usage_queue_late_copy" | "limits_do_restart" | "miner_health_do_restart";
const WORKER_FAULTS: readonly WorkerFaultKind[] = ["usage_d1_write", "limits_do_restart", "usage_redelivery", "miner_health_do_restart", "usage_queue_late_copy"];

export interface FaultCounts {
  miner: Partial<Record<MinerFaultKind, number>>;
  /** Worker faults asked for; D1/queue faults strike when a batch passes, see `struck`. */
  worker: Partial<Record<WorkerFaultKind, number>>;
  /** Durable Object restarts the object confirmed. */
  restartsConfirmed: number;
  /** Faults that failed to inject (logged), e.g. an admin call that failed. */
  errors: string[];
}

export interface FaultRun {
  counts: FaultCounts;
  /** Every miner fault kind of the profile and every Worker fault has struck at least once. */
  covered(): boolean;
  /** Stops scheduling, ends running episodes (every slot healthy again) and disarms what is armed. */
  stop(): Promise<void>;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export function startFaults(opts: { profile: Profile; fleet: Fleet; admin: Admin; internal: Listening; subs: Subscribers; log: (line: string) => void }): FaultRun {
  const { profile, fleet, admin, internal, subs, log } = opts;
  const rng: Rng = rngFromSeed(profile.seed + 1);
  const counts: FaultCounts = { miner: {}, worker: {}, restartsConfirmed: 0, errors: [] };
  const faulty = new Set<MinerSlot>();
  const episodes = new Set<Promise<void>>();
  let stopping = false;
  let minerTurn = 0;
  let workerTurn = 0;
  /** The switch's own count of D1 and queue faults that struck (polled). */
  let struck: Record<string, number> = {};
  const wake = new Set<() => void>();
  const nap = (ms: number) =>
    new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(t);
        wake.delete(done);
        resolve();
      };
      const t = setTimeout(done, ms);
      wake.add(done);
    });

  async function episode(slot: MinerSlot, kind: MinerFaultKind, ms: number): Promise<void> {
    const n = (counts.miner[kind] = (counts.miner[kind] ?? 0) + 1);
    log(`fault: ${kind} on ${slot.name} for ${ms} ms`);
    try {
      if (kind === "kill") {
        await slot.kill();
        await nap(ms);
      } else if (kind === "kill-reregister") {
        await slot.kill();
        await nap(ms / 2);
        await slot.moveAndReregister(admin);
        await nap(ms / 2);
      } else if (kind === "redirect-307" || kind === "redirect-302" || kind === "junk") {
        await slot.impersonate(kind, internal.url);
        await nap(ms);
      } else {
        await slot.start(KNOBS[kind]?.(n) ?? []);
        await nap(ms);
      }
    } catch (err) {
      counts.errors.push(`${kind} on ${slot.name}: ${String(err)}`);
    } finally {
      try {
        await slot.start();
      } catch (err) {
        counts.errors.push(`restoring ${slot.name}: ${String(err)}`);
      }
      faulty.delete(slot);
    }
  }

  async function minerLoop(): Promise<void> {
    while (!stopping) {
      await nap(profile.minerFaultEveryMs);
      if (stopping) break;
      const healthy = fleet.miners.filter((m) => !faulty.has(m));
      if (faulty.size >= profile.maxFaulty || healthy.length === 0) continue;
      const slot = rng.pick(healthy);
      const kind = profile.minerFaults[minerTurn++ % profile.minerFaults.length]!;
      const [lo, hi] = profile.episodeMs;
      faulty.add(slot);
      const e = episode(slot, kind, lo + rng.int(hi - lo + 1));
      episodes.add(e);
      void e.finally(() => episodes.delete(e));
    }
  }

  async function workerFault(kind: WorkerFaultKind): Promise<void> {
    counts.worker[kind] = (counts.worker[kind] ?? 0) + 1;
    try {
      if (kind === "limits_do_restart") {
        // A subscriber with traffic right now: the small plan's (leases) and the sliced plans' (grant books) in turn.
        const group = subs.groups[(counts.worker[kind] ?? 0) % subs.groups.length]!;
        const sub = rng.pick(group.members);
        const r = await admin.call<{ restarted: boolean }>("POST", `/admin/dev/restart/limits/${sub.id}`);
        if (r.restarted) counts.restartsConfirmed++;
      } else if (kind === "miner_health_do_restart") {
        const model = rng.next() < 0.7 ? CHAT_MODEL : EMBED_MODEL;
        const r = await admin.call<{ restarted: boolean }>("POST", `/admin/dev/restart/miner-health/${model}`);
        if (r.restarted) counts.restartsConfirmed++;
      } else {
        await admin.call("POST", "/admin/dev/faults", { [kind]: kind === "usage_queue_late_copy" ? 1 : 2 });
      }
    } catch (err) {
      counts.errors.push(`${kind}: ${String(err)}`);
    }
  }

  async function workerLoop(): Promise<void> {
    while (!stopping) {
      await nap(profile.workerFaultEveryMs);
      if (stopping) break;
      await workerFault(WORKER_FAULTS[workerTurn++ % WORKER_FAULTS.length]!);
      struck = (await admin.call<{ injected: Record<string, number> }>("GET", "/admin/dev/faults").catch(() => ({ injected: struck }))).injected;
    }
  }

  const covered = () =>
    profile.minerFaults.every((k) => (counts.miner[k] ?? 0) > 0) &&
    WORKER_FAULTS.every((k) => (counts.worker[k] ?? 0) > 0) &&
    ["usage_d1_write", "usage_redelivery", "usage_queue_late_copy"].every((k) => (struck[k] ?? 0) > 0) &&
    counts.restartsConfirmed > 0;

  const loops = Promise.all([minerLoop(), workerLoop()]);
  return {
    counts,
    covered,
    async stop() {
      stopping = true;
      for (const w of [...wake]) w();
      await loops;
      await Promise.all([...episodes]);
      // Whatever is still armed would strike the final checks: disarm it.
      const report = await admin.call<{ armed: Record<string, number> }>("GET", "/admin/dev/faults");
      await admin.call("POST", "/admin/dev/faults", Object.fromEntries(Object.entries(report.armed).map(([k, v]) => [k, -v])));
      await sleep(0);
    },
  };
}
