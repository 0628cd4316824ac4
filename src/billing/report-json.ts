/** The API shape (snake_case, RFC 3339 times, micro-USD plus exact USD text) of a limits report. */
import { rfc3339 } from "./limit-headers";
import type { LimitsReport } from "./limits-do";
import { formatUsd } from "./pricing";

export function reportJson(r: LimitsReport, opts: { leases: boolean }) {
  const a = r.status.allowance;
  return {
    plan: {
      id: r.plan.id,
      name: r.plan.name,
      source: r.planSource,
      allowance_micro_usd: r.plan.allowanceMicroUsd,
      requests_per_minute: r.plan.requestsPerMinute,
      tokens_per_minute: r.plan.tokensPerMinute,
      concurrent_requests: r.plan.concurrentRequests,
      models: r.plan.models,
    },
    period: { start: rfc3339(r.period.start), end: rfc3339(r.period.end) },
    spend: {
      period_cost_micro_usd: r.periodCostMicroUsd,
      period_cost_usd: formatUsd(r.periodCostMicroUsd),
      allowance_micro_usd: a.limitMicroUsd,
      allowance_used_micro_usd: a.usedMicroUsd,
      credit_micro_usd: a.creditMicroUsd,
      reserved_micro_usd: a.reservedMicroUsd,
      remaining_micro_usd: a.remainingMicroUsd,
      remaining_usd: formatUsd(a.remainingMicroUsd),
      resets_at: rfc3339(a.resetAt),
    },
    limits: {
      requests: { limit: r.status.requests.limit, remaining: r.status.requests.remaining, reset_ms: r.status.requests.resetMs },
      tokens: { limit: r.status.tokens.limit, remaining: r.status.tokens.remaining, reset_ms: r.status.tokens.resetMs },
      concurrency: { limit: r.status.concurrency.limit, in_flight: r.status.concurrency.inFlight },
    },
    in_flight: opts.leases
      ? r.leases.map((l) => ({ request_id: l.requestId, tokens: l.tokens, cost_micro_usd: l.costMicroUsd, expires_at: rfc3339(l.expiresAt) }))
      : undefined,
    // What each isolate's grant book holds (docs/admission.md).
    grants: opts.leases
      ? r.grants.map((g) => ({ book_id: g.bookId, concurrency: g.concurrency, micro_usd: g.microUsd, slices: g.slices, expires_at: rfc3339(g.expiresAt) }))
      : undefined,
  };
}
