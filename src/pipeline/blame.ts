/**
 * Whose fault a request's failed attempts were. A failure every miner shows for the same request
 * is the request's fault (a client can otherwise push healthy miners out of routing, issue #15):
 * dispatch records attempt failures against miners only once the request has ended, and not at
 * all when the request is to blame.
 *
 * The request is to blame when
 * - a miner refused it as invalid (400/413/422, passed to the client): earlier failures on the
 *   same body are most likely the same defect, seen less politely; or
 * - at least two different miners were tried, all failed, and all failed the same way with a
 *   failure a request can cause: the same 5xx status (not 503/504, which say "busy"/"slow"),
 *   or the same kind of bad answer. Connection errors and timeouts are never the request's fault.
 */
import type { AttemptFailureKind } from "./contracts";

export interface AttemptFailure {
  kind: AttemptFailureKind;
  detail: string;
  /** The miner that failed; null when no miner was at fault (the routing deadline passed). */
  hotkey: string | null;
  /**
   * What two miners failing "the same way" share (status code, kind of bad answer); null when
   * this failure cannot be caused by a request.
   */
  signature: string | null;
}

/** Capacity and latency statuses: a miner saying it is busy or slow, never the request's doing. */
const CAPACITY_STATUSES = new Set([429, 503, 504]);

/** The signature of a miner answering with an error status. */
export function statusSignature(status: number): string | null {
  return status >= 500 && !CAPACITY_STATUSES.has(status) ? `status ${status}` : null;
}

export function requestIsToBlame(failures: readonly AttemptFailure[]): boolean {
  if (failures.length < 2) return false;
  const first = failures[0]?.signature ?? null;
  if (first === null) return false;
  if (new Set(failures.map((f) => f.hotkey)).size < 2) return false;
  return failures.every((f) => f.signature === first);
}
