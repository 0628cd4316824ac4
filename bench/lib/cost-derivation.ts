/**
 * What one request cost the platform, line by line, from what the run counted (bench/lib/ops.ts)
 * rather than from constants: the operations a set of phases caused divided by the requests they
 * sent. Each line keeps the counters it came from, for the report's derivation table.
 */
import type { PriceKey, UsagePerRequest } from "./cost";
import type { Flat } from "./ops";

export interface DerivedLine {
  key: PriceKey;
  /** The counters summed for this line, as "name count" terms. */
  terms: { name: string; count: number }[];
  total: number;
}

export interface Derivation {
  requests: number;
  lines: DerivedLine[];
  usage: UsagePerRequest;
}

/** Limits-object calls that are the request path's traffic (not admin reads or plan refreshes). */
const LIMITS_CALLS = ["exchange", "reserve", "settle", "release", "renew"] as const;

/**
 * `ops`: the isolate's counter deltas over the phases (bench/lib/ops.ts); `cpuUsPerRequest`: the
 * Worker's measured CPU. Locally the Durable Objects run in the gateway's isolate, so their own
 * counts (calls served, rows written) are in `ops` too.
 */
export function deriveUsage(requests: number, cpuUsPerRequest: number, ops: Flat): Derivation {
  const n = (name: string) => ops[`isolate.${name}`] ?? 0;
  const term = (name: string) => ({ name, count: n(name) });
  const lines: DerivedLine[] = [];
  const line = (key: PriceKey, terms: { name: string; count: number }[]) => lines.push({ key, terms, total: terms.reduce((s, t) => s + t.count, 0) });

  line("workerRequests", [{ name: "requests sent", count: requests }, term("usage.consumer_invocation")]);
  line("workerCpuMs", []);
  line("d1RowsWritten", [term("usage.d1_rows_written")]);
  line("d1RowsRead", [term("usage.d1_rows_read")]);
  // A message under 64 KB is one operation to write, one per delivery to read, one to delete.
  line("queueOps", [
    term("usage.queue_send"),
    { name: "deliveries (usage.consumer_ack + usage.consumer_retry)", count: n("usage.consumer_ack") + n("usage.consumer_retry") },
    { name: "deletes (usage.consumer_ack)", count: n("usage.consumer_ack") },
  ]);
  line("r2ClassA", [term("usage.r2_put")]);
  // Calls as the caller counted them; alarms as the objects ran them.
  line("doRequests", [...LIMITS_CALLS.map((m) => term(`limits.${m}`)), term("limits.object.alarm"), term("health.report")]);
  line("doRowsWritten", [...LIMITS_CALLS.map((m) => term(`limits.object.rows.${m}`)), term("limits.object.rows.alarm"), term("health.object.rows")]);

  const perRequest = (count: number): bigint => (requests > 0 ? BigInt(Math.round((count * 1000) / requests)) : 0n);
  const total = (key: PriceKey) => lines.find((l) => l.key === key)?.total ?? 0;
  const usage: UsagePerRequest = {
    workerRequests: perRequest(total("workerRequests")),
    workerCpuMs: BigInt(Math.round(Number.isFinite(cpuUsPerRequest) ? cpuUsPerRequest : 0)), // µs = milli-CPU-ms
    d1RowsWritten: perRequest(total("d1RowsWritten")),
    d1RowsRead: perRequest(total("d1RowsRead")),
    queueOps: perRequest(total("queueOps")),
    r2ClassA: perRequest(total("r2ClassA")),
    doRequests: perRequest(total("doRequests")),
    doRowsWritten: perRequest(total("doRowsWritten")),
  };
  return { requests, lines, usage };
}
