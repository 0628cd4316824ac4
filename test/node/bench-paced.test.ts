import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pacedCounts, pacedSlot, pacingReport, runPaced } from "../../bench/lib/paced";
import type { Acc, Results, Workload } from "../../bench/lib/phases";
import { manyKeysCaseLabel, manyKeysCases, manyKeysCostInputs } from "../../bench/lib/summary";

describe("bench paced load: schedule and key order", () => {
  it("takes keys round-robin, each due exactly keys / rate apart", () => {
    const keys = 1000;
    const rate = 200;
    expect(pacedSlot(0, keys, rate)).toEqual({ key: 0, dueMs: 0 });
    expect(pacedSlot(1, keys, rate)).toEqual({ key: 1, dueMs: 5 });
    expect(pacedSlot(999, keys, rate).key).toBe(999);
    expect(pacedSlot(1000, keys, rate)).toEqual({ key: 0, dueMs: 5000 });
    // Every key comes back after exactly 5 s.
    for (const i of [0, 7, 123, 999, 4321]) expect(pacedSlot(i + keys, keys, rate).dueMs - pacedSlot(i, keys, rate).dueMs).toBe(5000);
    expect(pacedSlot(1234, keys, rate).key).toBe(234);
  });

  it("counts the warm-up's and the window's requests", () => {
    expect(pacedCounts(200, 12, 30)).toEqual({ warmup: 2400, measured: 6000 });
    expect(pacedCounts(10, 2, 4)).toEqual({ warmup: 20, measured: 40 });
  });
});

describe("bench paced load: the pacing report", () => {
  const schedule = (keys: number, rate: number, n: number, warmup: number, jitterMs: (i: number) => number) =>
    Array.from({ length: n }, (_, i) => {
      const { key, dueMs } = pacedSlot(i, keys, rate);
      const late = jitterMs(i);
      return { key, atMs: dueMs + late, lateMs: late, inWindow: i >= warmup };
    });

  it("reports a kept pace from sends on schedule", () => {
    const r = pacingReport(schedule(100, 20, 400, 100, () => 1), 100, 20, 15);
    expect(r.targetIntervalSec).toBe(5);
    expect(r.sent).toBe(300);
    expect(r.achievedRate).toBe(20);
    expect(r.interval.n).toBe(300); // every window send has its key's previous send (from the warm-up or the window)
    expect(r.interval.p50).toBeCloseTo(5, 9);
    expect(r.interval.p99).toBeCloseTo(5, 9);
    expect(r.kept).toBe(true);
    expect(r.why).toBe("");
  });

  it("says the pace was not kept when sends fell behind", () => {
    // From request 200 on, every send leaves 2 s late: those keys' intervals stretch to 7 s once.
    const r = pacingReport(schedule(100, 20, 400, 100, (i) => (i >= 200 ? 2000 : 0)), 100, 20, 15);
    expect(r.kept).toBe(false);
    expect(r.why).toContain("p99 per-key interval 7.00 s against 5.00 s");
    // The window's 300 sends spread over 20 s instead of 15 s.
    const slow = pacingReport(schedule(100, 15, 400, 100, () => 0).map((x) => ({ ...x })), 100, 20, 20);
    expect(slow.kept).toBe(false);
    expect(slow.why).toContain("achieved 15.0 req/s against 20");
  });
});

describe("bench paced load against a local server", () => {
  let server: Server;
  let url = "";
  const seen: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      seen.push(String(req.headers.authorization));
      req.resume();
      req.on("end", () => setTimeout(() => res.end("{}"), 3));
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1/chat/completions`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it("keeps the pace, sends keys in order and marks the window", async () => {
    const marks: { at: string; ms: number }[] = [];
    const t0 = Date.now();
    const values = Array.from({ length: 10 }, (_, i) => `Bearer k${i}`);
    const r = await runPaced({ url, headers: { "content-type": "application/json" }, body: "{}", rotate: { header: "authorization", values }, rate: 50, warmupSec: 0.4, measureSec: 0.8, maxSockets: 8, mark: async (at) => void marks.push({ at, ms: Date.now() - t0 }) });
    // 60 due before the window's end, and a few more while the end reading ran (not counted).
    expect(seen.length).toBeGreaterThanOrEqual(60);
    expect(seen.length).toBeLessThanOrEqual(63);
    expect(seen.slice(0, 12)).toEqual([...values, values[0], values[1]]);
    expect(r.ok).toBe(40);
    expect(r.failed).toBe(0);
    expect(r.pacing.sent).toBe(40);
    expect(r.pacing.targetIntervalSec).toBeCloseTo(0.2, 9);
    expect(r.pacing.interval.p50).toBeGreaterThan(0.17);
    expect(r.pacing.interval.p50).toBeLessThan(0.23);
    expect(marks.map((m) => m.at)).toEqual(["start", "end"]);
    expect(marks[0]?.ms).toBeGreaterThanOrEqual(380);
    expect(marks[1]?.ms).toBeGreaterThanOrEqual(1180);
  });
});

describe("bench many-keys cases: one cost view each", () => {
  const acc = (ok: number, ops: Record<string, number>, worker: number): Acc => ({ latenciesMs: [], ttftMs: [], gapsMs: [], admissionMs: [], ok, failed: 0, failures: {}, seconds: 1, cpuUs: { worker }, ops, opsLost: 0 });
  const cold: Workload = { kind: "load", id: "keys-c16", connections: 16, endpoint: "chat", keys: "many" };
  const paced: Workload = { kind: "paced", id: "keys-paced", endpoint: "chat", keys: 1000, rate: 200, warmupSec: 12, measureSec: 30, maxSockets: 64 };
  const workloads: Workload[] = [{ kind: "load", id: "c16", connections: 16, endpoint: "chat", keys: "one" }, cold, paced];

  it("finds both cases and labels them cold and steady", () => {
    expect(manyKeysCases(workloads).map((w) => w.id)).toEqual(["keys-c16", "keys-paced"]);
    expect(manyKeysCaseLabel(cold as never, 1000, "pro")).toBe("1,000 keys, each seen once: every request cold (plan pro, 16 connections as fast as they go)");
    expect(manyKeysCaseLabel(paced as never, 1000, "pro")).toBe("1,000 keys, each every 5 s: steady use (plan pro, 200 req/s paced, 30 s measured after 12 s of warm-up)");
  });

  it("sums each case's counters over both gateway paths, apart from the other case", () => {
    const results: Results = {
      "keys-c16": { direct: acc(500, {}, 0), gateway: acc(100, { "isolate.usage.d1_rows_written": 120 }, 0), "gateway-workerd": acc(100, { "isolate.usage.d1_rows_written": 110 }, 40_000) },
      "keys-paced": { gateway: acc(6000, { "isolate.usage.d1_rows_written": 3000 }, 0), "gateway-workerd": acc(6000, { "isolate.usage.d1_rows_written": 3100 }, 2_400_000) },
    };
    expect(manyKeysCostInputs(results, "keys-c16", "gateway-workerd")).toEqual({ ops: { "isolate.usage.d1_rows_written": 230 }, requests: 200, cpuUsPerRequest: 400 });
    expect(manyKeysCostInputs(results, "keys-paced", "gateway-workerd")).toEqual({ ops: { "isolate.usage.d1_rows_written": 6100 }, requests: 12000, cpuUsPerRequest: 400 });
  });
});
