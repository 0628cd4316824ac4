/**
 * One soak, start to finish (docs/soak.md): the gate and the "internal" service, the miner
 * fleet, the dev stack (startDevStack, the code `npm run dev` runs), the subscribers; then the
 * traffic with the fault schedule and the concurrency probes alongside; then the final clean
 * requests, waiting for usage to land, the accounting, the limit checks and the verdict.
 * `npm run soak` (soak/main.ts) and test/e2e/soak-smoke.test.ts both call `runSoak`.
 */
import { writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadAverageNow, machineFacts } from "../bench/lib/machine";
import { adminClient } from "./lib/admin";
import { eventsById, readArchive, readD1, reconcile } from "./lib/accounting";
import { finalRequests, slotsReturned, waitForUsage } from "./lib/checks";
import type { ClientRecord } from "./lib/client";
import { drive, sequencer, type DriverProgress } from "./lib/driver";
import { startFaults } from "./lib/faults";
import { startFleet } from "./lib/fleet";
import { startGate } from "./lib/gate";
import { startInternalService } from "./lib/impostors";
import { concurrencyChecks, rpmCheck, spendCheck } from "./lib/limits";
import { gatewayWorkerdPid, sampleMemory } from "./lib/memory";
import type { Profile } from "./lib/profile";
import { startProbes } from "./lib/probes";
import { trafficSummary, verdict, type SoakResult } from "./lib/report";
import { SOAK_VARS, startSoakStack } from "./lib/stack";
import { createSubscribers } from "./lib/subscribers";
import { failures } from "./lib/verdicts";

export interface SoakOptions {
  profile: Profile;
  log?: (line: string) => void;
  /** Print the stack's and the miners' output. */
  echo?: boolean;
  /**
   * Where the clients connect: the Worker's own workerd socket (default, as in production there is
   * no proxy), or wrangler dev's local proxy in front of it, as `npm run dev` users reach it.
   */
  via?: "workerd" | "proxy";
}

/** MAX_MINER_ATTEMPTS as the soak's stack runs it (the default). */
const MAX_MINER_ATTEMPTS = 3;
/** USAGE_RECENT_PER_SUBSCRIBER as the soak's stack runs it (the default). */
const RECENT_PER_SUBSCRIBER = 200;

