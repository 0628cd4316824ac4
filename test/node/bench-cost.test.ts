import { describe, expect, it } from "vitest";
import { costPerMillionRequests, milli, usd, type UsagePerRequest } from "../../bench/lib/cost";

const none: UsagePerRequest = { workerRequests: 0n, workerCpuMs: 0n, d1RowsWritten: 0n, d1RowsRead: 0n, queueOps: 0n, r2ClassA: 0n, doRequests: 0n, doRowsWritten: 0n };

describe("bench cost model", () => {
  it("prices a million requests in integer micro-USD", () => {
    // 1 request, 1.5 CPU-ms, 4 rows written, 3 queue operations per request.
    const { lines, totalMicroUsd } = costPerMillionRequests({ ...none, workerRequests: 1000n, workerCpuMs: 1500n, d1RowsWritten: 4000n, queueOps: 3000n });
    const by = Object.fromEntries(lines.map((l) => [l.key, l.microUsd]));
    expect(by.workerRequests).toBe(300_000n); // $0.30
    expect(by.workerCpuMs).toBe(30_000n); // 1.5M CPU-ms at $0.02/M
    expect(by.d1RowsWritten).toBe(4_000_000n); // 4M rows at $1/M
    expect(by.queueOps).toBe(1_200_000n); // 3M ops at $0.40/M
    expect(totalMicroUsd).toBe(5_530_000n);
    expect(usd(totalMicroUsd)).toBe("$5.530000");
  });

  it("prices a batch's R2 put shared by its events", () => {
    // One PutObject per batch of 40 events: 25 milli-operations per request.
    const { lines } = costPerMillionRequests({ ...none, r2ClassA: 25n });
    expect(lines.find((l) => l.key === "r2ClassA")?.microUsd).toBe(112_500n); // 25k ops at $4.50/M
  });

  it("keeps fractions of a unit and formats them", () => {
    const { totalMicroUsd } = costPerMillionRequests({ ...none, workerCpuMs: 1n }); // 0.001 CPU-ms per request
    expect(totalMicroUsd).toBe(20n); // 1000 CPU-ms per million requests at $0.02/M
    expect(milli(1234n)).toBe("1.234");
    expect(usd(7n)).toBe("$0.000007");
  });
});
