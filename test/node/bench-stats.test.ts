import { describe, expect, it } from "vitest";
import { percentile, summarise } from "../../bench/lib/stats";

describe("bench statistics", () => {
  it("takes nearest-rank percentiles over raw samples", () => {
    const sorted = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(percentile(sorted, 50)).toBe(50);
    expect(percentile(sorted, 90)).toBe(90);
    expect(percentile(sorted, 99)).toBe(99);
    expect(percentile(sorted, 100)).toBe(100);
    expect(percentile([7], 99)).toBe(7);
    expect(Number.isNaN(percentile([], 50))).toBe(true);
  });

  it("summarises unsorted samples merged from several rounds", () => {
    const s = summarise([5, 1, 4, 2, 3, 10, 9, 8, 7, 6]);
    expect(s).toMatchObject({ n: 10, p50: 5, p90: 9, p99: 10, max: 10 });
    expect(s.mean).toBeCloseTo(5.5);
  });
});