export async function runSoak(opts: SoakOptions): Promise<SoakResult> {
  const { profile } = opts;
  const log = opts.log ?? (() => {});
  const started = Date.now();
  const loadAtStart = loadAverageNow();
  const stops: (() => Promise<void>)[] = [];
  try {
    const internal = await startInternalService();
    stops.push(internal.close);
    const gate = await startGate();
    stops.push(gate.close);
    log(`starting ${profile.miners} reference miners and the gate miner`);
    const fleet = await startFleet(profile.miners, gate.upstream);
    stops.push(fleet.stop);
    log("starting the dev stack (wrangler dev)");
    const { stack, log: gatewayLog, workerUrl } = await startSoakStack(fleet, opts.echo ?? false);
    stops.push(stack.stop);
    const via = opts.via ?? "workerd";
    const target = via === "proxy" ? stack.url : workerUrl;
    const admin = adminClient(target, stack.adminToken);
    const memory = sampleMemory(gatewayWorkerdPid(stack), 2_000);
    const subs = await createSubscribers(admin, profile.groups, profile.budgetMicroUsd);
    log(`gateway ${target} (${via === "proxy" ? "wrangler dev's proxy" : "the Worker's workerd socket"}); ${subs.all().length} subscribers`);

    const records: ClientRecord[] = [];
    const seq = sequencer();
    const onRecord = (r: ClientRecord) => void records.push(r);
    const progress: DriverProgress = { sent: 0, done: 0 };
    const trafficStarted = Date.now();
    const faults = startFaults({ profile, fleet, admin, internal, subs, log });
    const probes = startProbes({ baseUrl: target, gate, subs, everyMs: profile.waveEveryMs, seq, onRecord });
    let reported = 0;
    const ticker = setInterval(() => {
      const bad = records.filter((r) => r.outcome === "malformed" || r.outcome === "no_answer");
      log(`traffic: ${progress.done}/${profile.requests}+ done, ${progress.sent - progress.done} in flight, ${probes.waves.length} probe waves, ${bad.length} malformed/no answer so far`);
      for (const r of bad.slice(reported)) log(`  #${r.seq} ${r.dialect}${r.stream ? " streamed" : ""} ${r.status ?? "-"} ${r.requestId ?? "no id"}: ${r.outcome} ${r.detail ?? ""}`);
      reported = bad.length;
    }, 10_000);
    try {
      await drive(target, profile, subs, seq, onRecord, progress, () => !faults.covered());
    } finally {
      clearInterval(ticker);
      await probes.stop();
      await faults.stop();
    }
    const trafficSec = (Date.now() - trafficStarted) / 1000;
    log(`traffic done in ${trafficSec.toFixed(0)} s; every miner healthy again, armed faults disarmed`);

    const afterwards = await finalRequests(target, subs.final, seq);
    records.push(...afterwards);

    const mustHave = records.filter((r) => r.requestId !== null && r.status === 200).length;
    log("waiting for usage to settle");
    const quiescence = await waitForUsage(admin, mustHave, { stableMs: 8_000, deadlineMs: 240_000 });
    const archive = await readArchive(admin);
    const ids = subs.all().map((s) => s.id);
    const d1 = await readD1(admin, ids);
    const accounting = reconcile(records, archive, d1, ids, RECENT_PER_SUBSCRIBER);
    // Every client record, for digging into a failure (not part of the figures).
    const recordsFile = join(tmpdir(), `soak-records-${Date.now()}.ndjson`);
    writeFileSync(recordsFile, records.map((r) => JSON.stringify(r)).join("\n"));
    log(`client records: ${recordsFile}`);
    log(`accounting: lost ${accounting.lost.total}, doubled ${accounting.doubled.total}, phantom ${accounting.phantom}`);
    const slots = await slotsReturned(admin, subs.all(), 40_000);
    const mem = memory.stop();
    const struck = (await admin.call<{ injected: Record<string, number>; redeliveries_seen_again: number }>("GET", "/admin/dev/faults"));
    const events = eventsById(archive);
    const small = [...subs.groups.filter((g) => g.group.plan === "free").flatMap((g) => g.members), subs.probeSmall];
    const budget = subs.groups.filter((g) => g.group.plan === "soak-budget").flatMap((g) => g.members);

    const partial: Omit<SoakResult, "verdict"> = {
      profile: profile.name,
      generatedAt: new Date().toISOString(),
      durationSec: (Date.now() - started) / 1000,
      trafficSec,
      machine: machineFacts(loadAtStart),
      stack: { via, vars: Object.fromEntries(Object.entries(SOAK_VARS).map(([k, v]) => [k, v ?? ""])), miners: profile.miners, maxMinerAttempts: MAX_MINER_ATTEMPTS },
      traffic: trafficSummary(records, subs.all().length, subs.all().reduce((s, x) => s + x.keys.length, 0)),
      faults: {
        ...faults.counts,
        minerProcessesKilled: fleet.all().reduce((s, m) => s + m.kills, 0),
        minerProcessesStarted: fleet.all().reduce((s, m) => s + m.starts, 0),
        struck: struck.injected,
        redeliveriesSeenAgain: struck.redeliveries_seen_again,
        clientAborts: {
          beforeAnswer: records.filter((r) => r.outcome === "aborted_before_headers").length,
          afterHeaders: records.filter((r) => r.outcome === "aborted_after_headers").length,
        },
        redirectsFollowed: internal.requests(),
        impostorRequests: fleet.all().reduce((s, m) => s + m.impostorRequests, 0),
      },
      accounting,
      quiescence,
      failures: failures(records, events, MAX_MINER_ATTEMPTS),
      limits: {
        rpm: small.map((s) => rpmCheck(s, records)),
        concurrency: concurrencyChecks(probes.waves),
        waves: probes.waves,
        spend: budget.map((s) => spendCheck(s, records, archive.events.map((e) => e.event))),
        slots,
      },
      memory: { workerdHwmKib: mem.hwmKib, workerdRssEndKib: mem.rssEndKib, rssSamples: mem.samples },
      gatewayLog,
      afterwards: afterwards.map((r) => ({ dialect: r.dialect, stream: r.stream, outcome: r.outcome, status: r.status, detail: r.detail })),
    };
    return { ...partial, verdict: verdict(partial) };
  } finally {
    for (const stop of stops.reverse()) await stop().catch((err: unknown) => log(`stop failed: ${String(err)}`));
  }
}
