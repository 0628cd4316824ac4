/**
 * What the soak checks once the traffic and the faults have stopped:
 *   - the gateway still serves: one clean request per dialect, streamed and not, each a whole,
 *     well-formed answer with the deterministic model's text;
 *   - usage has landed: the batch ledger stops growing, with at least every event the client
 *     knows must exist, and every redelivery the consumer forced has come back;
 *   - concurrency slots come back: no subscriber's limits object still counts a request in flight
 *     once every request has ended (a lease whose settle was lost frees its slot within
 *     LEASE_TTL_MS, a grant book gives back within GRANT_IDLE_MS or expires within GRANT_TTL_MS).
 */
import type { Admin } from "./admin";
import { send, type ClientRecord } from "./client";
import { CHAT_MODEL, DIALECTS, EMBED_MODEL } from "./dialects";
import type { Sequencer } from "./driver";
import type { Subscriber } from "./subscribers";

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

export async function finalRequests(baseUrl: string, sub: Subscriber, seq: Sequencer): Promise<ClientRecord[]> {
  const out: ClientRecord[] = [];
  for (const dialect of DIALECTS) {
    for (const stream of dialect === "embeddings" ? [false] : [false, true]) {
      const n = seq.next();
      out.push(
        await send(baseUrl, {
          seq: n,
          phase: "final",
          subscriberId: sub.id,
          plan: sub.plan.id,
          key: sub.keys[0]!,
          dialect,
          model: dialect === "embeddings" ? EMBED_MODEL : CHAT_MODEL,
          prompt: `soak ${n}: after the storm, say something about rivers`,
          maxTokens: 16,
          stream,
          abort: { kind: "none" },
        }),
      );
    }
  }
  return out;
}

export interface Quiescence {
  waitedMs: number;
  ledgerEvents: number;
  redeliveriesForced: number;
  redeliveriesSeenAgain: number;
  /** False when the deadline passed first (the accounting then shows what is missing). */
  settled: boolean;
}

interface FaultReportJson {
  injected: Record<string, number>;
  redeliveries_seen_again: number;
}

/** Waits until the ledger holds at least `minEvents` and has not grown for `stableMs`, and every forced redelivery came back. */
export async function waitForUsage(admin: Admin, minEvents: number, opts: { stableMs: number; deadlineMs: number }): Promise<Quiescence> {
  const started = Date.now();
  let last = -1;
  let lastChange = Date.now();
  for (;;) {
    const u = await admin.call<{ recorded: { events: number } }>("GET", "/admin/usage?subscriber_id=sub_soak_none");
    const f = await admin.call<FaultReportJson>("GET", "/admin/dev/faults");
    const events = u.recorded.events;
    if (events !== last) {
      last = events;
      lastChange = Date.now();
    }
    const forced = f.injected.usage_redelivery ?? 0;
    const q = { waitedMs: Date.now() - started, ledgerEvents: events, redeliveriesForced: forced, redeliveriesSeenAgain: f.redeliveries_seen_again };
    if (events >= minEvents && f.redeliveries_seen_again >= forced && Date.now() - lastChange >= opts.stableMs) return { ...q, settled: true };
    if (Date.now() - started > opts.deadlineMs) return { ...q, settled: false };
    await sleep(1_000);
  }
}

/** Id prefix of a restarted limits object's escrow placeholder (ESCROW_BOOK in src/billing/limits-state.ts). */
const ESCROW_BOOK = "escrow@";

export interface SlotsCheck {
  waitedMs: number;
  /** Subscribers whose object still counted requests in flight at the deadline (beyond escrow placeholders). */
  stillHeld: { subscriberId: string; inFlight: number }[];
  /** Slots a restarted object's escrow placeholder held at the end: by design, until the escrow ends (docs/admission.md). */
  heldByEscrowPlaceholders: number;
}

export async function slotsReturned(admin: Admin, subs: readonly Subscriber[], deadlineMs: number): Promise<SlotsCheck> {
  const started = Date.now();
  let pending = [...subs];
  let held: SlotsCheck["stillHeld"] = [];
  let placeholders = 0;
  for (;;) {
    held = [];
    placeholders = 0;
    for (const s of pending) {
      const r = await admin.call<{ limits: { concurrency: { in_flight: number } }; grants?: { book_id: string; concurrency: number }[] }>("GET", `/admin/subscribers/${s.id}/limits`);
      // A restart's escrow placeholder holds its slots until the escrow ends (up to a minute): not a leak.
      const escrow = (r.grants ?? []).filter((g) => g.book_id.startsWith(ESCROW_BOOK)).reduce((t, g) => t + g.concurrency, 0);
      placeholders += escrow;
      const inFlight = r.limits.concurrency.in_flight - escrow;
      if (inFlight > 0) held.push({ subscriberId: s.id, inFlight });
    }
    pending = pending.filter((s) => held.some((h) => h.subscriberId === s.id));
    if (held.length === 0 || Date.now() - started > deadlineMs) return { waitedMs: Date.now() - started, stillHeld: held, heldByEscrowPlaceholders: placeholders };
    await sleep(1_000);
  }
}
