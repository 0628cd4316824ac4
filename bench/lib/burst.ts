/**
 * `size` requests sent at once on one connection each (node:http, no reuse between bursts), and
 * for every answer its latency and the gateway's own admission time from
 * `server-timing: admission;dur=<ms>` (src/billing/admission.ts). workerd's clock advances only
 * across I/O, so an admission from the isolate's grant book reads 0 and one that waited for the
 * limits object reads the time it waited.
 */
import { Agent, request } from "node:http";

export interface BurstSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  size: number;
  /** A request not answered in full by then fails as "timeout" (autocannon's phases use 30 s too). */
  timeoutMs?: number;
}

export interface BurstResult {
  latenciesMs: number[];
  admissionMs: number[];
  ok: number;
  failed: number;
  failures: Record<string, number>;
}

const ADMISSION = /(?:^|,)\s*admission;dur=([0-9.]+)/;
const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export async function runBurst(spec: BurstSpec): Promise<BurstResult> {
  const agent = new Agent({ keepAlive: false, maxSockets: spec.size });
  const out: BurstResult = { latenciesMs: [], admissionMs: [], ok: 0, failed: 0, failures: {} };
  const fail = (what: string) => {
    out.failed++;
    out.failures[what] = (out.failures[what] ?? 0) + 1;
  };
  const one = () =>
    new Promise<void>((resolve) => {
      const started = nowMs();
      let settled = false;
      const done = (what: string | null) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (what !== null) fail(what);
        resolve();
      };
      const req = request(spec.url, { method: "POST", agent, headers: { ...spec.headers, "content-length": Buffer.byteLength(spec.body) } }, (res) => {
        const timing = res.headers["server-timing"];
        const m = typeof timing === "string" ? ADMISSION.exec(timing) : null;
        res.resume();
        res.once("end", () => {
          if (settled) return;
          if (res.statusCode !== 200) return done(`status ${res.statusCode}`);
          out.ok++;
          out.latenciesMs.push(nowMs() - started);
          // Answered without the header: counted, and listed so the report shows it.
          if (m) out.admissionMs.push(Number(m[1]));
          else out.failures["200 without admission timing"] = (out.failures["200 without admission timing"] ?? 0) + 1;
          done(null);
        });
        res.once("error", (err) => done(err.message));
      });
      req.once("error", (err) => done(err.message));
      // A request that never ends must not hold the whole run.
      const timer = setTimeout(() => {
        done("timeout");
        req.destroy();
      }, spec.timeoutMs ?? 30_000);
      req.end(spec.body);
    });
  await Promise.all(Array.from({ length: spec.size }, one));
  agent.destroy();
  return out;
}
