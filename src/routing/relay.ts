/**
 * Sends one inference request to the miners serving its model, failing over before the first
 * byte reaches the client (connection error, 5xx/429, refused signature, timeout, malformed
 * answer), and returns the client's response: JSON, or an SSE stream relayed as it arrives.
 * Every request that gets here is metered exactly once through the UsageMeter.
 */
import { UsageMeter } from "../billing/meter";
import type { ModelPrice } from "../billing/pricing";
import { addCost } from "../billing/usage-cost";
import type { UsageEvent, UsageStatus } from "../billing/usage-event";
import { usageSink } from "../billing/usage-sink";
import type { Config, Env } from "../env";
import { GatewayError, modelNotFound, upstreamFailure } from "../errors";
import { countMessageTokens, countTokens } from "../lib/tokens";
import type { Sr25519Keypair } from "../protocol/keys";
import type { InferenceRequest } from "../validation/requests";
import { answerText, isWellFormedAnswer } from "./answer-text";
import { minerSnapshot, type Miner } from "./directory";
import { callMiner } from "./miner-client";
import { observeOutcome } from "./health/observe";
import { record, trackInflight } from "./health/book";
import type { RouteHint } from "./score";
import { rankCandidates } from "./select";
import { gatewayKeypair } from "./signer";
import { relayStream } from "./stream-relay";

export interface RelayContext {
  env: Env;
  cfg: Config;
  requestId: string;
  subscriberId: string | null;
  apiKeyId: string | null;
  kind: "subscriber" | "canary";
  clientSignal: AbortSignal;
  waitUntil: (p: Promise<unknown>) => void;
  /**
   * Called once with the request's final usage event, after it is queued: where limits settle
   * reservations and routing folds the outcome into its measurements. Errors are logged.
   */
  onUsage?: readonly ((event: UsageEvent) => Promise<void> | void)[];
  /** Turns of one conversation share this key and prefer the miner that served the last turn. */
  affinityKey?: string;
  /** What the caller prefers when miners differ (`x-gateway-route`): default balanced. */
  hint?: RouteHint;
  /** The model's price for this subscriber (from admission): usage events and `usage` carry the cost. */
  price?: ModelPrice | null;
  /** The prompt's token count when admission already computed it. */
  promptTokens?: number;
}

const PATHS = { "chat.completions": "/v1/chat/completions", completions: "/v1/completions", embeddings: "/v1/embeddings" } as const;

/** Miner answers passed to the client as they are: the request itself is at fault. */
const CLIENT_FAULT_STATUSES = new Set([400, 413, 422]);

type AttemptFailure = { kind: "connect" | "status" | "timeout" | "bad_response"; detail: string };

interface AttemptTools {
  /** Marks this attempt as the one answering the client (before anything can finish the meter). */
  claim: () => void;
  body: Uint8Array;
  signer: Sr25519Keypair;
  meter: UsageMeter;
  finish: (status: UsageStatus, httpStatus: number, code: string | null) => void;
  /** The overall routing deadline (ms since epoch): no attempt outlives it. */
  deadlineAt: number;
}

