// Maps method + path to the miner API (see /work/shared/protocol/README.md). Everything here runs
// after the Epistula check; failure injection happens before any byte of an inference answer.
import type { Backend, Endpoint, RequestContext } from "./context";
import { HttpError, sendError, sendJson } from "./http";
import type { Rng } from "./prng";
import type { Slots } from "./slots";

const INFERENCE: Readonly<Record<string, Endpoint>> = {
  "/v1/chat/completions": "chat",
  "/v1/completions": "completions",
  "/v1/embeddings": "embeddings",
};
const CREATED = Math.floor(Date.now() / 1000);

export async function route(ctx: RequestContext, path: string, backend: Backend, failRng: Rng, slots: Slots): Promise<void> {
  const method = ctx.req.method ?? "GET";
  if (path === "/v1/models") {
    if (method !== "GET") throw methodNotAllowed(method, "GET");
    ctx.stats.byEndpoint.models++;
    const ids = await backend.models(ctx.signal);
    sendJson(ctx.res, 200, { object: "list", data: ids.map((id) => ({ id, object: "model", created: CREATED, owned_by: "miner" })) });
    return;
  }
  const endpoint = INFERENCE[path];
  if (!endpoint) throw new HttpError(404, `Unknown path ${path}`, "not_found_error", "unknown_url");
  if (method !== "POST") throw methodNotAllowed(method, "POST");
  ctx.stats.byEndpoint[endpoint]++;
  // Drawn for every inference request so the failure sequence depends only on --seed and order.
  if (failRng.next() < ctx.behaviour.failRate) {
    ctx.stats.simulatedFailures++;
    sendError(ctx.res, new HttpError(500, "The miner failed to process the request (simulated).", "server_error", "simulated_failure"));
    return;
  }
  const poison = ctx.behaviour.failOnText;
  if (poison !== undefined && new TextDecoder().decode(ctx.body).includes(poison)) {
    ctx.stats.errors++;
    sendError(ctx.res, new HttpError(500, "The miner had an internal error.", "server_error", "internal_error"));
    return;
  }
  // Over the concurrency cap the request queues here, so its first token comes later.
  if (slots.active() >= ctx.behaviour.maxConcurrency || slots.waiting() > 0) ctx.stats.queued++;
  if (!(await slots.acquire(ctx.signal))) {
    ctx.stats.clientClosed++;
    return;
  }
  ctx.stats.inflight++;
  ctx.stats.peakInflight = Math.max(ctx.stats.peakInflight, ctx.stats.inflight);
  try {
    await backend.handle(ctx, endpoint);
  } finally {
    ctx.stats.inflight--;
    slots.release();
  }
}

function methodNotAllowed(method: string, allowed: string): HttpError {
  return new HttpError(405, `Method ${method} not allowed; use ${allowed}`, "invalid_request_error", "method_not_allowed");
}
