/**
 * Collects an isolate's usage events into batches and hands each batch off at once: after
 * `maxDelayMs`, at `maxEvents` events, or before the NDJSON would pass `maxChars` (the queue
 * bills per 64 KB and refuses messages over 128 KB). Each event is serialised once, here.
 *
 * Requests and workerd: no request ever awaits a promise another request created. In workerd a
 * request that does resumes inside the other request's context, and its next touch of its own I/O
 * fails with "Cannot perform I/O on behalf of a different request" (the benchmark found usage
 * batches left unrecorded that way under load). So a batch is sent in the context of a request
 * whose event is in it, and that request holds the send: the request that opened the batch sends
 * it from its own timer after `maxDelayMs` (unless someone already did), and a request that fills
 * it sends it at once. `add` resolves with the sends its caller is responsible for (the caller
 * keeps them alive with `waitUntil`): the opener's timer, a send it made; nothing for a request
 * that only joined a batch, whose opener is alive and will send it within `maxDelayMs`.
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

/**
 * Every batch costs one queue message, one R2 put and one D1 transaction (with a row per
 * subscriber and hour in it), so a longer wait makes each of those rarer per request; 200 ms keeps
 * usage reports and the limits object's view within a fraction of a second of the traffic.
 */
export const DEFAULT_BATCH_OPTIONS: BatcherOptions = { maxDelayMs: 200, maxEvents: 100, maxChars: 48_000 };

interface OpenBatch {
  lines: string[];
  chars: number;
  sent: boolean;
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

  /** Adds the event; resolves with the sends this caller made or owes (see above), rejects if one failed. */
  add(event: UsageEvent): Promise<void> {
    const json = JSON.stringify(event);
    const duties: Promise<void>[] = [];
    if (this.open && this.open.chars + json.length + 1 > this.opts.maxChars) duties.push(this.send(this.open));
    let batch = this.open;
    if (!batch) {
      batch = { lines: [], chars: 0, sent: false };
      this.open = batch;
      duties.push(this.sendLater(batch));
    }
    batch.lines.push(json);
    batch.chars += json.length + 1;
    if (batch.lines.length >= this.opts.maxEvents) duties.push(this.send(batch));
    return duties.length === 0 ? Promise.resolve() : Promise.all(duties).then(() => {});
  }

  /** Sends the open batch now, in the caller's context (an isolate about to go idle, tests). */
  flush(): Promise<void> {
    return this.open ? this.send(this.open) : Promise.resolve();
  }

  /** The opener's duty: its own timer sends the batch unless someone already did. */
  private sendLater(batch: OpenBatch): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      setTimeout(() => this.send(batch).then(resolve, reject), this.opts.maxDelayMs);
    });
  }

  /** Hands the batch off once; a second call (a timer after a filler sent it) does nothing. */
  private send(batch: OpenBatch): Promise<void> {
    if (batch.sent) return Promise.resolve();
    batch.sent = true;
    if (this.open === batch) this.open = null;
    return this.handoff({ id: this.newId(), flushedAt: this.now(), ndjson: batch.lines.join("\n") });
  }
}
