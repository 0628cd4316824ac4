/**
 * A small measuring client for streamed chat (measurement, not load generation: autocannon cannot
 * see inside a response). Over node:http with keep-alive it records, per stream, the time from
 * sending the request to the first SSE event carrying text (TTFT) and the gaps between successive
 * text events, and checks that the stream ended with `[DONE]`.
 */
import { Agent, request } from "node:http";

export interface StreamSpec {
  url: string;
  headers: Record<string, string>;
  body: string;
  /** Streams open at once. */
  concurrency: number;
  /** Streams in total for this phase. */
  count: number;
}

export interface StreamResult {
  ttftMs: number[];
  gapsMs: number[];
  totalMs: number[];
  ok: number;
  failed: number;
}

const nowMs = (): number => Number(process.hrtime.bigint()) / 1e6;
/** A stream not finished by then fails (the paced upstream's take well under a second). */
const STREAM_TIMEOUT_MS = 60_000;

function oneStream(agent: Agent, spec: StreamSpec, out: StreamResult): Promise<void> {
  return new Promise((resolve) => {
    const started = nowMs();
    let first: number | null = null;
    let last = 0;
    let buffer = "";
    let done = false;
    const gaps: number[] = [];
    let settled = false;
    const fail = () => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      out.failed++;
      resolve();
    };
    const req = request(spec.url, { method: "POST", agent, headers: { ...spec.headers, "content-length": Buffer.byteLength(spec.body) } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        res.once("end", fail);
        return;
      }
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        const at = nowMs();
        buffer += chunk;
        let cut: number;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const event = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = event.startsWith("data: ") ? event.slice(6) : "";
          if (data === "[DONE]") {
            done = true;
            continue;
          }
          if (!data.includes('"content":"') || data.includes('"content":""')) continue;
          if (first === null) first = at;
          else gaps.push(at - last);
          last = at;
        }
      });
      res.once("end", () => {
        if (settled) return;
        if (!done || first === null) return fail();
        settled = true;
        clearTimeout(timer);
        out.ok++;
        out.ttftMs.push(first - started);
        out.totalMs.push(nowMs() - started);
        for (const g of gaps) out.gapsMs.push(g);
        resolve();
      });
      res.once("error", fail);
    });
    req.once("error", fail);
    // A stream that never ends must not hold the whole run.
    const timer = setTimeout(() => {
      fail();
      req.destroy();
    }, STREAM_TIMEOUT_MS);
    req.end(spec.body);
  });
}

export async function runStreams(spec: StreamSpec): Promise<StreamResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.concurrency });
  const out: StreamResult = { ttftMs: [], gapsMs: [], totalMs: [], ok: 0, failed: 0 };
  let started = 0;
  const worker = async () => {
    while (started < spec.count) {
      started++;
      await oneStream(agent, spec, out);
    }
  };
  await Promise.all(Array.from({ length: Math.min(spec.concurrency, spec.count) }, worker));
  agent.destroy();
  return out;
}
