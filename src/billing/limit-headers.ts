/**
 * What a client sees of its limits: OpenAI's rate-limit headers (durations in OpenAI's "1m30s"
 * style), the concurrency limit, and the allowance left with its reset time (RFC 3339); and the
 * refusal of a request as a GatewayError a client can act on.
 */
import { GatewayError, insufficientQuota, invalidRequest, modelNotInPlan, rateLimited, withHeaders } from "../errors";
import type { LimitStatus, Refusal } from "./limits-state";
import { formatUsd } from "./pricing";

/** OpenAI's reset format: "250ms", "7.5s", "1m0s", "1h2m3s". */
export function formatDuration(ms: number): string {
  const v = Math.max(0, Math.ceil(ms));
  if (v < 1_000) return `${v}ms`;
  if (v < 60_000) return `${Number((v / 1_000).toFixed(3))}s`;
  const totalSeconds = Math.ceil(v / 1_000);
  const h = Math.floor(totalSeconds / 3600);
  const m = Math.floor((totalSeconds % 3600) / 60);
  const s = totalSeconds % 60;
  return h > 0 ? `${h}h${m}m${s}s` : `${m}m${s}s`;
}

/** RFC 3339 in UTC, whole seconds. */
export function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z");
}

export function limitHeaders(s: LimitStatus): Record<string, string> {
  return {
    "x-ratelimit-limit-requests": String(s.requests.limit),
    "x-ratelimit-remaining-requests": String(s.requests.remaining),
    "x-ratelimit-reset-requests": formatDuration(s.requests.resetMs),
    "x-ratelimit-limit-tokens": String(s.tokens.limit),
    "x-ratelimit-remaining-tokens": String(s.tokens.remaining),
    "x-ratelimit-reset-tokens": formatDuration(s.tokens.resetMs),
    "x-ratelimit-limit-concurrency": String(s.concurrency.limit),
    "x-ratelimit-remaining-concurrency": String(Math.max(0, s.concurrency.limit - s.concurrency.inFlight)),
    "x-allowance-limit-usd": formatUsd(s.allowance.limitMicroUsd),
    "x-allowance-remaining-usd": formatUsd(s.allowance.remainingMicroUsd),
    "x-allowance-reset": rfc3339(s.allowance.resetAt),
    "x-plan": s.planId,
  };
}

function seconds(ms: number): string {
  return `${Math.max(1, Math.ceil(ms / 1000))}s`;
}

/** The refusal as the error the client gets, with the limit headers. */
export function refusalError(r: Refusal, s: LimitStatus, model: string, headers: Record<string, string>): GatewayError {
  const plan = `plan '${s.planId}'`;
  let err: GatewayError;
  switch (r.kind) {
    case "model":
      err = modelNotInPlan(model, s.planId);
      break;
    case "allowance":
      err = insufficientQuota(
        `You have $${formatUsd(r.availableMicroUsd)} of allowance and credit left until ${rfc3339(r.resetAt)}, and this request may cost up to ` +
          `$${formatUsd(r.neededMicroUsd)}. Lower max_tokens, add credit or upgrade your plan.`,
      );
      break;
    case "too_large":
      err = invalidRequest(
        `This request may use up to ${r.tokens} tokens (prompt plus max_tokens) but ${plan} allows ${r.limit} tokens per minute. Lower max_tokens or upgrade your plan.`,
        "max_tokens",
        "request_too_large_for_plan",
      );
      break;
    case "concurrency":
      err = rateLimited("concurrency_limit_exceeded", `Too many requests in flight: ${plan} allows ${r.limit} at once. Retry when one of them finishes.`, r.retryAfterMs);
      break;
    case "requests":
      err = rateLimited("rate_limit_exceeded", `Rate limit reached: ${plan} allows ${r.limit} requests per minute. Try again in ${seconds(r.retryAfterMs)}.`, r.retryAfterMs);
      break;
    case "tokens":
      err = rateLimited(
        "token_rate_limit_exceeded",
        `Rate limit reached: ${plan} allows ${r.limit} tokens per minute and this request may use up to ${r.needed}. Try again in ${seconds(r.retryAfterMs)} or lower max_tokens.`,
        r.retryAfterMs,
      );
      break;
  }
  return withHeaders(err, headers);
}
