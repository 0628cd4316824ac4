/**
 * The gate: an OpenAI-compatible upstream (behind a reference miner in --upstream mode, model
 * `soak/gated`) whose streams send one piece of content and then wait, sending only SSE comments
 * (which keep the gateway's idle timer from firing), until the soak opens the gate of their wave.
 * Then they send `released-<wave>` and end.
 *
 * This is what makes the client's concurrency check causal rather than a matter of timing: a
 * stream whose text contains `released-<wave>` was still open in the gateway when the gate
 * opened (those bytes did not exist before), and it was admitted before the client saw its
 * headers, which happened before the gate opened. So every such stream held one of the
 * subscriber's concurrency slots at the same instant, and there can be at most the plan's limit.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export const GATED_MODEL = "soak/gated";

export interface Gate {
  /** Base URL including /v1, for the miner's --upstream. */
  upstream: string;
  open(wave: number): void;
  /** Streams of this wave waiting at the gate now. */
  waiting(wave: number): number;
  close(): Promise<void>;
}

/** The wave a request belongs to: its prompt says `soak wave <n>`. */
function waveOf(body: string): number {
  const m = /soak wave (\d+)/.exec(body);
  return m ? Number(m[1]) : -1;
}

function chunk(id: string, delta: Record<string, unknown>, finish: string | null = null): string {
  return `data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: GATED_MODEL, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
}

export async function startGate(): Promise<Gate> {
  const opened = new Set<number>();
  const waiters = new Map<number, Set<() => void>>();
  let seq = 0;

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    if (req.method === "GET" && req.url?.endsWith("/models")) {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ object: "list", data: [{ id: GATED_MODEL, object: "model", created: 0, owned_by: "soak" }] }));
      return;
    }
    const parts: Buffer[] = [];
    for await (const c of req) parts.push(c as Buffer);
    const text = Buffer.concat(parts).toString("utf8");
    const wave = waveOf(text);
    const id = `chatcmpl-gate-${++seq}`;
    res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-cache" });
    res.write(chunk(id, { role: "assistant", content: "held" }));
    let closed = false;
    res.on("close", () => (closed = true));
    await new Promise<void>((release) => {
      if (opened.has(wave)) return release();
      const set = waiters.get(wave) ?? new Set<() => void>();
      waiters.set(wave, set);
      const keepAlive = setInterval(() => {
        if (closed) done();
        else res.write(": waiting at the gate\n\n");
      }, 250);
      const done = () => {
        clearInterval(keepAlive);
        set.delete(done);
        release();
      };
      set.add(done);
    });
    if (closed) return;
    res.write(chunk(id, { content: ` released-${wave}` }));
    res.write(chunk(id, {}, "stop"));
    if (/"include_usage"\s*:\s*true/.test(text)) {
      res.write(`data: ${JSON.stringify({ id, object: "chat.completion.chunk", created: Math.floor(Date.now() / 1000), model: GATED_MODEL, choices: [], usage: { prompt_tokens: 8, completion_tokens: 2, total_tokens: 10 } })}\n\n`);
    }
    res.end("data: [DONE]\n\n");
  }

  const server = createServer((req, res) => {
    handle(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    upstream: `http://127.0.0.1:${port}/v1`,
    open(wave) {
      opened.add(wave);
      for (const release of [...(waiters.get(wave) ?? [])]) release();
      waiters.delete(wave);
    },
    waiting: (wave) => waiters.get(wave)?.size ?? 0,
    close: () =>
      new Promise<void>((resolve) => {
        for (const set of waiters.values()) for (const release of [...set]) release();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
