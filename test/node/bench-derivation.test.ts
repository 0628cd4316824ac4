import { describe, expect, it } from "vitest";
import { costPerMillionRequests } from "../../bench/lib/cost";
import { deriveUsage } from "../../bench/lib/cost-derivation";
import { medianDiff } from "../../bench/lib/noise";

describe("bench cost derivation from counted operations", () => {
  it("divides each line's counters by the requests sent", () => {
    const d = deriveUsage(1000, 850, {
      "isolate.usage.consumer_invocation": 10,
      "isolate.usage.d1_rows_written": 500,
      "isolate.usage.d1_rows_read": 20_000,
      "isolate.usage.queue_send": 50,
      "isolate.usage.consumer_ack": 50,
      "isolate.usage.consumer_retry": 2,
      "isolate.usage.r2_put": 52,
      "isolate.limits.exchange": 30,
      "isolate.limits.reserve": 4,
      "isolate.limits.object.alarm": 3,
      "isolate.limits.object.report": 99, // admin reads are not request traffic
      "isolate.health.report": 16,
      "isolate.limits.object.rows.exchange": 90,
      "isolate.limits.object.rows.alarm": 3,
      "isolate.limits.object.rows.report": 50,
      "isolate.health.object.rows": 16,
    });
    expect(d.usage).toEqual({
      workerRequests: 1010n, // 1000 requests + 10 consumer invocations, in thousandths per request
      workerCpuMs: 850n,
      d1RowsWritten: 500n,
      d1RowsRead: 20_000n,
      queueOps: 152n, // 50 sends + 52 deliveries + 50 deletes
      r2ClassA: 52n,
      doRequests: 53n, // 30 + 4 calls + 3 alarms + 16 MinerHealth reports
      doRowsWritten: 109n, // 90 + 3 + 16; the report's rows are left out
    });
    expect(costPerMillionRequests(d.usage).totalMicroUsd).toBeGreaterThan(0n);
    expect(d.lines.find((l) => l.key === "queueOps")?.total).toBe(152);
  });

  it("prices nothing per request when no request was sent", () => {
    const d = deriveUsage(0, Number.NaN, { "isolate.usage.r2_put": 5 });
    expect(d.usage.r2ClassA).toBe(0n);
    expect(d.usage.workerCpuMs).toBe(0n);
  });
});

describe("bench noise: bootstrap interval of a median difference", () => {
  it("finds no difference between two draws of the same distribution", () => {
    const a = Array.from({ length: 200 }, (_, i) => 10 + ((i * 37) % 11) / 10);
    const b = Array.from({ length: 200 }, (_, i) => 10 + ((i * 53) % 11) / 10);
    const r = medianDiff(a, b);
    expect(r?.withinNoise).toBe(true);
  });

  it("finds a shift far larger than the spread", () => {
    const a = Array.from({ length: 100 }, (_, i) => 20 + (i % 5) / 10);
    const b = Array.from({ length: 100 }, (_, i) => 10 + (i % 5) / 10);
    const r = medianDiff(a, b);
    expect(r?.withinNoise).toBe(false);
    expect(r?.diff).toBeCloseTo(10, 5);
    expect(r?.lo).toBeGreaterThan(9);
  });

  it("is deterministic and refuses empty samples", () => {
    const a = [1, 2, 3, 4, 5];
    const b = [2, 3, 4, 5, 6];
    expect(medianDiff(a, b)).toEqual(medianDiff(a, b));
    expect(medianDiff([], b)).toBeNull();
  });
});
