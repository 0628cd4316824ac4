/**
 * Usage accounting after the run: every request id the client got back, held against the three
 * stores metering writes (docs/metering.md): the R2 archive (every event, read whole through the
 * dev-only listing), the D1 hourly rollups (requests per subscriber, through GET /admin/usage) and
 * D1's per-subscriber recent-requests list (request ids, complete while a subscriber has no more
 * events than the list keeps), plus the batch ledger against the archive.
 *
 * What a request id must give:
 *   - an answer (200) or a dispatch failure (502, 504; 503 except limits_unavailable): exactly one
 *     usage event ("must be metered");
 *   - a refusal before routing (4xx; 503 limits_unavailable): none ("must not be metered");
 *   - anything else (500, an Anthropic-shaped 503 whose cause is not named): either.
 * Requests the client has no id for (aborted before the headers, no answer) may have an event or
 * not; the events the client cannot name must not outnumber them, per subscriber ("phantom").
 */
import type { UsageEvent } from "../../src/billing/usage-event";
import type { Admin } from "./admin";
import type { ClientRecord } from "./client";

export interface ArchivedEvent {
  event: UsageEvent;
  batchId: string;
}

export interface Archive {
  objects: number;
  events: ArchivedEvent[];
}

export async function readArchive(admin: Admin): Promise<Archive> {
  const events: ArchivedEvent[] = [];
  let objects = 0;
  let cursor: string | null = null;
  do {
    const q: string = cursor ? `&cursor=${encodeURIComponent(cursor)}` : "";
    const page = await admin.call<{ data: { key: string; batch_id: string | null; ndjson: string | null }[]; cursor: string | null }>("GET", `/admin/dev/usage-archive?limit=200${q}`);
    for (const o of page.data) {
      objects++;
      for (const line of (o.ndjson ?? "").split("\n")) if (line.trim() !== "") events.push({ event: JSON.parse(line) as UsageEvent, batchId: o.batch_id ?? "" });
    }
    cursor = page.cursor;
  } while (cursor);
  return { objects, events };
}

export interface D1View {
  /** usage_hourly requests per subscriber. */
  rollup: Map<string, number>;
  /** usage_recent request ids per subscriber (with repeats, if any). */
  recent: Map<string, string[]>;
  ledger: { batches: number; events: number };
}

interface UsageAnswer {
  totals: { requests: number } | null;
  recorded: { batches: number; events: number };
  rows?: { request_id: string }[];
}

export async function readD1(admin: Admin, subscriberIds: readonly string[]): Promise<D1View> {
  const rollup = new Map<string, number>();
  const recent = new Map<string, string[]>();
  let ledger = { batches: 0, events: 0 };
  for (const id of subscriberIds) {
    const u = await admin.call<UsageAnswer>("GET", `/admin/usage?subscriber_id=${encodeURIComponent(id)}&rows=10000`);
    rollup.set(id, u.totals?.requests ?? 0);
    recent.set(id, (u.rows ?? []).map((r) => r.request_id));
    ledger = u.recorded;
  }
  return { rollup, recent, ledger };
}

export type Expectation = "metered" | "not_metered" | "either";

export function expectationOf(r: ClientRecord): Expectation {
  if (r.status === null) return "either";
  if (r.status === 200 || r.status === 502 || r.status === 504) return "metered";
  if (r.status === 503) return r.errorCode === "limits_unavailable" ? "not_metered" : r.errorCode === null || r.dialect === "messages" ? "either" : "metered";
  if (r.status >= 400 && r.status < 500) return "not_metered";
  return "either";
}

export interface Accounting {
  clientRequests: number;
  withRequestId: number;
  mustBeMetered: number;
  mustNotBeMetered: number;
  either: number;
  withoutRequestId: number;
  archive: { objects: number; events: number; subscriberEvents: number; otherEvents: number };
  ledger: { batches: number; events: number };
  rollupRequests: number;
  /** Per store; `total` is what the report calls lost. */
  lost: { total: number; notInArchive: number; rollupBelowArchive: number; notInRecentList: number; ledgerBelowArchive: number; sample: string[] };
  doubled: { total: number; inArchiveTwice: number; rollupAboveArchive: number; inRecentListTwice: number; ledgerAboveArchive: number; sample: string[] };
  /** Events of refused requests (must not be metered). */
  meteredRefusals: { total: number; sample: string[] };
  /** Events the client cannot name beyond what its requests without an id explain. */
  phantom: number;
  /** Events matched to requests without an id: how many of those reached metering. */
  eventsOfRequestsWithoutId: number;
  /** Request ids checked one by one against D1's recent-requests list. */
  recentListChecked: number;
  recentListPerSubscriber: number;
}

