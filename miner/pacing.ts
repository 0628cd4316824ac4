// Timer-based pacing (never busy-waits). Items are due at start + ttft + i * interval; each tick
// emits everything already due, so high token rates stay accurate despite ~1 ms timer granularity.

export type Pacing = { ttftMs: number; tokensPerSec: number };

export function intervalMs(p: Pacing): number {
  return Number.isFinite(p.tokensPerSec) ? 1000 / p.tokensPerSec : 0;
}

/**
 * Calls `emit(i)` for i in [0, count) on schedule, then resolves true. Resolves false as soon as
 * `signal` aborts (timer cleared) or `emit` returns false (the caller stopped the stream).
 */
export function paced(count: number, pacing: Pacing, signal: AbortSignal, emit: (i: number) => boolean): Promise<boolean> {
  return new Promise((resolve) => {
    const start = performance.now();
    const step = intervalMs(pacing);
    let i = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const onAbort = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      resolve(false);
    };
    const finish = (ok: boolean): void => {
      signal.removeEventListener("abort", onAbort);
      resolve(ok);
    };
    const tick = (): void => {
      timer = undefined;
      if (signal.aborted) return;
      const now = performance.now();
      while (i < count && start + pacing.ttftMs + i * step <= now) {
        if (!emit(i++)) return finish(false);
      }
      if (i >= count) return finish(true);
      timer = setTimeout(tick, Math.max(0, start + pacing.ttftMs + i * step - now));
    };
    if (signal.aborted) return resolve(false);
    signal.addEventListener("abort", onAbort, { once: true });
    timer = setTimeout(tick, pacing.ttftMs);
  });
}

/** Waits as long as generating `count` tokens would take (non-streamed answers). */
export function generationDelay(count: number, pacing: Pacing, signal: AbortSignal): Promise<boolean> {
  const ms = pacing.ttftMs + Math.max(0, count - 1) * intervalMs(pacing);
  return paced(1, { ttftMs: ms, tokensPerSec: Infinity }, signal, () => true);
}
