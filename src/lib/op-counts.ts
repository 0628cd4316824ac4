/**
 * Platform operations this isolate made since it started: the calls Cloudflare bills one by one
 * (Durable Object calls, queue messages, R2 puts, D1 rows the usage writer wrote). Each is one
 * integer increment where the call is made, nothing more, so counting costs the request path
 * nothing measurable. The admin usage report shows them (`operations` in `GET /admin/usage`), so
 * `npm run bench` can derive the cost per request from what a run actually did instead of from
 * constants (docs/benchmarks.md).
 *
 * The counts are per isolate: in production an admin request reaches one isolate among many and
 * sees only that isolate's counts, and Durable Objects run in isolates of their own. Locally
 * (wrangler dev, the workerd tests) the gateway and its Durable Objects share one isolate, so one
 * report shows both sides of every call.
 */

/** What a SubscriberLimits object is asked (each one billed DO request; `alarm` too). */
export type LimitsObjectCall = "exchange" | "reserve" | "settle" | "release" | "renew" | "refresh" | "report" | "alarm";

export type OpName =
  /** Calls of the SubscriberLimits object, by method (src/billing/admission.ts). */
  | "limits.exchange"
  | "limits.reserve"
  | "limits.settle"
  | "limits.release"
  | "limits.renew"
  /** Served by the SubscriberLimits objects in this isolate: calls, and storage rows each kind wrote. */
  | `limits.object.${LimitsObjectCall}`
  | `limits.object.rows.${LimitsObjectCall}`
  /** A SubscriberLimits object's reads of the metered spend (limits-do.ts), and the D1 rows they read. */
  | "limits.object.metered_read"
  | "limits.object.metered_rows_read"
  /** MinerHealth: observation batches reported, and views read (admin). */
  | "health.report"
  | "health.snapshot"
  /** Served by the MinerHealth objects in this isolate: reports, and the storage rows they wrote. */
  | "health.object.report"
  | "health.object.rows"
  /** Usage batches sent to USAGE_QUEUE, and written directly when the queue refused one. */
  | "usage.queue_send"
  | "usage.direct_write"
  /** The queue consumer: invocations, messages acknowledged or retried. */
  | "usage.consumer_invocation"
  | "usage.consumer_ack"
  | "usage.consumer_retry"
  /** R2 PutObject of the raw archive, and what D1 reported for the rollups' transactions. */
  | "usage.r2_put"
  | "usage.d1_transaction"
  | "usage.d1_rows_written"
  | "usage.d1_rows_read";

const counts = new Map<OpName, number>();
/** When this isolate first counted or reported (Unix ms): a different value means a new isolate. */
let since = 0;

function start(): void {
  // Lazily: at module scope workerd's clock reads 0.
  if (since === 0) since = Date.now();
}

export function countOp(name: OpName, n = 1): void {
  start();
  counts.set(name, (counts.get(name) ?? 0) + n);
}

export interface OpCounts {
  since: number;
  counts: Partial<Record<OpName, number>>;
}

export function opCounts(): OpCounts {
  start();
  return { since, counts: Object.fromEntries(counts) };
}
