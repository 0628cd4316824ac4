// Backend B: forwards the verified body to an OpenAI-compatible server (vLLM, llama.cpp, Ollama)
// and streams its answer back byte for byte as it arrives. Cancels upstream when the client leaves.
import type { Backend, Endpoint, RequestContext } from "./context";
import { HttpError } from "./http";

const PATHS: Record<Endpoint, string> = { chat: "/chat/completions", completions: "/completions", embeddings: "/embeddings" };
const MODELS_CACHE_MS = 10_000;
// Hop-by-hop or re-framed by us: fetch already decoded the body, node:http re-chunks it.
const DROP_HEADERS = new Set(["content-length", "content-encoding", "transfer-encoding", "connection", "keep-alive"]);

export function createUpstreamBackend(opts: { baseUrl: string; apiKey?: string; models?: readonly string[] }): Backend {
  const base = opts.baseUrl.replace(/\/+$/, "");
  const auth: Record<string, string> = opts.apiKey ? { authorization: `Bearer ${opts.apiKey}` } : {};
  let cached: { at: number; ids: Promise<readonly string[]> } | undefined;

  async function fetchModels(signal: AbortSignal): Promise<readonly string[]> {
    const res = await fetch(`${base}/models`, { headers: auth, signal });
    if (!res.ok) throw new Error(`upstream /models answered ${res.status}`);
    const body: unknown = await res.json();
    const data = typeof body === "object" && body !== null && "data" in body && Array.isArray(body.data) ? body.data : [];
    return data.flatMap((m: unknown) => (typeof m === "object" && m !== null && "id" in m && typeof m.id === "string" ? [m.id] : []));
  }

  return {
    async models(signal) {
      if (opts.models) return opts.models;
      if (!cached || Date.now() - cached.at > MODELS_CACHE_MS) {
        cached = { at: Date.now(), ids: fetchModels(signal) };
        cached.ids.catch(() => (cached = undefined)); // don't cache failures
      }
      try {
        return await cached.ids;
      } catch (err) {
        throw upstreamDown(err);
      }
    },

    async handle(ctx: RequestContext, endpoint: Endpoint) {
      let upstream: Response;
      try {
        upstream = await fetch(`${base}${PATHS[endpoint]}`, {
          method: "POST",
          headers: { "content-type": "application/json", accept: String(ctx.req.headers.accept ?? "*/*"), ...auth },
          body: new Uint8Array(ctx.body), // fetch types want an ArrayBuffer-backed view
          signal: ctx.signal,
        });
      } catch (err) {
        if (ctx.signal.aborted) return void ctx.stats.clientClosed++;
        throw upstreamDown(err);
      }
      const headers: Record<string, string> = {};
      upstream.headers.forEach((value, key) => {
        if (!DROP_HEADERS.has(key)) headers[key] = value;
      });
      ctx.res.writeHead(upstream.status, headers);
      ctx.res.flushHeaders();
      if (!upstream.body) {
        ctx.res.end();
        ctx.stats.completed++;
        return;
      }
      const reader = upstream.body.getReader();
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) break;
          ctx.res.write(value);
        }
        ctx.res.end();
        ctx.stats.completed++;
      } catch {
        // Client gone (signal aborted the fetch) or upstream broke mid-body: end abruptly so the
        // gateway sees an incomplete answer rather than a clean but truncated one.
        if (ctx.signal.aborted) ctx.stats.clientClosed++;
        else ctx.stats.errors++;
        ctx.res.destroy();
      }
    },
  };
}

/** The cause goes to the miner's log (via `cause`), not to the caller. */
function upstreamDown(err: unknown): HttpError {
  const e = new HttpError(502, "The upstream inference server is unavailable.", "server_error", "upstream_unavailable");
  e.cause = err;
  return e;
}
