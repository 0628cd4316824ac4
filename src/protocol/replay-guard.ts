// Remembers Epistula uuids for as long as their timestamps could still pass the skew check,
// so a captured request cannot be replayed. Memory is bounded twice: entries expire with the
// window, and a hard cap evicts the oldest insertions if legitimate traffic ever exceeds it
// (only signature-verified uuids are recorded, so a forger cannot fill it).

export type ReplayGuardOptions = {
  /** How long after its own timestamp a uuid must be remembered (use the verifier's skew). */
  windowMs?: number;
  /** Hard cap on remembered uuids. */
  maxEntries?: number;
  /** Clock, injectable for tests. */
  clock?: () => number;
};

export class ReplayGuard {
  readonly windowMs: number;
  readonly maxEntries: number;
  private readonly clock: () => number;
  /** uuid -> expiry (ms). Map iteration order = insertion order, which the cap eviction relies on. */
  private readonly seenUntil = new Map<string, number>();
  private lastSweep = Number.NEGATIVE_INFINITY;

  constructor(opts: ReplayGuardOptions = {}) {
    this.windowMs = opts.windowMs ?? 8000;
    this.maxEntries = opts.maxEntries ?? 100_000;
    this.clock = opts.clock ?? Date.now;
    if (!(this.windowMs > 0) || !(this.maxEntries > 0)) throw new RangeError("ReplayGuard: windowMs and maxEntries must be > 0");
  }

  get size(): number {
    return this.seenUntil.size;
  }

  /** True when the uuid was recorded and has not expired at `now`. */
  has(uuid: string, now: number = this.clock()): boolean {
    const until = this.seenUntil.get(uuid);
    return until !== undefined && until >= now;
  }

  /**
   * Atomically checks and records a uuid whose request carried `timestampMs`.
   * Returns false when it was already seen (a replay). Synchronous on purpose: callers that
   * awaited between `has()` and here still cannot let two concurrent duplicates both pass.
   */
  tryRecord(uuid: string, timestampMs: number, now: number = this.clock()): boolean {
    if (this.has(uuid, now)) return false;
    this.maybeSweep(now);
    if (this.seenUntil.size >= this.maxEntries) {
      const oldest = this.seenUntil.keys().next();
      if (!oldest.done) this.seenUntil.delete(oldest.value);
    }
    // Remember until the request's timestamp falls out of the window: after that the skew check
    // refuses the replay anyway. (The verifier requires windowMs >= its skew.)
    this.seenUntil.delete(uuid);
    this.seenUntil.set(uuid, timestampMs + this.windowMs);
    return true;
  }

  /** Drops expired entries. Amortised: runs at most every window/4 unless the cap is hit. */
  private maybeSweep(now: number): void {
    if (now - this.lastSweep < this.windowMs / 4 && this.seenUntil.size < this.maxEntries) return;
    this.lastSweep = now;
    for (const [uuid, until] of this.seenUntil) {
      if (until < now) this.seenUntil.delete(uuid);
    }
  }
}
