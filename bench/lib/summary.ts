/**
 * Turns one run's raw samples into the summary (bench/results/latest.json): per workload and path
 * the percentiles, throughput, CPU and counted operations per request; the cost per million
 * requests derived from the counters; the Messages/Responses and continuation comparisons; the
 * targets (goals.ts) and what went wrong.
 */
import type { NodeComponents } from "../micro/node-components";
import { costPerMillionRequests, milli, PRICES, usd, type CostLine } from "./cost";
import { deriveUsage, type Derivation } from "./cost-derivation";
import { evaluateTargets, GATEWAY_IDS, type Target } from "./goals";
import type { LoggedMessage } from "./gateway-log";
import type { MachineFacts } from "./machine";
import { medianDiff, type MedianDiff } from "./noise";
import type { Flat } from "./ops";
import type { PacingReport } from "./paced";
import type { Acc, Results, Workload } from "./phases";
import { summarise, type Summary } from "./stats";
import type { WorkerdComponents } from "./workerd-components";

export interface RunInput {
  smoke: boolean;
  started: Date;
  finished: Date;
  command: string;
  machine: MachineFacts;
  config: Record<string, unknown>;
  paths: { id: string; label: string }[];
  workloads: Workload[];
  results: Results;
  memory: { idleKib: Record<string, number>; peakSampledKib: Record<string, number>; peakHwmKib: Record<string, number> };
  cpuTotalUs: Record<string, number>;
  /** Usage the run metered for the dev subscriber, and how all usage travelled (`usage_batches`). */
  metering: { servedByGateway: number; meteredRequests: number | null; batches: number; batchedEvents: number };
  /** The many-keys workload's subscribers. */
  manyKeys: { subscribers: number; planId: string } | null;
  /** The isolate's counters over the whole run (first and last reading), to check the phases' attribution. */
  runOps: { start: Flat; end: Flat } | null;
  /** The gateway's isolate under a profiler (bench/lib/profiler.ts), or null. */
  isolate: IsolateProfile | null;
  /** Warnings and errors wrangler printed for the gateway during the run, by message. */
  gatewayLog: LoggedMessage[];
  node: NodeComponents;
  workerd: WorkerdComponents | null;
}

/** µs per request by task, module and function, from the samples of a CPU profile of the gateway's isolate. */
export interface IsolateProfile {
  connections: number;
  seconds: number;
  intervalUs: number;
  requests: number;
  failed: number;
  bundleFound: boolean;
  totalUsPerRequest: number;
  tasks: [string, number][];
  modules: [string, number][];
  functions: [string, number][];
}

/** The profile's time per request that production bills as Worker CPU: everything but the Durable Objects'. */
export function isolateWorkerCpuUs(p: IsolateProfile): number {
  return p.totalUsPerRequest - p.tasks.filter(([k]) => k.startsWith("Durable Objects")).reduce((s, [, v]) => s + v, 0);
}

export interface PathFigures {
  latency: Summary;
  ttft: Summary | null;
  gaps: Summary | null;
  admission: Summary | null;
  ok: number;
  failed: number;
  rps: number;
  /** CPU µs per successful request, by process role. */
  cpuUsPerRequest: Record<string, number>;
  /** Counted operations over this path's phases (gateway paths), and phases lost to a restart. */
  ops: Flat;
  opsLost: number;
  /** Paced workloads: counted during the warm-up and after the measured window (not priced), and how the pace was kept. */
  opsWarmup?: Flat;
  opsAfter?: Flat;
  pacing?: PacingReport[];
}

export interface CostView {
  label: string;
  derivation: Derivation;
  lines: { key: string; what: string; perRequest: string; unit: string; perMillion: string }[];
  total: string;
  totalMicroUsd: string;
  note: string;
  /** Many-keys cases: which one (absent for one key). */
  manyKeys?: "cold" | "steady";
}

export interface DialectRow {
  endpoint: string;
  path: string;
  workload: string;
  addedP50Ms: number;
  addedP99Ms: number;
  workerCpuUsPerRequest: number;
  /** Worker CPU minus chat's at the same connections and path, same run. */
  cpuVsChatUs: number;
}

export interface ContinuationRow {
  path: string;
  streams: string;
  on: { n: number; ttftP50: number; gapP50: number };
  off: { n: number; ttftP50: number; gapP50: number };
  ttft: MedianDiff | null;
  gap: MedianDiff | null;
}

