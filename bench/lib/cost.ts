/**
 * Infrastructure cost per million requests at Cloudflare's list prices, in integer micro-USD.
 * Marginal prices past each plan's included allowance (Workers Paid, $5/month base not counted):
 * what the millionth-and-one request costs, which is what scales with traffic.
 */

export interface PriceLine {
  what: string;
  unit: string;
  /** micro-USD per million units */
  microUsdPerMillion: bigint;
  source: string;
}

/** Read 2026-11-24 from Cloudflare's pricing pages (developers.cloudflare.com, "Pricing" of each product). */
export const PRICES_READ_ON = "2026-11-24";
export const PRICES = {
  workerRequests: { what: "Workers requests", unit: "request", microUsdPerMillion: 300_000n, source: "developers.cloudflare.com/workers/platform/pricing/" },
  workerCpuMs: { what: "Workers CPU time", unit: "CPU-ms", microUsdPerMillion: 20_000n, source: "developers.cloudflare.com/workers/platform/pricing/" },
  d1RowsWritten: { what: "D1 rows written", unit: "row", microUsdPerMillion: 1_000_000n, source: "developers.cloudflare.com/d1/platform/pricing/" },
  d1RowsRead: { what: "D1 rows read", unit: "row", microUsdPerMillion: 1_000n, source: "developers.cloudflare.com/d1/platform/pricing/" },
  queueOps: { what: "Queues operations (per 64 KB written, read or deleted)", unit: "operation", microUsdPerMillion: 400_000n, source: "developers.cloudflare.com/queues/platform/pricing/" },
  r2ClassA: { what: "R2 Class A operations (PutObject)", unit: "operation", microUsdPerMillion: 4_500_000n, source: "developers.cloudflare.com/r2/pricing/" },
  doRequests: { what: "Durable Objects requests", unit: "request", microUsdPerMillion: 150_000n, source: "developers.cloudflare.com/durable-objects/platform/pricing/" },
  doRowsWritten: { what: "Durable Objects SQLite storage rows written", unit: "row", microUsdPerMillion: 1_000_000n, source: "developers.cloudflare.com/durable-objects/platform/pricing/" },
} as const satisfies Record<string, PriceLine>;

export type PriceKey = keyof typeof PRICES;

/**
 * What one request consumes, per line, as milli-units (thousandths) so fractional figures such as
 * 0.412 CPU-ms or 1/100 of a consumer invocation stay integers.
 */
export type UsagePerRequest = Record<PriceKey, bigint>;

export interface CostLine {
  key: PriceKey;
  milliUnitsPerRequest: bigint;
  /** micro-USD for one million requests */
  microUsd: bigint;
}

/** Rounded half up to whole micro-USD. */
export function costPerMillionRequests(usage: UsagePerRequest): { lines: CostLine[]; totalMicroUsd: bigint } {
  const lines = (Object.keys(PRICES) as PriceKey[]).map((key) => {
    const milli = usage[key];
    // units per million requests = milli * 1e6 / 1e3 = milli * 1000; cost = units * price / 1e6.
    const microUsd = (milli * 1000n * PRICES[key].microUsdPerMillion + 500_000n) / 1_000_000n;
    return { key, milliUnitsPerRequest: milli, microUsd };
  });
  return { lines, totalMicroUsd: lines.reduce((s, l) => s + l.microUsd, 0n) };
}

/** "$1.234567" from micro-USD. */
export function usd(microUsd: bigint): string {
  const neg = microUsd < 0n;
  const v = neg ? -microUsd : microUsd;
  return `${neg ? "-" : ""}$${v / 1_000_000n}.${(v % 1_000_000n).toString().padStart(6, "0")}`;
}

/** Thousandths as a decimal string: 1234n -> "1.234". */
export function milli(v: bigint): string {
  return `${v / 1000n}.${(v % 1000n).toString().padStart(3, "0")}`;
}
