/**
 * The soak's figures: one JSON document (soak/results.json) and its rendering (SOAK.md), and the
 * verdict: which invariants held. Every number comes from the run; nothing here computes a figure
 * it was not given.
 */
import type { MachineFacts } from "../../bench/lib/machine";
import type { Accounting } from "./accounting";
import type { ClientRecord } from "./client";
import type { Quiescence, SlotsCheck } from "./checks";
import type { FaultCounts } from "./faults";
import type { ConcurrencyCheck, RpmCheck, SpendCheck } from "./limits";
import type { WaveResult } from "./probes";
import type { Failures } from "./verdicts";

export interface SoakResult {
  profile: string;
  generatedAt: string;
  durationSec: number;
  trafficSec: number;
  machine: MachineFacts;
  stack: { via: "workerd" | "proxy"; vars: Record<string, string>; miners: number; maxMinerAttempts: number };
  traffic: {
    requests: number;
    byPhase: Record<string, number>;
    byDialect: Record<string, { plain: number; streamed: number }>;
    subscribers: number;
    keys: number;
    byPlan: Record<string, { subscribers: number; requests: number }>;
  };
  faults: FaultCounts & {
    minerProcessesKilled: number;
    minerProcessesStarted: number;
    struck: Record<string, number>;
    redeliveriesSeenAgain: number;
    clientAborts: { beforeAnswer: number; afterHeaders: number };
    redirectsFollowed: number;
    impostorRequests: number;
  };
  accounting: Accounting;
  quiescence: Quiescence;
  failures: Failures;
  limits: { rpm: RpmCheck[]; concurrency: ConcurrencyCheck[]; waves: WaveResult[]; spend: SpendCheck[]; slots: SlotsCheck };
  memory: { workerdHwmKib: number; workerdRssEndKib: number; rssSamples: [number, number][] };
  gatewayLog: { counts: Record<string, number>; samples: string[] };
  afterwards: { dialect: string; stream: boolean; outcome: string; status: number | null; detail: string | null }[];
  verdict: { pass: boolean; failed: string[] };
}

/** The invariants, each with the figure that decides it. A soak passes when all hold. */
export function verdict(r: Omit<SoakResult, "verdict">): SoakResult["verdict"] {
  const failed: string[] = [];
  const check = (ok: boolean, what: string) => {
    if (!ok) failed.push(what);
  };
  check(r.accounting.lost.total === 0, `usage records lost: ${r.accounting.lost.total}`);
  check(r.accounting.doubled.total === 0, `usage records doubled: ${r.accounting.doubled.total}`);
  check(r.accounting.phantom === 0, `usage events no request explains: ${r.accounting.phantom}`);
  check(r.accounting.meteredRefusals.total === 0, `refused requests metered: ${r.accounting.meteredRefusals.total}`);
  check(r.quiescence.settled, "usage did not settle before the deadline");
  const unexpected = Object.values(r.failures.unexpected).reduce((s, n) => s + n, 0);
  check(unexpected === 0, `unexpected client-visible failures: ${unexpected}`);
  for (const c of r.limits.rpm) check(c.maxInWindow <= c.limit, `${c.subscriberId}: ${c.maxInWindow} requests admitted in one minute, limit ${c.limit}`);
  for (const c of r.limits.concurrency) check(c.maxProven <= c.limit, `${c.plan}: ${c.maxProven} streams open at once, limit ${c.limit}`);
  for (const c of r.limits.spend) check(c.chargedMicroUsd <= c.allowanceMicroUsd, `${c.subscriberId}: charged ${c.chargedMicroUsd} of an allowance of ${c.allowanceMicroUsd} micro-USD`);
  check(r.limits.slots.stillHeld.length === 0, `concurrency slots still held after every request ended: ${JSON.stringify(r.limits.slots.stillHeld)}`);
  check(r.faults.redirectsFollowed === 0, `redirects followed to the internal service: ${r.faults.redirectsFollowed}`);
  for (const [name, n] of Object.entries(r.gatewayLog.counts)) check(n === 0, `gateway log: ${n} × ${name}`);
  check(r.afterwards.every((a) => a.outcome === "complete"), "the gateway did not answer every final clean request");
  check(r.faults.errors.length === 0, `faults that could not be injected: ${r.faults.errors.length}`);
  return { pass: failed.length === 0, failed };
}

