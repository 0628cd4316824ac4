/**
 * Collects an isolate's usage events into batches and hands each batch off at once: after
 * `maxDelayMs`, at `maxEvents` events, or before the NDJSON would pass `maxChars` (the queue
 * bills per 64 KB and refuses messages over 128 KB). Each event is serialised once, here.
 *
 * `add` resolves when the event's batch was handed off durably (the queue took it, or the
 * fallback wrote it), so the request that registered the meter's `settled` with `waitUntil`
 * keeps the isolate alive until then. Requests and workerd: the batch's promise is created in
 * the context of the request that opened the batch, and every request in the batch awaits that
 * one promise. workerd tracks an await of another request's promise as pending work of the
 * awaiting request (a promise of its own, resolved from elsewhere, would look hung and be
 * cancelled). The batch's I/O runs in the context of a request whose event is in it (the
 * opener's timer, or the request that filled it), and the opener stays alive until it is done.
 */
import type { UsageEvent } from "./usage-event";
import type { UsageBatch } from "./usage-batch";

export interface BatcherOptions {
  maxDelayMs: number;
  maxEvents: number;
  maxChars: number;
  now?: () => number;
  newId?: () => string;
}

/** Hands one batch off; rejects only when the batch could not be recorded at all. */
export type BatchHandoff = (batch: UsageBatch) => Promise<void>;

export const DEFAULT_BATCH_OPTIONS: BatcherOptions = { maxDelayMs: 50, maxEvents: 100, maxChars: 48_000 };

interface OpenBatch {
  lines: string[];
  chars: number;
  sent: boolean;
  done: Promise<void>;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class UsageBatcher {
  private open: OpenBatch | null = null;
  private readonly now: () => number;
  private readonly newId: () => string;

  constructor(
    private readonly handoff: BatchHandoff,
    private readonly opts: BatcherOptions = DEFAULT_BATCH_OPTIONS,
  ) {
    this.now = opts.now ?? Date.now;
    this.newId = opts.newId ?? (() => `ub_${crypto.randomUUID().replace(/-/g, "")}`);
  }

  /** Events waiting in the open batch (for tests and logs). */
  get pending(): number {
    return this.open?.lines.length ?? 0;
  }

  add(event: UsageEvent): Promise<void> {
    const json = JSON.stringify(event);
    if (this.open && this.open.chars + json.length + 1 > this.opts.maxChars) this.send(this.open);
    const batch = this.open ?? this.start();
    batch.lines.push(json);
    batch.chars += json.length + 1;
    if (batch.lines.length >= this.opts.maxEvents) this.send(batch);
    return batch.done;
  }

  /** Sends the open batch now (an isolate that knows it is about to go idle, tests). */
  flush(): void {
    if (this.open) this.send(this.open);
  }

  private start(): OpenBatch {
    let resolve!: () => void;
    let reject!: (err: unknown) => void;
    const done = new Promise<void>((res, rej) => {
      resolve = res;
      reject = rej;
    });
    const batch: OpenBatch = { lines: [], chars: 0, sent: false, done, resolve, reject };
    this.open = batch;
    // Never cleared: sending is idempotent per batch, and a timer belongs to the request that set it.
    setTimeout(() => this.send(batch), this.opts.maxDelayMs);
    return batch;
  }

  private send(batch: OpenBatch): void {
    if (batch.sent) return;
    batch.sent = true;
    if (this.open === batch) this.open = null;
    const out: UsageBatch = { id: this.newId(), flushedAt: this.now(), ndjson: batch.lines.join("\n") };
    this.handoff(out).then(batch.resolve, batch.reject);
  }
}