export interface RunSummary {
  input: Omit<RunInput, "results">;
  figures: Record<string, Record<string, PathFigures>>;
  maxThroughput: Record<string, { rps: number; at: string }>;
  /** The Worker's workerd CPU per one-key chat request over the fixed-concurrency phases, by gateway path. */
  workerCpuUsPerRequest: Record<string, number>;
  costs: CostView[];
  dialects: DialectRow[];
  continuation: ContinuationRow[];
  /** Burst workloads: how many answers' admission waited (took > 0 ms), by workload and path. */
  burstWaited: Record<string, Record<string, string>>;
  /** Share of the isolate's counted operations over the run that the phases accounted for. */
  opsAttribution: { phases: number; run: number } | null;
  targets: Target[];
  problems: string[];
  saturation: string[];
}

function figuresOf(acc: Acc, w: Workload): PathFigures {
  const cpuUsPerRequest: Record<string, number> = {};
  for (const [role, us] of Object.entries(acc.cpuUs)) cpuUsPerRequest[role] = acc.ok > 0 ? us / acc.ok : Number.NaN;
  return {
    latency: summarise(acc.latenciesMs),
    ttft: w.kind === "stream" ? summarise(acc.ttftMs) : null,
    gaps: w.kind === "stream" ? summarise(acc.gapsMs) : null,
    admission: w.kind === "burst" ? summarise(acc.admissionMs) : null,
    ok: acc.ok,
    failed: acc.failed,
    rps: acc.seconds > 0 ? acc.ok / acc.seconds : 0,
    cpuUsPerRequest,
    ops: acc.ops,
    opsLost: acc.opsLost,
    ...(acc.opsWarmup ? { opsWarmup: acc.opsWarmup } : {}),
    ...(acc.opsAfter ? { opsAfter: acc.opsAfter } : {}),
    ...(acc.pacing ? { pacing: acc.pacing } : {}),
  };
}

type ManyKeysWorkload = Extract<Workload, { kind: "load" } | { kind: "paced" }>;

/** The many-keys cases, each priced on its own: the cold one (as fast as it goes) and the paced, steady one. */
export function manyKeysCases(workloads: readonly Workload[]): ManyKeysWorkload[] {
  return workloads.filter((w): w is ManyKeysWorkload => (w.kind === "load" && w.keys === "many") || w.kind === "paced");
}

const thousands = (n: number) => n.toLocaleString("en-US");

/** What a many-keys case is, in the words the report and its cost rows use. */
export function manyKeysCaseLabel(w: ManyKeysWorkload, subscribers: number, planId: string): string {
  if (w.kind === "paced") {
    const every = w.keys / w.rate;
    return `${thousands(w.keys)} keys, each every ${Number.isInteger(every) ? every : every.toFixed(2)} s: steady use (plan ${planId}, ${w.rate} req/s paced, ${w.measureSec} s measured after ${w.warmupSec} s of warm-up)`;
  }
  return `${thousands(subscribers)} keys, each seen once: every request cold (plan ${planId}, ${w.connections} connections as fast as they go)`;
}

/**
 * A many-keys case's cost inputs: counted operations and requests over both gateway paths, and
 * the Worker's CPU per request on `cpuPath`.
 */
export function manyKeysCostInputs(results: Results, id: string, cpuPath: string): { ops: Flat; requests: number; cpuUsPerRequest: number } {
  const ops: Flat = {};
  let requests = 0;
  let cpuUs = 0;
  let cpuOk = 0;
  for (const gw of GATEWAY_IDS) {
    const acc = results[id]?.[gw];
    if (!acc) continue;
    sumOps(ops, acc.ops);
    requests += acc.ok + acc.failed;
    if (gw === cpuPath) {
      cpuUs += acc.cpuUs.worker ?? 0;
      cpuOk += acc.ok;
    }
  }
  return { ops, requests, cpuUsPerRequest: cpuOk > 0 ? cpuUs / cpuOk : Number.NaN };
}

const isChatOneKey = (w: Workload): w is Extract<Workload, { kind: "load" }> => w.kind === "load" && w.endpoint === "chat" && w.keys === "one";

function sumOps(into: Flat, from: Flat): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

function costView(label: string, derivation: Derivation, note: string, manyKeys?: CostView["manyKeys"]): CostView {
  const priced = costPerMillionRequests(derivation.usage);
  return {
    ...(manyKeys ? { manyKeys } : {}),
    label,
    derivation,
    lines: priced.lines.map((l: CostLine) => ({ key: l.key, what: PRICES[l.key].what, perRequest: milli(l.milliUnitsPerRequest), unit: PRICES[l.key].unit, perMillion: usd(l.microUsd) })),
    total: usd(priced.totalMicroUsd),
    totalMicroUsd: priced.totalMicroUsd.toString(),
    note,
  };
}