export function trafficSummary(records: readonly ClientRecord[], subscribers: number, keys: number): SoakResult["traffic"] {
  const byPhase: Record<string, number> = {};
  const byDialect: Record<string, { plain: number; streamed: number }> = {};
  const byPlan: Record<string, { subscribers: number; requests: number }> = {};
  const subsByPlan = new Map<string, Set<string>>();
  for (const r of records) {
    byPhase[r.phase] = (byPhase[r.phase] ?? 0) + 1;
    const d = (byDialect[r.dialect] ??= { plain: 0, streamed: 0 });
    if (r.stream) d.streamed++;
    else d.plain++;
    const p = (byPlan[r.plan] ??= { subscribers: 0, requests: 0 });
    p.requests++;
    const set = subsByPlan.get(r.plan) ?? new Set<string>();
    set.add(r.subscriberId);
    subsByPlan.set(r.plan, set);
  }
  for (const [plan, set] of subsByPlan) byPlan[plan]!.subscribers = set.size;
  return { requests: records.length, byPhase, byDialect, subscribers, keys, byPlan };
}

const n = (x: number) => x.toLocaleString("en-US");

/** The dev switch's fault names (src/dev/faults.ts), as the report says them. */
const STRUCK: Record<string, string> = {
  usage_d1_write: "D1 write failures in the usage consumer",
  usage_redelivery: "redeliveries of an already recorded batch",
  usage_queue_late_copy: "queue sends that went through but reported failure",
};
const table = (head: string[], rows: (string | number)[][]) =>
  [`| ${head.join(" | ")} |`, `| ${head.map(() => "---").join(" | ")} |`, ...rows.map((r) => `| ${r.map((c) => (typeof c === "number" ? n(c) : c)).join(" | ")} |`)].join("\n");

