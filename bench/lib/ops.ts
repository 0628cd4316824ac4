/**
 * Reads what the gateway counted of its own billed operations (src/lib/op-counts.ts: the calls it
 * made, and locally also what its Durable Objects served and wrote, since they run in the same
 * isolate under wrangler dev) as one flat record, `isolate.<name>`, so a phase's cost is the
 * difference of two readings. `isolate.since` changes when the isolate restarted.
 */

export type Flat = Record<string, number>;

export interface Admin {
  url: string;
  token: string;
}

/** Null when the gateway does not answer in time (a wedged gateway must not stop the run). */
export async function readOps(a: Admin): Promise<Flat | null> {
  try {
    return await read(a);
  } catch (err) {
    process.stderr.write(`[bench] operation counters unreadable: ${err instanceof Error ? err.message : String(err)}\n`);
    return null;
  }
}

async function read(a: Admin): Promise<Flat> {
  // A `since` in the future: the usage report sums no rows; only the counters are wanted.
  const res = await fetch(`${a.url}/admin/usage?since=2100-01-01T00:00:00Z`, { headers: { authorization: `Bearer ${a.token}` }, signal: AbortSignal.timeout(30_000) });
  if (!res.ok) throw new Error(`GET /admin/usage: ${res.status} ${await res.text()}`);
  const { operations } = (await res.json()) as { operations: { since: number; counts: Record<string, number> } };
  const out: Flat = { "isolate.since": operations.since };
  for (const [k, v] of Object.entries(operations.counts)) out[`isolate.${k}`] = v;
  return out;
}
