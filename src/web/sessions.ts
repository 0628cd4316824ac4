/**
 * Web sessions: a D1 row per sign-in and a signed cookie token naming it. A session is valid while
 * its token verifies and is unexpired, its row is neither revoked nor expired, and (for a
 * subscriber) the subscriber is not blocked. Sign-out and blocking revoke rows, so a copied cookie
 * stops working with them.
 */
import { and, eq, isNull } from "drizzle-orm";
import { database } from "../db/client";
import { subscribers, webSessions } from "../db/schema";
import type { WebConfig } from "./config";
import { randomToken, signToken, verifyToken } from "./tokens";

export type WebSession =
  | { id: string; role: "subscriber"; subscriberId: string; expiresAt: number }
  | { id: string; role: "operator"; subscriberId: null; expiresAt: number };

export type SessionRole = WebSession["role"];

export async function startSession(
  d1: D1Database,
  cfg: WebConfig,
  who: { role: "subscriber"; subscriberId: string } | { role: "operator" },
  now = Date.now(),
): Promise<{ token: string; session: WebSession }> {
  const id = `ws_${randomToken(18)}`;
  const expiresAt = now + cfg.sessionTtlSeconds * 1000;
  const subscriberId = who.role === "subscriber" ? who.subscriberId : null;
  await database(d1).insert(webSessions).values({ id, role: who.role, subscriberId, createdAt: now, expiresAt });
  const token = await signToken(cfg.sessionSecret, "session", { sid: id }, cfg.sessionTtlSeconds, now);
  const session: WebSession = who.role === "subscriber" ? { id, role: "subscriber", subscriberId: who.subscriberId, expiresAt } : { id, role: "operator", subscriberId: null, expiresAt };
  return { token, session };
}

export async function resolveSession(d1: D1Database, cfg: WebConfig, token: string | undefined, now = Date.now()): Promise<WebSession | null> {
  if (!token) return null;
  const claims = await verifyToken(cfg.sessionSecret, "session", token, now);
  const sid = claims?.sid;
  if (typeof sid !== "string") return null;
  const row = await database(d1)
    .select({ id: webSessions.id, role: webSessions.role, subscriberId: webSessions.subscriberId, expiresAt: webSessions.expiresAt, revokedAt: webSessions.revokedAt, disabledAt: subscribers.disabledAt })
    .from(webSessions)
    .leftJoin(subscribers, eq(subscribers.id, webSessions.subscriberId))
    .where(eq(webSessions.id, sid))
    .get();
  if (!row || row.revokedAt !== null || row.expiresAt <= now) return null;
  if (row.role === "operator") return { id: row.id, role: "operator", subscriberId: null, expiresAt: row.expiresAt };
  if (row.role !== "subscriber" || row.subscriberId === null || row.disabledAt !== null) return null;
  return { id: row.id, role: "subscriber", subscriberId: row.subscriberId, expiresAt: row.expiresAt };
}

export async function endSession(d1: D1Database, id: string, now = Date.now()): Promise<void> {
  await database(d1).update(webSessions).set({ revokedAt: now }).where(and(eq(webSessions.id, id), isNull(webSessions.revokedAt)));
}

/** Ends every session of a subscriber (when an operator blocks it). */
export async function endSubscriberSessions(d1: D1Database, subscriberId: string, now = Date.now()): Promise<void> {
  await database(d1).update(webSessions).set({ revokedAt: now }).where(and(eq(webSessions.subscriberId, subscriberId), isNull(webSessions.revokedAt)));
}
