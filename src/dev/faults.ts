/**
 * Dev-only fault injection for the soak suite (docs/soak.md): faults inside the Worker that no
 * outside process can cause on demand. It exists only when ENVIRONMENT is "development" AND
 * DEV_FAULT_INJECTION is "true"; wrangler.toml sets neither (production is "production"), so in
 * production every hook below is one string comparison that answers "no fault".
 *
 * Faults are armed by count through the admin API (src/http/routes/admin-dev.ts) and taken one at
 * a time where they strike:
 *   - usage_d1_write:        the consumer's D1 transaction for a delivery (all its batches) fails in
 *                            its middle (a real D1 error: a statement on a table that does not
 *                            exist), so D1 rolls its rollup rows back and every message of it is
 *                            retried, as on a D1 outage;
 *   - usage_redelivery:      the consumer records a batch, then asks the queue to deliver it again
 *                            (`retry` instead of `ack`): a redelivery of an already recorded batch;
 *   - usage_queue_late_copy: the isolate's queue send succeeds, then reports failure, so the isolate
 *                            records the batch directly while the queue's copy is consumed too.
 * Durable Object restarts are `devRestart()` on the objects themselves (limits-do.ts,
 * miner-health-do.ts), which check the same switch.
 *
 * State is per isolate (module state): wrangler dev runs the gateway, its queue consumer and its
 * Durable Objects in one isolate, which is where the soak uses it.
 */

/** What decides whether the switch is on: nothing else. */
export interface DevFaultVars {
  ENVIRONMENT?: string;
  DEV_FAULT_INJECTION?: string;
}

export const FAULT_KINDS = ["usage_d1_write", "usage_redelivery", "usage_queue_late_copy"] as const;
export type FaultKind = (typeof FAULT_KINDS)[number];

export function devFaultsEnabled(env: DevFaultVars): boolean {
  return env.ENVIRONMENT === "development" && env.DEV_FAULT_INJECTION === "true";
}

const zero = (): Record<FaultKind, number> => ({ usage_d1_write: 0, usage_redelivery: 0, usage_queue_late_copy: 0 });

const state = {
  armed: zero(),
  injected: zero(),
  /** Batches the consumer sent back to the queue after recording them, and how often each came back. */
  redelivered: new Map<string, number>(),
};

export interface FaultReport {
  armed: Record<FaultKind, number>;
  injected: Record<FaultKind, number>;
  /** Forced redeliveries whose batch the consumer has seen again (all of them, once the queue caught up). */
  redeliveries_seen_again: number;
}

export function faultReport(): FaultReport {
  return {
    armed: { ...state.armed },
    injected: { ...state.injected },
    redeliveries_seen_again: [...state.redelivered.values()].filter((n) => n > 0).length,
  };
}

/** Adds `counts` to what is armed (negative counts disarm, never below zero). */
export function armFaults(counts: Partial<Record<FaultKind, number>>): FaultReport {
  for (const kind of FAULT_KINDS) state.armed[kind] = Math.max(0, state.armed[kind] + (counts[kind] ?? 0));
  return faultReport();
}

/** The hooks of one isolate, or null when the switch is off (the production case). */
export interface DevFaults {
  /** Takes one armed fault of this kind: true means "inject it now". */
  take(kind: FaultKind): boolean;
  /** The consumer got a batch: counts it when it is one the consumer sent back itself. */
  delivered(batchId: string): void;
  /** The consumer sends this batch back after recording it (usage_redelivery). */
  redeliver(batchId: string): boolean;
}

const hooks: DevFaults = {
  take(kind) {
    if (state.armed[kind] <= 0) return false;
    state.armed[kind]--;
    state.injected[kind]++;
    return true;
  },
  delivered(batchId) {
    const seen = state.redelivered.get(batchId);
    if (seen !== undefined) state.redelivered.set(batchId, seen + 1);
  },
  redeliver(batchId) {
    if (!hooks.take("usage_redelivery")) return false;
    if (!state.redelivered.has(batchId)) state.redelivered.set(batchId, 0);
    return true;
  },
};

export function devFaults(env: DevFaultVars): DevFaults | null {
  return devFaultsEnabled(env) ? hooks : null;
}

/**
 * The same database, whose `batch` (one transaction) gets a failing statement just before its last
 * one: D1 runs the statements before it, hits a real error and rolls the whole transaction back.
 */
export function failingD1(db: D1Database): D1Database {
  const failing = db.prepare("INSERT INTO dev_fault_injection_no_such_table (x) VALUES (1)");
  return new Proxy(db, {
    get(target, prop) {
      if (prop === "batch") {
        return (statements: D1PreparedStatement[]) => target.batch([...statements.slice(0, -1), failing, ...statements.slice(-1)]);
      }
      const value: unknown = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}