export async function relay(req: InferenceRequest, rc: RelayContext): Promise<Response> {
  const snapshot = await minerSnapshot(rc.env.DB, rc.cfg.minerCacheTtlMs);
  const serving = snapshot.byModel.get(req.model);
  if (!serving || serving.length === 0) throw modelNotFound(req.model);

  const signer = gatewayKeypair(rc.env);
  let responded = false;
  const meter = new UsageMeter(
    {
      requestId: rc.requestId,
      kind: rc.kind,
      subscriberId: rc.subscriberId,
      apiKeyId: rc.apiKeyId,
      endpoint: req.endpoint,
      model: req.model,
      streamed: req.stream,
      promptTokensCounted: rc.promptTokens ?? countPrompt(req),
      price: rc.price ?? null,
    },
    withHooks(usageSink(rc.env), [...(rc.onUsage ?? []), (event) => observeOutcome(rc.env, event, { responded, affinityKey: rc.affinityKey })]),
  );
  rc.waitUntil(meter.settled);
  const finish = (status: UsageStatus, httpStatus: number, code: string | null) => {
    meter.finish(status, httpStatus, code);
  };

  const body = new TextEncoder().encode(JSON.stringify(minerBody(req)));
  const failures: AttemptFailure[] = [];
  const candidates = rankCandidates(serving, { model: req.model, maxAttempts: rc.cfg.maxMinerAttempts, hint: rc.hint, affinityKey: rc.affinityKey });
  // One deadline for all attempts before the client's first byte (a whole non-streamed answer).
  const deadlineAt = Date.now() + (req.stream ? rc.cfg.routingDeadlineMs : rc.cfg.minerTimeoutMs);
  try {
    for (const miner of candidates) {
      if (rc.clientSignal.aborted) break;
      if (Date.now() >= deadlineAt) {
        failures.push({ kind: "timeout", detail: "the routing deadline passed before a miner answered" });
        break;
      }
      meter.attempt(miner.hotkey);
      trackInflight(miner.hotkey, 1);
      // Once an attempt claims the request, the usage hook ends its in-flight count and measures it.
      const outcome = await attempt(req, rc, miner, { claim: () => (responded = true), body, signer, meter, finish, deadlineAt });
      if (outcome instanceof Response) return outcome;
      trackInflight(miner.hotkey, -1);
      if (!rc.clientSignal.aborted) record(req.model, { kind: "failure", hotkey: miner.hotkey, at: Date.now(), failure: outcome.kind });
      failures.push(outcome);
    }
  } catch (err) {
    // A bug, not a miner failure: still exactly one usage event, then the generic 500.
    finish("miner_error", 500, "internal_error");
    throw err;
  }

  if (rc.clientSignal.aborted) {
    finish("client_cancelled", 499, "client_closed_request");
    return new Response(null, { status: 499 });
  }
  const error = summarise(failures);
  finish(error.status === 504 ? "timeout" : "miner_error", error.status, error.code);
  throw error;
}

async function attempt(
  req: InferenceRequest,
  rc: RelayContext,
  miner: Miner,
  { claim, body, signer, meter, finish, deadlineAt }: AttemptTools,
): Promise<Response | AttemptFailure> {
  const upstream = new AbortController();
  const onClientAbort = () => upstream.abort();
  rc.clientSignal.addEventListener("abort", onClientAbort);
  let timedOut = false;
  const deadline = Math.min(req.stream ? rc.cfg.firstByteTimeoutMs : rc.cfg.minerTimeoutMs, Math.max(0, deadlineAt - Date.now()));
  const timer = setTimeout(() => {
    timedOut = true;
    upstream.abort();
  }, deadline);
  const cleanup = () => {
    clearTimeout(timer);
    rc.clientSignal.removeEventListener("abort", onClientAbort);
  };

  try {
    let res: Response;
    try {
      res = await callMiner(miner, PATHS[req.endpoint], body, signer, upstream.signal);
    } catch (err) {
      return timedOut ? { kind: "timeout", detail: `${miner.hotkey} timed out` } : { kind: "connect", detail: `${miner.hotkey}: ${errorText(err)}` };
    }

    if (!res.ok) {
      if (CLIENT_FAULT_STATUSES.has(res.status)) {
        const text = await res.text();
        claim();
        finish("miner_error", res.status, "rejected_by_miner");
        return new Response(text, { status: res.status, headers: jsonHeaders(rc, miner) });
      }
      await discard(res);
      return { kind: "status", detail: `${miner.hotkey} answered ${res.status}` };
    }

    if (!req.stream) {
      let payload: unknown;
      try {
        payload = JSON.parse(await res.text());
      } catch (err) {
        if (timedOut) return { kind: "timeout", detail: `${miner.hotkey} timed out` };
        return { kind: "bad_response", detail: `${miner.hotkey} sent invalid JSON (${errorText(err)})` };
      }
      if (!isWellFormedAnswer(req.endpoint, payload)) return { kind: "bad_response", detail: `${miner.hotkey} sent a malformed answer` };
      meter.firstByte();
      const usage = payload.usage;
      if (usage && typeof usage === "object") meter.reportUsage(usage);
      meter.deliver(answerText(req.endpoint, payload));
      claim();
      const event = meter.finish("ok", 200, null);
      if (rc.price) addCost(payload, event.costMicroUsd ?? 0);
      return new Response(JSON.stringify(payload), { status: 200, headers: jsonHeaders(rc, miner) });
    }

    const type = res.headers.get("content-type") ?? "";
    if (!type.includes("text/event-stream") || !res.body) {
      await res.body?.cancel();
      return { kind: "bad_response", detail: `${miner.hotkey} did not stream (content-type '${type}')` };
    }
    const reader = res.body.getReader();
    let first: ReadableStreamReadResult<Uint8Array>;
    try {
      first = await reader.read();
    } catch (err) {
      return timedOut ? { kind: "timeout", detail: `${miner.hotkey} sent nothing in time` } : { kind: "connect", detail: `${miner.hotkey}: ${errorText(err)}` };
    }
    if (first.done) return { kind: "bad_response", detail: `${miner.hotkey} closed the stream before any event` };

    // First byte in hand: from here on the client owns this miner's stream.
    clearTimeout(timer);
    claim();
    const stream = relayStream({
      endpoint: req.endpoint,
      first: first.value,
      reader,
      upstream,
      meter,
      includeUsage: req.includeUsage,
      idleTimeoutMs: rc.cfg.streamIdleTimeoutMs,
      clientSignal: rc.clientSignal,
      priced: Boolean(rc.price),
    });
    return new Response(stream, {
      status: 200,
      headers: {
        "content-type": "text/event-stream; charset=utf-8",
        "cache-control": "no-cache",
        "x-request-id": rc.requestId,
        "x-miner-hotkey": miner.hotkey,
      },
    });
  } finally {
    cleanup();
  }
}

