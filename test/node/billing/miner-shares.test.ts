/**
 * How one usage event counts for each miner it reached (src/billing/usage-class.ts minerShares):
 * settlement credits every miner for what it delivered and counts a failure against the miner
 * that failed or broke, never against miners when the request itself was at fault.
 */
import { describe, expect, it } from "vitest";
import { minerShares, usageCounts, ZERO_COUNTS } from "../../../src/billing/usage-class";
import type { UsageEvent } from "../../../src/billing/usage-event";

type Ev = Parameters<typeof minerShares>[0];
const base: Ev = {
  status: "ok",
  httpStatus: 200,
  promptTokensCounted: 12,
  completionTokensCounted: 40,
  promptTokensReported: 12,
  completionTokensReported: 40,
  costMicroUsd: 900,
  minerHotkey: "B",
};
const log = (...a: [string, NonNullable<UsageEvent["attemptLog"]>[number]["outcome"], number][]) => a.map(([minerHotkey, outcome, completionTokens]) => ({ minerHotkey, outcome, completionTokens }));
const byMiner = (e: Ev) => Object.fromEntries(minerShares(e).map((s) => [s.minerHotkey ?? "", s.counts]));

describe("minerShares", () => {
  it("gives a single-miner request wholly to its miner, as usageCounts classifies it", () => {
    expect(minerShares(base)).toEqual([{ minerHotkey: "B", counts: usageCounts(base) }]);
    expect(minerShares({ ...base, attemptLog: log(["B", "answered", 40]) })).toEqual([{ minerHotkey: "B", counts: usageCounts(base) }]);
  });

  it("splits a continued stream: the broken miner gets its delivered tokens and the failure, the finishing one the rest, the prompt and the cost", () => {
    const m = byMiner({ ...base, attemptLog: log(["A", "broken", 15], ["B", "answered", 25]) });
    expect(m.A).toEqual({ ...ZERO_COUNTS, requests: 1, failed: 1, completionTokens: 15 });
    expect(m.B).toEqual({ ...usageCounts(base), completionTokens: 25 });
    // Nothing is counted twice: the miners' tokens add up to what the subscriber received.
    expect(m.A!.completionTokens + m.B!.completionTokens).toBe(base.completionTokensCounted);
    expect(m.A!.costMicroUsd + m.B!.costMicroUsd).toBe(base.costMicroUsd);
  });

  it("counts a failover before the first byte against the miner that failed", () => {
    const m = byMiner({ ...base, attemptLog: log(["A", "failed", 0], ["C", "failed", 0], ["B", "answered", 40]) });
    expect(m.A).toEqual({ ...ZERO_COUNTS, requests: 1, failed: 1 });
    expect(m.C).toEqual({ ...ZERO_COUNTS, requests: 1, failed: 1 });
    expect(m.B).toEqual(usageCounts(base));
  });

  it("counts the last miner once when the request failed on it", () => {
    const e: Ev = { ...base, status: "miner_error", httpStatus: 502, completionTokensCounted: 0, minerHotkey: "B", attemptLog: log(["A", "failed", 0], ["B", "failed", 0]) };
    const m = byMiner(e);
    expect(m.B!.failed).toBe(1);
    expect(m.A!.failed).toBe(1);
    expect(minerShares(e)).toHaveLength(2);
  });

  it("blames nobody for a request every miner failed the same way, or for the gateway's own failure", () => {
    for (const status of ["request_error", "internal_error"] as const) {
      const e: Ev = { ...base, status, httpStatus: 502, completionTokensCounted: 0, minerHotkey: "B", attemptLog: log(["A", "failed", 0], ["B", "failed", 0]) };
      expect(minerShares(e)).toEqual([{ minerHotkey: "B", counts: usageCounts(e) }]);
      expect(usageCounts(e).failed).toBe(0);
    }
  });

  it("credits no tokens to a broken miner when the request's work does not count (over-reported)", () => {
    const e: Ev = { ...base, completionTokensReported: 400, attemptLog: log(["A", "broken", 15], ["B", "answered", 25]) };
    const m = byMiner(e);
    expect(m.A).toEqual({ ...ZERO_COUNTS, requests: 1, failed: 1 });
    expect(m.B!.completionTokens).toBe(0);
    expect(m.B!.overReported).toBe(1);
  });
});
