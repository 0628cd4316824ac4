/**
 * A usage batch: the unit that travels (one queue message), is archived (one R2 object) and is
 * applied (one D1 transaction, once: `id` is its idempotency key). The events travel as NDJSON,
 * serialised once by the producer, so the archive stores exactly the bytes the isolate wrote and
 * fields added to UsageEvent later ride along untouched.
 */
import { isObject } from "../lib/json";
import { isUsageEvent, type UsageEvent } from "./usage-event";

export interface UsageBatch {
  /** `ub_<32 hex>` from a batching isolate; `ev_<requestId>` for a single legacy event message. */
  id: string;
  /** When the producer flushed the batch (Unix ms); names its archive object. */
  flushedAt: number;
  /** One JSON usage event per line. */
  ndjson: string;
}

/** The queue message body (structured clone, so the NDJSON string is not escaped again). */
export interface UsageBatchMessage {
  usageBatch: 1;
  id: string;
  flushedAt: number;
  ndjson: string;
}

export function batchMessage(b: UsageBatch): UsageBatchMessage {
  return { usageBatch: 1, id: b.id, flushedAt: b.flushedAt, ndjson: b.ndjson };
}

/**
 * The batch a queue message carries, or null when it carries none. A bare UsageEvent (the
 * message format before batching) is a batch of one whose id follows from its request id, so a
 * redelivered legacy message is still applied once.
 */
export function batchOfMessage(body: unknown): UsageBatch | null {
  if (!isObject(body)) return null;
  if (body.usageBatch === 1) {
    const { id, flushedAt, ndjson } = body;
    if (typeof id !== "string" || !/^[A-Za-z0-9_-]{1,200}$/.test(id)) return null;
    if (!isTime(flushedAt) || typeof ndjson !== "string") return null;
    return { id, flushedAt, ndjson };
  }
  if (isUsageEvent(body)) return { id: `ev_${body.requestId.replace(/[^A-Za-z0-9_-]/g, "_")}`, flushedAt: body.createdAt, ndjson: JSON.stringify(body) };
  return null;
}

/** Unix ms that a Date can hold (the archive key is built from it). */
function isTime(v: unknown): v is number {
  return typeof v === "number" && Number.isInteger(v) && v >= 0 && v <= 8.64e15;
}

export interface ParsedEvent {
  event: UsageEvent;
  /** The event's line as the producer wrote it (stored as is in the recent-requests list). */
  json: string;
}

export interface ParsedBatch {
  events: ParsedEvent[];
  /** Lines that are not usage events: archived as received, counted nowhere, logged. */
  rejected: string[];
}

export function parseBatch(b: UsageBatch): ParsedBatch {
  const events: ParsedEvent[] = [];
  const rejected: string[] = [];
  for (const line of b.ndjson.split("\n")) {
    if (line.trim() === "") continue;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      rejected.push(line);
      continue;
    }
    if (isUsageEvent(value)) events.push({ event: value, json: line });
    else rejected.push(line);
  }
  return { events, rejected };
}

/** Where the batch is archived: deterministic, so a rewrite after a retry replaces the same object. */
export function archiveKey(b: Pick<UsageBatch, "id" | "flushedAt">): string {
  const iso = new Date(b.flushedAt).toISOString(); // 2026-11-24T12:34:56.789Z
  return `usage/${iso.slice(0, 10)}/${iso.slice(11, 13)}/${b.id}.ndjson`;
}
