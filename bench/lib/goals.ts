/**
 * The targets `npm run bench` checks, pass or miss, from the run's own figures: issue #12's table
 * (on the workerd socket, and through wrangler dev too), #13's "continuation adds nothing to
 * unbroken streams", and #4's miner pick, the one earlier target that still applies.
 */
import { isolateWorkerCpuUs, type RunInput, type PathFigures, type CostView, type ContinuationRow } from "./summary";

export const GATEWAY_IDS = ["gateway-workerd", "gateway"] as const;

export interface Target {
  issue: string;
  what: string;
  target: string;
  measured: string;
  pass: boolean | null;
  note: string;
}

const f1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : "n/a");
const f2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : "n/a");
const f0 = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "n/a");
const pathLabel = (gw: string) => (gw === "gateway" ? "through wrangler dev" : "workerd socket");

export function evaluateTargets(
  input: RunInput,
  figures: Record<string, Record<string, PathFigures>>,
  maxThroughput: Record<string, { rps: number; at: string }>,
  workerCpuUsPerRequest: Record<string, number>,
  costs: readonly CostView[],
  continuation: readonly ContinuationRow[],
): Target[] {
  const out: Target[] = [];
  const add = (t: Omit<Target, "note"> & { note?: string }) => out.push({ note: "", ...t });
  const pk = maxThroughput.portkey?.rps ?? 0;
  if (input.isolate) {
    const p = input.isolate;
    const cpu = isolateWorkerCpuUs(p);
    add({
      issue: "#12",
      what: `Worker CPU per non-streamed request, the gateway's own isolate (CPU profile, workerd socket, ${p.connections} connections)`,
      target: "<= 1 ms",
      measured: `${f2(cpu / 1000)} ms`,
      pass: cpu <= 1000,
      note: `samples × ${p.intervalUs} µs over ${p.requests} requests, Durable Objects' share left out: ${p.tasks.map(([k, v]) => `${k.split(" (")[0]} ${f0(v)} µs`).join(", ")}; the profiler's own overhead is in it`,
    });
  }
  for (const gw of GATEWAY_IDS) {
    const label = pathLabel(gw);
    const g = figures.c16?.[gw];
    const d = figures.c16?.direct;
    if (g && d) {
      const p50 = g.latency.p50 - d.latency.p50;
      const p99 = g.latency.p99 - d.latency.p99;
      add({ issue: "#12", what: `added p50, 16 connections, non-streamed (${label})`, target: "<= 2 ms", measured: `${f2(p50)} ms`, pass: p50 <= 2 });
      add({ issue: "#12", what: `added p99, 16 connections, non-streamed (${label})`, target: "<= 10 ms", measured: `${f2(p99)} ms`, pass: p99 <= 10 });
    }
    const t = maxThroughput[gw];
    if (t && pk > 0) {
      const ratio = t.rps / pk;
      add({
        issue: "#12",
        what: `throughput vs Portkey, best sustained (${label})`,
        target: ">= 1.5x (aim 2x)",
        measured: `${f0(t.rps)} vs ${f0(pk)} req/s = ${f2(ratio)}x`,
        pass: ratio >= 1.5,
        note: ratio >= 2 ? "aim (2x) reached" : "",
      });
    }
    const cpu = workerCpuUsPerRequest[gw];
    if (cpu !== undefined) {
      add({
        issue: "#12",
        what: `Worker CPU per non-streamed request, the whole workerd process (/proc, ${label})`,
        target: "<= 1 ms",
        measured: `${f2(cpu / 1000)} ms`,
        pass: cpu <= 1000,
        note: "an upper bound: locally the same process runs miniflare's entry and its D1, R2 and Queue simulators, the Durable Objects and their storage",
      });
    }
    for (const [id, limit] of [["s1", 2], ["s16", 5]] as const) {
      const s = figures[id]?.[gw]?.ttft;
      const ds = figures[id]?.direct?.ttft;
      if (!s || !ds) continue;
      const overhead = s.p50 - ds.p50;
      add({ issue: "#12", what: `TTFT overhead p50, ${id === "s1" ? "1 stream" : "16 streams"} (${label})`, target: `<= ${limit} ms`, measured: `${f2(overhead)} ms`, pass: overhead <= limit });
    }
    for (const burst of input.workloads) {
      if (burst.kind !== "burst") continue;
      const adm = figures[burst.id]?.[gw]?.admission;
      if (!adm || adm.n === 0) continue;
      add({
        issue: "#12",
        what: `admission p50, ${burst.size} concurrent requests on one key, ${burst.cold ? "book idle before (cold)" : "book primed by one request (warm)"} (${label})`,
        target: "<= 2 ms",
        measured: `${f1(adm.p50)} ms (p90 ${f1(adm.p90)}, max ${f1(adm.max)})`,
        pass: adm.p50 <= 2,
        note: "server-timing admission;dur= of each answer",
      });
    }
  }
  for (const c of costs) {
    const micro = BigInt(c.totalMicroUsd);
    const note =
      c.manyKeys === "cold"
        ? "a subscriber's first request after being idle: cannot reach the target by design (one durable grant write and one rollup row per cold subscriber are its floor)"
        : c.manyKeys === "steady"
          ? "the same subscribers in steady use, counted within the measured windows (the first touch is in the warm-up)"
          : "";
    add({ issue: "#12", what: `platform cost per 1M requests, ${c.label}`, target: "<= $1.50", measured: c.total, pass: micro <= 1_500_000n, note });
  }
  const wasmSign = input.workerd?.components.find((c) => c.id === "sr25519-wasm");
  const signRatio = input.workerd?.ratios?.find((r) => r.what.startsWith("sr25519 signature"));
  add({
    issue: "#12",
    what: "sr25519 signature in workerd (WebAssembly)",
    target: "<= 80 µs",
    measured: wasmSign ? `${f1(wasmSign.cpuUsPerOp)} µs` : "not measured",
    pass: wasmSign ? wasmSign.cpuUsPerOp <= 80 : null,
    note: signRatio ? `${f2(signRatio.ratio)}x faster than the pure-TS signer in the same workerd` : "",
  });
  const cont = continuation.filter((c) => c.ttft && c.gap);
  if (cont.length > 0) {
    const noisy = cont.filter((c) => !(c.ttft?.withinNoise ?? false) || !(c.gap?.withinNoise ?? false));
    add({
      issue: "#13",
      what: "continuation on vs opted out: TTFT and inter-token gap of unbroken streams",
      target: "within noise",
      measured: cont.map((c) => `${c.streams}, ${pathLabel(c.path)}: TTFT ${f2(c.ttft?.diff ?? Number.NaN)} ms, gap ${f2(c.gap?.diff ?? Number.NaN)} ms`).join("; "),
      pass: noisy.length === 0,
      note: "median differences (on − off); pass when every 95% bootstrap interval contains 0 (table below)",
    });
  }
  const sel = input.node.select.find((s) => s.miners === 64) ?? input.node.select[0];
  add({
    issue: "#4",
    what: `picking a miner, CPU per request${sel ? ` (${sel.miners} miners)` : ""}`,
    target: "< 0.2 ms",
    measured: sel ? `${f2(sel.cpuUsPerOp / 1000)} ms` : "not measured",
    pass: sel ? sel.cpuUsPerOp < 200 : null,
    note: input.node.selectNote,
  });
  return out;
}