export function renderMarkdown(r: SoakResult): string {
  const a = r.accounting;
  const mb = (kib: number) => `${(kib / 1024).toFixed(1)} MiB`;
  const rss = r.memory.rssSamples;
  const lines: string[] = [
    "# Soak",
    "",
    `Generated by \`npm run soak${r.stack.via === "proxy" ? " -- --via proxy" : ""}\` on ${r.generatedAt} (${Math.round(r.durationSec)} s, of which ${Math.round(r.trafficSec)} s of traffic under faults), commit \`${r.machine.commit}\`${r.machine.dirtyFiles ? ` with ${r.machine.dirtyFiles} uncommitted file(s)` : ""}. Every figure comes from that one run (\`soak/results.json\`); how the soak works and how to read this: [docs/soak.md](docs/soak.md).`,
    "",
    `**Verdict: ${r.verdict.pass ? "pass" : "FAIL"}.**${r.verdict.failed.length ? ` Failed: ${r.verdict.failed.join("; ")}.` : " Every invariant below held."}`,
    "",
    "## Invariants",
    "",
    table(
      ["invariant", "measured"],
      [
        ["usage records lost (must be 0)", a.lost.total],
        ["usage records doubled (must be 0)", a.doubled.total],
        ["usage events no client request explains (must be 0)", a.phantom],
        ["refused requests that were metered (must be 0)", a.meteredRefusals.total],
        ["unexpected client-visible failures (must be 0)", Object.values(r.failures.unexpected).reduce((s, x) => s + x, 0)],
        ...r.limits.rpm.map((c): (string | number)[] => [`requests admitted in one minute, ${c.subscriberId} (${c.limit} rpm)`, `${c.maxInWindow} (of ${c.admitted} admitted, ${c.refused429} refused)`]),
        ...r.limits.concurrency.map((c): (string | number)[] => [`streams open at once, ${c.plan} plan (limit ${c.limit})`, `${c.maxProven} max over ${c.waves} waves; ${c.wavesAtLimit} waves reached the limit`]),
        ...r.limits.spend.map((c): (string | number)[] => [`charged, ${c.subscriberId} (allowance ${n(c.allowanceMicroUsd)} micro-USD)`, `${n(c.chargedMicroUsd)} micro-USD; ${c.refused402} requests refused 402`]),
        ["concurrency slots still held after the run", r.limits.slots.stillHeld.length],
        ["slots a restart's escrow placeholder still held (by design, until the escrow ends)", r.limits.slots.heldByEscrowPlaceholders ?? 0],
        ["redirects followed to the internal service (must be 0)", r.faults.redirectsFollowed],
        ["final clean request per dialect (streamed and not)", `${r.afterwards.filter((x) => x.outcome === "complete").length} of ${r.afterwards.length} complete`],
        ["gateway workerd memory high-water mark (VmHWM)", mb(r.memory.workerdHwmKib)],
      ],
    ),
    "",
    "## Traffic",
    "",
    `${n(r.traffic.requests)} requests (${Object.entries(r.traffic.byPhase).map(([p, c]) => `${p} ${n(c)}`).join(", ")}) from ${n(r.traffic.subscribers)} subscribers with ${n(r.traffic.keys)} keys, through the dev stack (\`wrangler dev\`) ${r.stack.via === "proxy" ? "by way of wrangler's local proxy" : "straight to the Worker's workerd socket (not wrangler's local proxy, a hop production does not have)"}, with ${r.stack.miners} reference miners (plus the gate miner of the concurrency probes).`,
    "",
    table(["dialect", "plain", "streamed"], Object.entries(r.traffic.byDialect).map(([d, c]) => [d, c.plain, c.streamed])),
    "",
    table(["plan", "subscribers", "requests"], Object.entries(r.traffic.byPlan).map(([p, c]) => [p, c.subscribers, c.requests])),
    "",
    "## Faults injected",
    "",
    table(
      ["fault", "count"],
      [
        ...Object.entries(r.faults.miner).map(([k, c]): (string | number)[] => [`miner: ${k}`, c ?? 0]),
        ["miner processes SIGKILLed / started", `${r.faults.minerProcessesKilled} / ${r.faults.minerProcessesStarted}`],
        ["requests that reached a redirect or junk impostor", r.faults.impostorRequests],
        ...Object.entries(r.faults.struck).map(([k, c]): (string | number)[] => [`Worker: ${STRUCK[k] ?? k} (struck)`, c]),
        ["Worker: forced redeliveries the consumer saw come back", r.faults.redeliveriesSeenAgain],
        [
          "Worker: Durable Object restarts, limits + routing health (confirmed)",
          `${r.faults.worker.limits_do_restart ?? 0} + ${r.faults.worker.miner_health_do_restart ?? 0} (${r.faults.restartsConfirmed})`,
        ],
        ["client aborts before the answer / after the headers", `${r.faults.clientAborts.beforeAnswer} / ${r.faults.clientAborts.afterHeaders}`],
      ],
    ),
    "",
    "## Usage accounting",
    "",
    table(
      ["figure", "value"],
      [
        ["client requests / with an x-request-id / without", `${n(a.clientRequests)} / ${n(a.withRequestId)} / ${n(a.withoutRequestId)}`],
        ["ids that must be metered / must not / either", `${n(a.mustBeMetered)} / ${n(a.mustNotBeMetered)} / ${n(a.either)}`],
        ["archive objects / events (subscriber events)", `${n(a.archive.objects)} / ${n(a.archive.events)} (${n(a.archive.subscriberEvents)})`],
        ["batch ledger batches / events", `${n(a.ledger.batches)} / ${n(a.ledger.events)}`],
        ["usage_hourly requests (the soak's subscribers)", a.rollupRequests],
        ["ids checked one by one in D1's recent-requests list", a.recentListChecked],
        ["events of requests the client aborted before it had an id", a.eventsOfRequestsWithoutId],
        ["lost: not in the archive / rollup below archive / not in the recent list / ledger below archive", `${a.lost.notInArchive} / ${a.lost.rollupBelowArchive} / ${a.lost.notInRecentList} / ${a.lost.ledgerBelowArchive}`],
        ["doubled: twice in the archive / rollup above archive / twice in the recent list / ledger above archive", `${a.doubled.inArchiveTwice} / ${a.doubled.rollupAboveArchive} / ${a.doubled.inRecentListTwice} / ${a.doubled.ledgerAboveArchive}`],
        ["waited for usage to settle", `${(r.quiescence.waitedMs / 1000).toFixed(1)} s${r.quiescence.settled ? "" : " (deadline passed)"}`],
      ],
    ),
    ...(a.lost.sample.length + a.doubled.sample.length ? ["", "Samples: " + [...a.lost.sample, ...a.doubled.sample].join("; ")] : []),
    "",
    "## Client-visible failures by cause",
    "",
    `${n(r.failures.complete)} requests got a whole, well-formed answer with the reference model's exact text.`,
    "",
    table(["cause", "expected", "count"], [
      ...Object.entries(r.failures.expected).sort((x, y) => y[1] - x[1]).map(([c, k]): (string | number)[] => [c, "yes", k]),
      ...Object.entries(r.failures.unexpected).sort((x, y) => y[1] - x[1]).map(([c, k]): (string | number)[] => [c, "**no**", k]),
    ]),
    ...(r.failures.samples.length
      ? ["", "Unexpected ones (first few):", "", ...r.failures.samples.map((s) => `- #${s.seq} ${s.dialect}${s.stream ? " streamed" : ""}, status ${s.status}, ${s.requestId ?? "no id"}: ${s.cause}${s.detail ? ` (${s.detail})` : ""}${s.usage ? `; usage: ${s.usage}` : ""}`)]
      : []),
    "",
    "## Limits",
    "",
    table(["probe wave", "plan", "limit", "sent", "held before the gate opened", "429", "proven open at once", "other"], r.limits.waves.map((w) => [w.wave, w.plan, w.limit, w.width, w.held, w.refused429, w.provenConcurrent, w.other])),
    "",
    "## Memory",
    "",
    `The gateway's workerd (Worker, queue consumer, Durable Objects, local D1): high-water mark ${mb(r.memory.workerdHwmKib)}, resident at the end ${mb(r.memory.workerdRssEndKib)}. Resident set every ~${rss.length > 1 ? Math.round((rss.at(-1)![0] - rss[0]![0]) / Math.max(1, rss.length - 1)) : 0} s: ${sparkline(rss.map((x) => x[1]))} (${mb(Math.min(...rss.map((x) => x[1])))} to ${mb(Math.max(...rss.map((x) => x[1])))}).`,
    "",
    "## Gateway log",
    "",
    table(["alarm", "lines"], Object.entries(r.gatewayLog.counts).map(([k, c]) => [k, c])),
    ...(r.gatewayLog.samples.length ? ["", ...r.gatewayLog.samples.map((s) => `- \`${s.replace(/`/g, "'")}\``)] : []),
    "",
    "## Machine",
    "",
    table(["what", "value"], [
      ["CPU", `${r.machine.nproc} cores, ${r.machine.cpuModel}`],
      ["Node / wrangler / workerd", `${r.machine.node} / ${r.machine.versions.wrangler} / ${r.machine.versions.workerd}`],
      ["load average at the end (1 / 5 / 15 min)", r.machine.loadAverage],
      ["soak settings", Object.entries(r.stack.vars).map(([k, v]) => `\`${k}=${v}\``).join(", ")],
    ]),
    "",
  ];
  return lines.join("\n");
}

function sparkline(values: number[]): string {
  if (values.length === 0) return "";
  const bars = "▁▂▃▄▅▆▇█";
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  const step = Math.max(1, Math.ceil(values.length / 60));
  const picked = values.filter((_, i) => i % step === 0);
  return picked.map((v) => bars[hi === lo ? 0 : Math.min(7, Math.floor(((v - lo) / (hi - lo)) * 8))]).join("");
}
