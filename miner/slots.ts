// The miner's concurrency cap: at most `limit()` inference requests are served at once; the rest
// wait in arrival order. The limit is read on every acquire/release so setBehaviour() applies
// to the queue at once.

export type Slots = {
  /** Resolves true once a slot is held, false if `signal` aborted while waiting. */
  acquire(signal: AbortSignal): Promise<boolean>;
  release(): void;
  /** Requests holding a slot now. */
  active(): number;
  /** Requests waiting for one. */
  waiting(): number;
};

export function createSlots(limit: () => number): Slots {
  let active = 0;
  const queue: Array<() => void> = [];

  const wake = (): void => {
    while (active < limit() && queue.length > 0) {
      active++;
      queue.shift()?.();
    }
  };

  return {
    acquire(signal) {
      if (signal.aborted) return Promise.resolve(false);
      if (active < limit() && queue.length === 0) {
        active++;
        return Promise.resolve(true);
      }
      return new Promise((resolve) => {
        const granted = (): void => {
          signal.removeEventListener("abort", onAbort);
          resolve(true);
        };
        const onAbort = (): void => {
          const i = queue.indexOf(granted);
          if (i >= 0) queue.splice(i, 1);
          resolve(false);
        };
        signal.addEventListener("abort", onAbort, { once: true });
        queue.push(granted);
      });
    },
    release() {
      active = Math.max(0, active - 1);
      wake();
    },
    active: () => active,
    waiting: () => queue.length,
  };
}