export function buildSummary(input: RunInput): RunSummary {
  const problems: string[] = [];
  /** Failures past 64 connections: expected when a path saturates, reported but not an error. */
  const saturation: string[] = [];
  const figures: Record<string, Record<string, PathFigures>> = {};
  for (const w of input.workloads) {
    const byPath = input.results[w.id] ?? {};
    figures[w.id] = Object.fromEntries(Object.entries(byPath).map(([p, acc]) => [p, figuresOf(acc, w)]));
    for (const [p, f] of Object.entries(figures[w.id] ?? {})) {
      const total = f.ok + f.failed;
      const kinds = Object.entries(byPath[p]?.failures ?? {})
        .map(([k, n]) => `${k} ×${n}`)
        .join(", ");
      if (f.ok === 0) problems.push(`${w.id}/${p}: no successful request${kinds ? ` (${kinds})` : ""}`);
      else if (((w.kind === "load" && w.connections <= 64) || w.kind === "paced") && f.failed / total > 0.001) problems.push(`${w.id}/${p}: ${f.failed} of ${total} requests failed (${kinds})`);
      else if (f.failed > 0 || kinds) saturation.push(`${w.id}/${p}: ${f.failed} of ${total} requests failed (${kinds || "stream errors"})`);
      if (f.opsLost > 0) problems.push(`${w.id}/${p}: ${f.opsLost} phases' operation counts lost (the isolate or the limits object restarted)`);
    }
  }

  // Max sustained throughput: best req/s over the one-key chat levels with < 1% failures.
  const maxThroughput: Record<string, { rps: number; at: string }> = {};
  for (const p of input.paths) {
    let best = { rps: 0, at: "n/a" };
    for (const w of input.workloads.filter(isChatOneKey)) {
      const f = figures[w.id]?.[p.id];
      if (!f || f.ok === 0 || f.failed / (f.ok + f.failed) >= 0.01) continue;
      if (f.rps > best.rps) best = { rps: f.rps, at: `${w.connections} connections` };
    }
    maxThroughput[p.id] = best;
  }

  // The Worker's CPU per one-key chat request (what production bills as Worker CPU, plus what
  // runs in the same workerd locally), per gateway path.
  const workerCpuUsPerRequest: Record<string, number> = {};
  for (const gw of GATEWAY_IDS) {
    let us = 0;
    let reqs = 0;
    for (const w of input.workloads.filter(isChatOneKey)) {
      const acc = input.results[w.id]?.[gw];
      if (!acc) continue;
      us += acc.cpuUs.worker ?? 0;
      reqs += acc.ok;
    }
    if (reqs > 0) workerCpuUsPerRequest[gw] = us / reqs;
  }
  const cpuPath = "gateway-workerd" in workerCpuUsPerRequest ? "gateway-workerd" : "gateway";

  // Costs from the counters: one key (every one-key chat load phase through either gateway
  // path), and many keys (the many-keys phases; their objects' own counts from the end of the run).
  const costs: CostView[] = [];
  const oneKey: Flat = {};
  let oneKeyRequests = 0;
  for (const w of input.workloads.filter(isChatOneKey)) {
    for (const gw of GATEWAY_IDS) {
      const acc = input.results[w.id]?.[gw];
      if (!acc) continue;
      sumOps(oneKey, acc.ops);
      oneKeyRequests += acc.ok + acc.failed;
    }
  }
  if (oneKeyRequests > 0) {
    costs.push(
      costView("one key (the dev subscriber, plan unlimited), non-streamed chat", deriveUsage(oneKeyRequests, workerCpuUsPerRequest[cpuPath] ?? Number.NaN, oneKey), "every one-key chat phase through either gateway path"),
    );
  }
  for (const w of input.manyKeys ? manyKeysCases(input.workloads) : []) {
    const mk = input.manyKeys as NonNullable<RunInput["manyKeys"]>;
    const c = manyKeysCostInputs(input.results, w.id, cpuPath);
    if (c.requests === 0) continue;
    costs.push(
      costView(
        `${manyKeysCaseLabel(w, mk.subscribers, mk.planId)}, non-streamed chat`,
        deriveUsage(c.requests, c.cpuUsPerRequest, c.ops),
        w.kind === "paced"
          ? `\`${w.id}\` through either gateway path: what the gateway counted within the measured windows (from the warm-up's end to the window's end, sends going on) over the requests due in them; the warm-up's counts and what landed after the windows are left out`
          : `every \`${w.id}\` phase through either gateway path`,
        w.kind === "paced" ? "steady" : "cold",
      ),
    );
  }
  // A paced case whose load generator fell behind measured another scenario: say so.
  for (const w of input.workloads) {
    if (w.kind !== "paced") continue;
    for (const [p, f] of Object.entries(figures[w.id] ?? {})) {
      for (const r of f.pacing ?? []) if (!r.kept) problems.push(`${w.id}/${p}: the pace was not kept (${r.why}); its figures are not the scenario's`);
    }
  }
  if (input.metering.batchedEvents === 0) problems.push("metering: no usage batches recorded");

  // Messages and Responses beside chat: same connections, same paths, same run.
  const dialects: DialectRow[] = [];
  const dialectLevels = new Set(input.workloads.flatMap((w) => (w.kind === "load" && w.endpoint !== "chat" ? [w.connections] : [])));
  for (const w of input.workloads) {
    // Each dialect's phases, and chat at the same connections as the reference row.
    if (w.kind !== "load" || w.keys !== "one" || !dialectLevels.has(w.connections)) continue;
    const chat = input.workloads.find((c) => isChatOneKey(c) && c.connections === w.connections);
    for (const gw of GATEWAY_IDS) {
      const f = figures[w.id]?.[gw];
      const direct = figures[w.id]?.direct;
      const chatF = chat ? figures[chat.id]?.[gw] : undefined;
      if (!f || !direct || !chatF) continue;
      const cpu = f.cpuUsPerRequest.worker ?? Number.NaN;
      dialects.push({
        endpoint: w.endpoint,
        path: gw,
        workload: w.id,
        addedP50Ms: f.latency.p50 - direct.latency.p50,
        addedP99Ms: f.latency.p99 - direct.latency.p99,
        workerCpuUsPerRequest: cpu,
        cpuVsChatUs: cpu - (chatF.cpuUsPerRequest.worker ?? Number.NaN),
      });
    }
  }

  // Continuation on (default) against opted out, same streams, same run (issue #13).
  const continuation: ContinuationRow[] = [];
  for (const off of input.workloads) {
    if (off.kind !== "stream" || off.continuation) continue;
    const on = input.workloads.find((w) => w.kind === "stream" && w.continuation && w.concurrency === off.concurrency);
    if (!on) continue;
    for (const gw of GATEWAY_IDS) {
      const a = input.results[on.id]?.[gw];
      const b = input.results[off.id]?.[gw];
      if (!a || !b) continue;
      const sa = summarise(a.ttftMs);
      const sb = summarise(b.ttftMs);
      continuation.push({
        path: gw,
        streams: `${off.concurrency} at a time`,
        on: { n: a.ok, ttftP50: sa.p50, gapP50: summarise(a.gapsMs).p50 },
        off: { n: b.ok, ttftP50: sb.p50, gapP50: summarise(b.gapsMs).p50 },
        ttft: medianDiff(a.ttftMs, b.ttftMs),
        gap: medianDiff(a.gapsMs, b.gapsMs),
      });
    }
  }


  const burstWaited: Record<string, Record<string, string>> = {};
  for (const w of input.workloads) {
    if (w.kind !== "burst") continue;
    for (const [p, acc] of Object.entries(input.results[w.id] ?? {})) {
      (burstWaited[w.id] ??= {})[p] = `${acc.admissionMs.filter((ms) => ms > 0).length} of ${acc.admissionMs.length}`;
    }
  }

  const targets = evaluateTargets(input, figures, maxThroughput, workerCpuUsPerRequest, costs, continuation);
  if (input.metering.meteredRequests === null) problems.push("metering: the dev subscriber's usage report could not be read after the rounds");
  else if (input.metering.meteredRequests < input.metering.servedByGateway) {
    problems.push(`metering: ${input.metering.meteredRequests} usage rows for ${input.metering.servedByGateway} requests served through the gateway`);
  }
  const { results: _omit, ...rest } = input;
  void _omit;
  return { input: rest, figures, maxThroughput, workerCpuUsPerRequest, costs, dialects, continuation, burstWaited, opsAttribution: opsAttributionOf(rest, figures), targets, problems, saturation };
}

/**
 * How much of what the isolate counted between the first and the last reading of the rounds the
 * rounds' phases hold (the bursts run after the last reading and are left out).
 */
export function opsAttributionOf(input: Pick<RunInput, "runOps" | "workloads">, figures: Record<string, Record<string, PathFigures>>): RunSummary["opsAttribution"] {
  const ops = input.runOps;
  if (!ops || ops.start["isolate.since"] !== ops.end["isolate.since"]) return null;
  const billed = (f: Flat) => Object.entries(f).filter(([k]) => k.startsWith("isolate.") && k !== "isolate.since").reduce((s, [, v]) => s + v, 0);
  let phases = 0;
  for (const w of input.workloads) {
    if (w.kind === "burst") continue;
    for (const f of Object.values(figures[w.id] ?? {})) phases += billed(f.ops) + billed(f.opsWarmup ?? {}) + billed(f.opsAfter ?? {});
  }
  return { phases, run: billed(ops.end) - billed(ops.start) };
}
