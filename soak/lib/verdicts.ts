/**
 * Every client-visible failure, by cause, sorted into expected and unexpected. Expected means
 * the gateway did what its documentation promises under the faults the soak injected:
 *   - 429 on a plan whose limits the soak reaches (the small plan, the probe waves);
 *   - 402 on the budget plan once its allowance is spent;
 *   - the client's own aborts;
 *   - every miner the request tried failed (the usage event shows each attempt failing), while
 *     miner faults were being injected: a 502/503/504, or a stream's error event;
 *   - a streamed legacy completion whose miner broke mid-stream: those are not continued on
 *     another miner (docs/streams.md), so the stream ends with its error event;
 *   - a stream whose miner broke after delivering every token max_tokens allowed: there is
 *     nothing left to continue (docs/streams.md), so it ends with the error event too.
 * Anything else is unexpected: a 5xx with a miner left untried, a 500, a 503 because the limits
 * could not be checked, a malformed answer or wrong content, a stream that stops without its end,
 * no answer at all, a 429/402 where no limit was in reach; and whatever the usage record
 * contradicts (a whole answer not metered ok, an error the client got metered ok).
 */
import type { UsageEvent } from "../../src/billing/usage-event";
import type { ClientRecord } from "./client";

export interface Failures {
  complete: number;
  expected: Record<string, number>;
  unexpected: Record<string, number>;
  /** A few unexpected ones, whole, for the report. */
  samples: { seq: number; dialect: string; stream: boolean; status: number | null; requestId: string | null; cause: string; detail: string | null; usage: string | null }[];
}

const SMALL_PLANS = new Set(["free"]);
const BUDGET_PLANS = new Set(["soak-budget"]);

/** Every attempt the usage event lists failed, broke or ended without an answer, and there were `maxAttempts` of them. */
function everyMinerFailed(e: UsageEvent | undefined, maxAttempts: number): boolean {
  if (!e) return false;
  const log = e.attemptLog ?? [];
  return e.attempts >= maxAttempts && log.length >= maxAttempts && log.every((a) => a.outcome !== "answered");
}

function brokeMidStream(e: UsageEvent | undefined): boolean {
  return (e?.attemptLog ?? []).some((a) => a.outcome === "broken" || (a.outcome === "ended" && a.completionTokens > 0)) || (e?.completionTokensCounted ?? 0) > 0;
}

export function classify(r: ClientRecord, e: UsageEvent | undefined, maxAttempts: number): { expected: boolean; cause: string } | null {
  // What the client saw and what was metered must tell the same story.
  if (r.outcome === "complete" && e && e.status !== "ok") return { expected: false, cause: `a whole answer metered ${e.status}` };
  if ((r.outcome === "stream_error_event" || (r.outcome === "error_status" && (r.status ?? 0) >= 500)) && e?.status === "ok") {
    return { expected: false, cause: `the client got an error (${r.outcome === "stream_error_event" ? "stream error" : r.status}), usage says ok` };
  }
  switch (r.outcome) {
    case "complete":
      return null;
    case "aborted_before_headers":
    case "aborted_after_headers":
      return { expected: true, cause: `client aborted (${r.outcome === "aborted_before_headers" ? "before the answer" : "after the headers"})` };
    case "malformed":
      // wrangler dev's proxy answers this when its connection to the Worker's workerd fails (docs/soak.md).
      if ((r.detail ?? "").includes("Your worker restarted mid-request")) return { expected: false, cause: "503 from wrangler dev's proxy (\"Your worker restarted mid-request\")" };
      return { expected: false, cause: `malformed answer (${r.dialect}${r.stream ? ", streamed" : ""})` };
    case "no_answer":
      return { expected: false, cause: "no answer (connection failed or client deadline)" };
    case "error_status": {
      if (r.status === 429) {
        return SMALL_PLANS.has(r.plan) || r.phase === "probe" ? { expected: true, cause: `429 rate limited (${r.plan} plan)` } : { expected: false, cause: `429 on the ${r.plan} plan` };
      }
      if (r.status === 402) {
        return BUDGET_PLANS.has(r.plan) ? { expected: true, cause: "402 allowance spent (budget plan)" } : { expected: false, cause: `402 on the ${r.plan} plan` };
      }
      if (r.status !== null && r.status >= 502 && r.status <= 504 && everyMinerFailed(e, maxAttempts)) {
        return { expected: true, cause: `${r.status} every miner tried failed (${maxAttempts} attempts)` };
      }
      return { expected: false, cause: `${r.status} ${r.errorCode ?? ""}`.trim() };
    }
    case "stream_error_event": {
      if (everyMinerFailed(e, maxAttempts)) return { expected: true, cause: `stream error event: every miner tried failed (${maxAttempts} attempts)` };
      if (r.dialect === "completions" && brokeMidStream(e)) return { expected: true, cause: "stream error event: a legacy completion broke mid-stream (not continued)" };
      if (e && e.completionTokensCounted >= r.maxTokens) return { expected: true, cause: "stream error event: the miner broke after the last token max_tokens allows (nothing to continue)" };
      return { expected: false, cause: `stream error event (${r.dialect})${e ? `, usage ${e.status}, ${e.attempts} attempt(s)` : ""}` };
    }
  }
}

export function failures(records: readonly ClientRecord[], events: ReadonlyMap<string, UsageEvent>, maxAttempts: number): Failures {
  const out: Failures = { complete: 0, expected: {}, unexpected: {}, samples: [] };
  for (const r of records) {
    const e = r.requestId ? events.get(r.requestId) : undefined;
    const v = classify(r, e, maxAttempts);
    if (!v) {
      out.complete++;
      continue;
    }
    const bucket = v.expected ? out.expected : out.unexpected;
    bucket[v.cause] = (bucket[v.cause] ?? 0) + 1;
    if (!v.expected && out.samples.length < 25) {
      const usage = e ? `${e.status} http ${e.httpStatus} ${e.errorCode ?? ""} attempts ${e.attempts} [${(e.attemptLog ?? []).map((a) => `${a.minerHotkey.slice(0, 6)}:${a.outcome}:${a.completionTokens}`).join(" ")}]` : null;
      out.samples.push({ seq: r.seq, dialect: r.dialect, stream: r.stream, status: r.status, requestId: r.requestId, cause: v.cause, detail: r.detail, usage });
    }
  }
  return out;
}
