/**
 * One inference request's whole life, top to bottom. Every route that serves a model (chat,
 * completions, embeddings, Anthropic Messages, Responses) calls this with its dialect; each stage
 * is one call into a domain module, over the dependencies in `deps` (src/pipeline/deps.ts builds
 * them from the Worker's bindings; tests pass fakes).
 *
 *   1. decode      the dialect turns the body into one validated chat/completions/embeddings request
 *   2. session     the affinity key: turns of one conversation share it
 *   3. count       the prompt's tokens, counted once for everything below
 *   4. budget      per-task budget headers may lower max_tokens or refuse (402)
 *   5. admit       the subscriber's plan: limits and money, or a refusal (429/402/403)
 *   6. route       the model's miners, ranked (404 when none serves it)
 *   7. meter       exactly one usage event from here on; it settles admission, budget and health
 *   8. dispatch    sign, call, fail over -> a typed outcome (answer, stream, refusal, cancelled)
 *   9. encode      the dialect turns the outcome into the caller's answer (a non-streamed answer is
 *                  metered ok only once encoded; a failure here is metered internal_error, unbilled)
 *
 * Refusals are thrown as GatewayError (src/errors.ts) and shaped by the HTTP layer.
 */
import { applyBudget, REQUEST_BUDGET_HEADER, SESSION_BUDGET_HEADER } from "../billing/budget";
import type { UsageMeter } from "../billing/meter";
import { GatewayError, withHeaders } from "../errors";
import type { JsonObject } from "../lib/json";
import { affinityKey, affinitySource } from "../dialects/session";
import type { RouteHint } from "../routing/score";
import type { InferenceRequest } from "../validation/requests";
import type { Dialect, DispatchOutcome, EncodeMeta, PipelineDeps, RequestInfo } from "./contracts";
import { CONTINUATION_HEADER, continuationAllowed } from "./continuation";
import { dispatch } from "./dispatch";
import { openMeter } from "./meter";
import { route } from "./route";
import { guardStream } from "./stream-guard";

export async function serveInference<Ctx>(deps: PipelineDeps, info: RequestInfo, dialect: Dialect<Ctx>, body: JsonObject): Promise<Response> {
  // 1. decode
  const decoded = dialect.decode(body, info.requestId);
  // 2. session
  const sessionKey = await affinityKey(info.subscriberId, affinitySource(info.headers, body, decoded.conversation));
  // 3. count
  const promptTokens = deps.countPrompt(decoded.request);
  // 4. budget
  const budget = await applyBudget(deps.budgets, {
    requestBudget: info.headers.get(REQUEST_BUDGET_HEADER) ?? undefined,
    sessionBudget: info.headers.get(SESSION_BUDGET_HEADER) ?? undefined,
    subscriberId: info.subscriberId,
    sessionKey,
    request: decoded.request,
    promptTokens,
  });
  const request = budget.request;
  // 5. admit
  const admission = await deps.admitter.admit({
    requestId: info.requestId,
    subscriberId: info.subscriberId,
    model: request.model,
    promptTokens,
    maxOutputTokens: request.endpoint === "embeddings" ? 0 : (request.maxTokens ?? null),
    choices: choicesOf(request),
  });

  let outcome: DispatchOutcome;
  let meter: UsageMeter;
  try {
    // 6. route
    const candidates = await route(deps, request, { sessionKey, hint: routeHint(info.headers.get("x-gateway-route")) });
    // 7. meter
    meter = openMeter(deps, { info, request, promptTokens, admission, settleBudget: budget.settle, sessionKey });
    // 8. dispatch
    const continuation = continuationAllowed(request, info.headers.get(CONTINUATION_HEADER));
    outcome = await dispatch(deps, { request, candidates, meter, signal: info.signal, priced: true, continuation });
  } catch (err) {
    admission.release(); // a no-op once the usage event settled it
    throw err instanceof GatewayError ? withHeaders(err, admission.headers) : err;
  }

  // 9. encode
  const headers = new Headers({ ...admission.headers, ...budget.headers, "x-request-id": info.requestId });
  if (outcome.kind === "cancelled") return new Response(null, { status: 499, headers });
  headers.set("x-miner-hotkey", outcome.miner);
  const meta = { requestId: info.requestId, promptTokens, headers, now: deps.clock() };
  let response: Response;
  try {
    if (outcome.kind === "stream" && dialect.streamFailure) return encodeGuarded(dialect, outcome, decoded.context, meta, meter);
    response = dialect.encode(outcome, decoded.context, meta);
  } catch (err) {
    // The gateway's own failure, after a miner answered: metered as such, never billed (the first finish wins).
    meter.finish("internal_error", 500, "internal_error");
    if (outcome.kind === "stream") outcome.events.cancel().catch(() => {});
    throw err;
  }
  if (outcome.kind === "answer") meter.finish("ok", 200, null);
  return response;
}

/** A stream the dialect translates: a failure of the translation is metered internal_error and ends the stream with the dialect's failure event. */
function encodeGuarded<Ctx>(dialect: Dialect<Ctx>, outcome: Extract<DispatchOutcome, { kind: "stream" }>, context: Ctx, meta: EncodeMeta, meter: UsageMeter): Response {
  const guarded = guardStream(outcome.events, (err) => {
    console.error(`${meta.requestId}: translating the stream for ${dialect.name} failed`, err);
    meter.finish("internal_error", 500, "internal_error");
  });
  const translated = dialect.encode({ ...outcome, events: guarded.events }, context, meta);
  if (!translated.body || !dialect.streamFailure) return translated;
  return new Response(guarded.body(translated.body, dialect.streamFailure(context, meta)), { status: translated.status, headers: translated.headers });
}

/** `x-gateway-route: latency | throughput | balanced` picks what routing favours; anything else is balanced. */
function routeHint(value: string | null): RouteHint {
  return value === "latency" || value === "throughput" ? value : "balanced";
}

function choicesOf(req: InferenceRequest): number {
  const n = req.body.n;
  return typeof n === "number" && Number.isInteger(n) && n > 1 ? n : 1;
}
