/**
 * Turns a request's final usage event into a health observation of the miner that answered,
 * ends its in-flight count, remembers the session's miner, and flushes to the shared view.
 * Runs in the usage hook, after the response, never on the request path.
 */
import type { UsageEvent } from "../../billing/usage-event";
import type { Env } from "../../env";
import { inflightOf, record, rememberAffinity, trackInflight } from "./book";
import { flushHealth } from "./sync";

export async function observeOutcome(env: Env, event: UsageEvent, ctx: { responded: boolean; affinityKey?: string | undefined }): Promise<void> {
  const hotkey = event.minerHotkey;
  // Failed attempts were observed one by one in the relay; only an answering miner is left.
  if (!ctx.responded || !hotkey) return;
  const log = event.attemptLog ?? [];
  // A continuation that never started was observed (and its in-flight ended) where it failed.
  if (log.at(-1)?.outcome === "failed") return;
  // A continued answer's TTFT belongs to the first miner, not to the one that finished it.
  const continued = log.some((a) => a.outcome === "broken");
  // The load this answer was measured under: the miner's requests in flight now, this one
  // included. Under steady traffic the count at the end matches the count over the request's
  // life on average, and it needs no bookkeeping per request.
  const inflight = inflightOf(hotkey);
  trackInflight(hotkey, -1);
  const at = event.createdAt + event.durationMs;
  switch (event.status) {
    case "ok":
      record(event.model, {
        kind: "success",
        hotkey,
        at,
        ttftMs: continued ? null : event.ttftMs,
        durationMs: event.durationMs,
        countedTokens: continued ? 0 : event.completionTokensCounted,
        reportedTokens: continued ? null : event.completionTokensReported,
        ...(continued ? {} : { inflight }),
      });
      if (ctx.affinityKey) rememberAffinity(ctx.affinityKey, hotkey);
      break;
    case "miner_error":
    case "bad_response":
    case "timeout":
      // A stream that broke after its first byte, or a miner refusing a valid request.
      if (event.httpStatus < 400 || event.httpStatus >= 500) record(event.model, { kind: "failure", hotkey, at, failure: "stream" });
      break;
    case "client_cancelled":
    case "no_miner":
    case "request_error":
    case "internal_error":
      break;
  }
  await flushHealth(env, event.model);
}
