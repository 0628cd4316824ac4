/**
 * One load phase with autocannon: fixed connections for a fixed time against one target, with
 * every response's latency kept (so interleaved rounds can be merged into exact percentiles).
 * With `rotate`, one header's value changes per request, cycling through a list (many API keys).
 */
import autocannon, { type RequestData } from "autocannon";

export interface LoadSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  connections: number;
  durationSec: number;
  rotate?: { header: string; values: readonly string[] };
}

export interface LoadResult {
  /** Latencies of 2xx responses, ms. */
  latenciesMs: number[];
  ok: number;
  /** Non-2xx answers, connection errors and timeouts. */
  failed: number;
  /** What the failures were: `status 503`, `timeout`, error messages. */
  failures: Record<string, number>;
  elapsedSec: number;
}

export function runLoad(spec: LoadSpec): Promise<LoadResult> {
  return new Promise((resolve, reject) => {
    const latenciesMs: number[] = [];
    let ok = 0;
    let non2xx = 0;
    const failures: Record<string, number> = {};
    const count = (what: string) => (failures[what] = (failures[what] ?? 0) + 1);
    const started = process.hrtime.bigint();
    const instance = autocannon(
      {
        url: spec.url,
        method: "POST",
        headers: spec.headers,
        body: spec.body,
        connections: spec.connections,
        pipelining: 1,
        duration: spec.durationSec,
        timeout: 30,
        requests: spec.rotate ? [{ setupRequest: rotating(spec.rotate) }] : undefined,
      },
      (err, result) => {
        if (err) return reject(err);
        const elapsedSec = Number(process.hrtime.bigint() - started) / 1e9;
        resolve({ latenciesMs, ok, failed: non2xx + result.errors, failures, elapsedSec });
      },
    );
    instance.on("response", (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) {
        ok++;
        latenciesMs.push(ms);
      } else {
        non2xx++;
        count(`status ${status}`);
      }
    });
    instance.on("reqError", (err: unknown) => count(err instanceof Error ? err.message : String(err)));
  });
}

/** A setupRequest that gives each request the next value of the header (shared by all connections). */
function rotating(rotate: { header: string; values: readonly string[] }): (req: RequestData) => RequestData {
  let next = Math.floor(Math.random() * rotate.values.length);
  return (req) => {
    const value = rotate.values[next++ % rotate.values.length] as string;
    return { ...req, headers: { ...req.headers, [rotate.header]: value } };
  };
}
