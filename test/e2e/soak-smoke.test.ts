/**
 * The soak's smoke run (docs/soak.md): a few hundred requests in every dialect through its own dev
 * stack while every kind of fault the profile lists strikes at least once (the traffic goes on
 * until they have). Asserts only counts and invariants: no usage record lost or doubled, no
 * unexpected client-visible failure, limits held as the client saw them, no redirect followed,
 * the gateway serving afterwards. No timing is asserted.
 */
import { describe, expect, it } from "vitest";
import { SMOKE } from "../../soak/lib/profile";
import { renderMarkdown } from "../../soak/lib/report";
import { runSoak } from "../../soak/run";

describe("soak smoke", () => {
  it("loses and doubles no usage, fails no client unexpectedly and keeps every limit under every kind of fault", async () => {
    const r = await runSoak({ profile: SMOKE, log: process.env.E2E_ECHO === "1" ? (l) => console.log(`[soak] ${l}`) : undefined });
    const summary = `${renderMarkdown(r)}\n`;

    // Every kind of fault struck while traffic flowed.
    for (const kind of SMOKE.minerFaults) expect(r.faults.miner[kind] ?? 0, `${kind}\n${summary}`).toBeGreaterThan(0);
    for (const kind of ["usage_d1_write", "usage_redelivery", "usage_queue_late_copy"]) expect(r.faults.struck[kind] ?? 0, kind).toBeGreaterThan(0);
    expect(r.faults.restartsConfirmed).toBeGreaterThan(0);
    expect(r.faults.minerProcessesKilled).toBeGreaterThan(0);
    expect(r.faults.impostorRequests).toBeGreaterThan(0);
    expect(r.faults.clientAborts.beforeAnswer + r.faults.clientAborts.afterHeaders).toBeGreaterThan(0);
    expect(r.traffic.requests).toBeGreaterThanOrEqual(SMOKE.requests);

    // Usage: every metered request once in the archive, the rollups and the recent list.
    expect(r.quiescence.settled, summary).toBe(true);
    expect(r.accounting.lost, summary).toMatchObject({ total: 0 });
    expect(r.accounting.doubled, summary).toMatchObject({ total: 0 });
    expect(r.accounting.phantom, summary).toBe(0);
    expect(r.accounting.meteredRefusals.total, summary).toBe(0);
    expect(r.accounting.mustBeMetered).toBeGreaterThan(SMOKE.requests / 2);
    expect(r.accounting.recentListChecked).toBe(r.accounting.archive.subscriberEvents);

    // Client-visible failures: only expected ones (429 on the small plan, 402 on the budget plan, aborts, ...).
    expect(r.failures.unexpected, summary).toEqual({});
    expect(r.failures.expected["429 rate limited (free plan)"] ?? 0).toBeGreaterThan(0);

    // Limits as the client saw them; the free plan's probe reached its limit, so the check was live.
    for (const c of r.limits.rpm) expect(c.maxInWindow, c.subscriberId).toBeLessThanOrEqual(c.limit);
    for (const c of r.limits.concurrency) expect(c.maxProven, c.plan).toBeLessThanOrEqual(c.limit);
    expect(r.limits.concurrency.find((c) => c.plan === "free")?.wavesAtLimit ?? 0).toBeGreaterThan(0);
    for (const c of r.limits.spend) expect(c.chargedMicroUsd).toBeLessThanOrEqual(c.allowanceMicroUsd);
    expect(r.limits.slots.stillHeld).toEqual([]);

    expect(r.faults.redirectsFollowed).toBe(0);
    expect(r.gatewayLog.counts, summary).toEqual(Object.fromEntries(Object.keys(r.gatewayLog.counts).map((k) => [k, 0])));
    expect(r.afterwards.map((a) => a.outcome)).toEqual(r.afterwards.map(() => "complete"));
    expect(r.faults.errors).toEqual([]);
    expect(r.verdict, summary).toEqual({ pass: true, failed: [] });
  }, 300_000);
});