function jsonHeaders(rc: RelayContext, miner: Miner): Record<string, string> {
  return { "content-type": "application/json", "x-request-id": rc.requestId, "x-miner-hotkey": miner.hotkey };
}

/** The body sent to miners: the client's, plus a usage chunk request on streams for metering. */
function minerBody(req: InferenceRequest): Record<string, unknown> {
  if (!req.stream) return req.body;
  const options = typeof req.body.stream_options === "object" && req.body.stream_options !== null ? req.body.stream_options : {};
  return { ...req.body, stream_options: { ...options, include_usage: true } };
}

export function countPrompt(req: InferenceRequest): number {
  const b = req.body;
  switch (req.endpoint) {
    case "chat.completions":
      return countMessageTokens(b.messages);
    case "completions":
      return countTokens(textOf(b.prompt));
    case "embeddings":
      return countTokens(textOf(b.input));
  }
}

function textOf(v: unknown): string {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string").join("\n");
  return "";
}

function withHooks(sink: (e: UsageEvent) => Promise<void>, hooks: NonNullable<RelayContext["onUsage"]>) {
  if (hooks.length === 0) return sink;
  return async (event: UsageEvent) => {
    const results = await Promise.allSettled([sink(event), ...hooks.map(async (h) => h(event))]);
    for (const r of results) if (r.status === "rejected") console.error(`usage hook failed for ${event.requestId}`, r.reason);
  };
}

function summarise(failures: readonly AttemptFailure[]): GatewayError {
  const detail = failures.map((f) => f.detail).join("; ") || "no attempt was made";
  if (failures.length > 0 && failures.every((f) => f.kind === "timeout")) return upstreamFailure("timeout", detail);
  if (failures.length > 0 && failures.every((f) => f.kind === "connect")) return upstreamFailure("unavailable", detail);
  return upstreamFailure("bad_gateway", detail);
}

/**
 * Drains a small error body so the connection can be reused; cancelling instead makes workerd
 * drop the connection and report it as lost. Large or unsized bodies are cancelled.
 */
async function discard(res: Response): Promise<void> {
  const size = Number(res.headers.get("content-length") ?? "-1");
  try {
    if (size >= 0 && size <= 64 * 1024) await res.arrayBuffer();
    else await res.body?.cancel();
  } catch {
    /* the connection is gone either way */
  }
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
