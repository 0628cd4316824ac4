/**
 * From a verified sign-in to a subscriber. The first sign-in of an identity creates its
 * subscriber on DEFAULT_PLAN_ID (plan_id null), rate-limited per client address. When the OIDC
 * provider is also the JWT issuer of the API (JWT_ISSUER), the identity's `sub` is the
 * subscriber's external_id: an existing subscriber with that `sub` is linked instead of created,
 * and JWTs from that provider authenticate as the same subscriber.
 */
import { and, eq } from "drizzle-orm";
import { createSubscriber } from "../billing/subscribers";
import { database } from "../db/client";
import { oidcIdentities, subscribers } from "../db/schema";
import { GatewayError } from "../errors";
import type { VerifiedIdentity } from "./oidc";
import { takeRateToken } from "./rate-limit";

export interface SignInContext {
  /** JWT_ISSUER of the API, if any. */
  jwtIssuer: string | null;
  clientKey: string;
  signupsPerHour: number;
}

export const accountBlocked = () => new GatewayError(403, "permission_error", "account_disabled", "This account is blocked. Contact the operator.");

export async function subscriberForIdentity(d1: D1Database, who: VerifiedIdentity, ctx: SignInContext, now = Date.now()): Promise<string> {
  const db = database(d1);
  const known = await db
    .select({ subscriberId: oidcIdentities.subscriberId, disabledAt: subscribers.disabledAt })
    .from(oidcIdentities)
    .innerJoin(subscribers, eq(subscribers.id, oidcIdentities.subscriberId))
    .where(and(eq(oidcIdentities.issuer, who.issuer), eq(oidcIdentities.subject, who.subject)))
    .get();
  if (known) {
    if (known.disabledAt !== null) throw accountBlocked();
    await db
      .update(oidcIdentities)
      .set({ lastLoginAt: now, email: who.email })
      .where(and(eq(oidcIdentities.issuer, who.issuer), eq(oidcIdentities.subject, who.subject)));
    return known.subscriberId;
  }

  const sameIssuer = ctx.jwtIssuer !== null && ctx.jwtIssuer.replace(/\/+$/, "") === who.issuer;
  let subscriberId: string | null = null;
  if (sameIssuer) {
    const linked = await db.select({ id: subscribers.id, disabledAt: subscribers.disabledAt }).from(subscribers).where(eq(subscribers.externalId, who.subject)).get();
    if (linked?.disabledAt != null) throw accountBlocked();
    subscriberId = linked?.id ?? null;
  }
  if (subscriberId === null) {
    if (!(await takeRateToken(d1, "signup", ctx.clientKey, ctx.signupsPerHour, now))) {
      throw new GatewayError(429, "rate_limit_error", "signup_rate_limited", "Too many sign-ups from your network in the last hour. Try again later.", null, { "retry-after": "3600" });
    }
    const created = await createSubscriber(d1, { name: who.name ?? who.email, email: who.email, externalId: sameIssuer ? who.subject : null }, now);
    subscriberId = created.id;
  }
  await db
    .insert(oidcIdentities)
    .values({ issuer: who.issuer, subject: who.subject, subscriberId, email: who.email, createdAt: now, lastLoginAt: now })
    .onConflictDoNothing();
  return subscriberId;
}
