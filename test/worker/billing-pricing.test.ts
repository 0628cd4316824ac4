/** Pure billing rules: which tokens are billed, integer cost, money and time formats, periods. */
import { describe, expect, it } from "vitest";
import { formatDuration, rfc3339 } from "../../src/billing/limit-headers";
import { billableTokens, costMicroUsd, formatUsd, priceFor, reportCap, usdNumber, type BillingInput } from "../../src/billing/pricing";
import { billingPeriod, calendarMonth } from "../../src/billing/profile";

const price = { model: "m", inputMicroUsdPerMtok: 150_000, outputMicroUsdPerMtok: 600_000, cachedInputMicroUsdPerMtok: 75_000 };

const ev = (over: Partial<BillingInput>): BillingInput => ({
  status: "ok",
  promptTokensReported: null,
  promptTokensCounted: 100,
  completionTokensReported: null,
  completionTokensCounted: 50,
  cachedPromptTokensReported: null,
  ...over,
});

describe("billable tokens", () => {
  it("bills the miner's count up to the gateway's count plus 10%, and the gateway's count without a report", () => {
    expect(billableTokens(ev({}))).toEqual({ prompt: 100, cached: 0, completion: 50 });
    expect(billableTokens(ev({ promptTokensReported: 104, completionTokensReported: 48 }))).toEqual({ prompt: 104, cached: 0, completion: 48 });
    expect(billableTokens(ev({ promptTokensReported: 300, completionTokensReported: 150 }))).toEqual({ prompt: 110, cached: 0, completion: 55 });
    expect(reportCap(0)).toBe(0);
    expect(reportCap(1)).toBe(2);
    expect(reportCap(10)).toBe(11);
  });

  it("bills cached tokens at most up to the prompt, and nothing for a failure that delivered nothing", () => {
    expect(billableTokens(ev({ cachedPromptTokensReported: 500 }))).toEqual({ prompt: 100, cached: 100, completion: 50 });
    expect(billableTokens(ev({ status: "miner_error", completionTokensCounted: 0 }))).toEqual({ prompt: 0, cached: 0, completion: 0 });
    expect(billableTokens(ev({ status: "client_cancelled", completionTokensCounted: 7 }))).toEqual({ prompt: 100, cached: 0, completion: 7 });
  });
});

describe("cost", () => {
  it("is integer micro-USD, rounded up once per request", () => {
    // 60 uncached * 0.15 + 40 cached * 0.075 + 50 * 0.6 = 9 + 3 + 30 = 42 micro-USD exactly.
    expect(costMicroUsd(price, { prompt: 100, cached: 40, completion: 50 })).toBe(42);
    // 1 input token at $0.15 per million = 0.15 micro-USD: charged as 1.
    expect(costMicroUsd(price, { prompt: 1, cached: 0, completion: 0 })).toBe(1);
    expect(costMicroUsd(price, { prompt: 0, cached: 0, completion: 0 })).toBe(0);
    // Large counts stay exact (BigInt inside).
    expect(costMicroUsd({ ...price, outputMicroUsdPerMtok: 999_999_999 }, { prompt: 0, cached: 0, completion: 9_000_000 })).toBe(8_999_999_991);
  });

  it("falls back to the default price row", () => {
    const prices = [{ ...price, model: "*" }, { ...price, model: "own", inputMicroUsdPerMtok: 1 }];
    expect(priceFor(prices, "own").inputMicroUsdPerMtok).toBe(1);
    expect(priceFor(prices, "other").model).toBe("*");
  });

  it("formats money exactly", () => {
    expect(formatUsd(0)).toBe("0.000000");
    expect(formatUsd(1_234_567)).toBe("1.234567");
    expect(formatUsd(10_000_000)).toBe("10.000000");
    expect(formatUsd(-5)).toBe("-0.000005");
    expect(usdNumber(140)).toBe(0.00014);
  });
});

describe("formats and periods", () => {
  it("writes durations like OpenAI and times as RFC 3339", () => {
    expect(formatDuration(0)).toBe("0ms");
    expect(formatDuration(250)).toBe("250ms");
    expect(formatDuration(7_500)).toBe("7.5s");
    expect(formatDuration(60_000)).toBe("1m0s");
    expect(formatDuration(3_723_000)).toBe("1h2m3s");
    expect(rfc3339(Date.UTC(2026, 11, 1))).toBe("2026-12-01T00:00:00Z");
  });

  it("uses the Stripe period, rolled forward by its length when a renewal is late, else the calendar month", () => {
    const now = Date.UTC(2026, 10, 24, 12);
    expect(calendarMonth(now)).toEqual({ start: Date.UTC(2026, 10, 1), end: Date.UTC(2026, 11, 1) });
    expect(calendarMonth(Date.UTC(2026, 11, 31, 23))).toEqual({ start: Date.UTC(2026, 11, 1), end: Date.UTC(2027, 0, 1) });
    const anchor = { start: Date.UTC(2026, 10, 10), end: Date.UTC(2026, 10, 20) };
    expect(billingPeriod(Date.UTC(2026, 10, 15), anchor)).toEqual(anchor);
    expect(billingPeriod(now, anchor)).toEqual({ start: Date.UTC(2026, 10, 20), end: Date.UTC(2026, 10, 30) });
    expect(billingPeriod(now, { start: null, end: null })).toEqual(calendarMonth(now));
  });
});