export function reconcile(records: readonly ClientRecord[], archive: Archive, d1: D1View, subscriberIds: readonly string[], recentPerSubscriber: number): Accounting {
  const mine = new Set(subscriberIds);
  const byId = new Map<string, number>();
  const idsOf = new Map<string, Map<string, number>>();
  let subscriberEvents = 0;
  for (const { event } of archive.events) {
    byId.set(event.requestId, (byId.get(event.requestId) ?? 0) + 1);
    if (event.kind !== "subscriber" || event.subscriberId === null || !mine.has(event.subscriberId)) continue;
    subscriberEvents++;
    const m = idsOf.get(event.subscriberId) ?? new Map<string, number>();
    m.set(event.requestId, (m.get(event.requestId) ?? 0) + 1);
    idsOf.set(event.subscriberId, m);
  }
  const acc: Accounting = {
    clientRequests: records.length,
    withRequestId: 0,
    mustBeMetered: 0,
    mustNotBeMetered: 0,
    either: 0,
    withoutRequestId: 0,
    archive: { objects: archive.objects, events: archive.events.length, subscriberEvents, otherEvents: archive.events.length - subscriberEvents },
    ledger: d1.ledger,
    rollupRequests: 0,
    lost: { total: 0, notInArchive: 0, rollupBelowArchive: 0, notInRecentList: 0, ledgerBelowArchive: 0, sample: [] },
    doubled: { total: 0, inArchiveTwice: 0, rollupAboveArchive: 0, inRecentListTwice: 0, ledgerAboveArchive: 0, sample: [] },
    meteredRefusals: { total: 0, sample: [] },
    phantom: 0,
    eventsOfRequestsWithoutId: 0,
    recentListChecked: 0,
    recentListPerSubscriber: recentPerSubscriber,
  };
  const known = new Map<string, Set<string>>();
  const missingFromArchive = new Set<string>();
  const withoutId = new Map<string, number>();
  for (const r of records) {
    if (r.requestId === null) {
      acc.withoutRequestId++;
      withoutId.set(r.subscriberId, (withoutId.get(r.subscriberId) ?? 0) + 1);
      continue;
    }
    acc.withRequestId++;
    const set = known.get(r.subscriberId) ?? new Set<string>();
    set.add(r.requestId);
    known.set(r.subscriberId, set);
    const count = idsOf.get(r.subscriberId)?.get(r.requestId) ?? 0;
    const want = expectationOf(r);
    if (want === "metered") {
      acc.mustBeMetered++;
      if (count === 0) {
        acc.lost.notInArchive++;
        missingFromArchive.add(r.requestId);
        if (acc.lost.sample.length < 10) acc.lost.sample.push(`${r.requestId} (${r.dialect}, status ${r.status}, ${r.outcome}) not in the archive`);
      }
    } else if (want === "not_metered") {
      acc.mustNotBeMetered++;
      if (count > 0) {
        acc.meteredRefusals.total++;
        if (acc.meteredRefusals.sample.length < 10) acc.meteredRefusals.sample.push(`${r.requestId} (status ${r.status} ${r.errorCode})`);
      }
    } else acc.either++;
  }
  for (const sub of subscriberIds) {
    const events = idsOf.get(sub) ?? new Map<string, number>();
    const distinct = events.size;
    for (const [id, n] of events) {
      if (n > 1) {
        acc.doubled.inArchiveTwice += n - 1;
        if (acc.doubled.sample.length < 10) acc.doubled.sample.push(`${id} ${n} times in the archive`);
      }
    }
    const rollup = d1.rollup.get(sub) ?? 0;
    acc.rollupRequests += rollup;
    if (rollup > distinct) {
      acc.doubled.rollupAboveArchive += rollup - distinct;
      if (acc.doubled.sample.length < 10) acc.doubled.sample.push(`${sub}: ${rollup} requests in usage_hourly, ${distinct} in the archive`);
    }
    if (rollup < distinct) {
      acc.lost.rollupBelowArchive += distinct - rollup;
      if (acc.lost.sample.length < 10) acc.lost.sample.push(`${sub}: ${rollup} requests in usage_hourly, ${distinct} in the archive`);
    }
    // The recent-requests list: complete for a subscriber with no more events than it keeps.
    const listed = d1.recent.get(sub) ?? [];
    const listedSet = new Set(listed);
    acc.doubled.inRecentListTwice += listed.length - listedSet.size;
    if (distinct <= recentPerSubscriber) {
      acc.recentListChecked += distinct;
      for (const id of events.keys()) {
        if (!listedSet.has(id)) {
          acc.lost.notInRecentList++;
          if (acc.lost.sample.length < 10) acc.lost.sample.push(`${id} not in ${sub}'s recent-requests list`);
        }
      }
    }
    // In D1's list but not in the archive: the archive lost it (unless already counted above).
    for (const id of listedSet) {
      if (events.has(id) || missingFromArchive.has(id)) continue;
      missingFromArchive.add(id);
      acc.lost.notInArchive++;
      if (acc.lost.sample.length < 10) acc.lost.sample.push(`${id} in ${sub}'s recent-requests list, not in the archive`);
    }
    // Events the client cannot name: only its requests without an id can explain them.
    const names = known.get(sub) ?? new Set<string>();
    let unnamed = 0;
    for (const id of events.keys()) if (!names.has(id)) unnamed++;
    const explicable = withoutId.get(sub) ?? 0;
    acc.eventsOfRequestsWithoutId += Math.min(unnamed, explicable);
    acc.phantom += Math.max(0, unnamed - explicable);
  }
  if (d1.ledger.events > archive.events.length) acc.doubled.ledgerAboveArchive = d1.ledger.events - archive.events.length;
  if (d1.ledger.events < archive.events.length) acc.lost.ledgerBelowArchive = archive.events.length - d1.ledger.events;
  acc.lost.total = acc.lost.notInArchive + acc.lost.rollupBelowArchive + acc.lost.notInRecentList + acc.lost.ledgerBelowArchive;
  acc.doubled.total = acc.doubled.inArchiveTwice + acc.doubled.rollupAboveArchive + acc.doubled.inRecentListTwice + acc.doubled.ledgerAboveArchive;
  return acc;
}

/** Every event of a request id, for the failure verdicts. */
export function eventsById(archive: Archive): Map<string, UsageEvent> {
  const m = new Map<string, UsageEvent>();
  for (const { event } of archive.events) m.set(event.requestId, event);
  return m;
}
