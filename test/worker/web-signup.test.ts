// Sign-ups through the web app (issue #14): a verified identity's first sign-in creates its
// subscriber, at most SIGNUPS_PER_HOUR per client address (free plans get abused at sign-up);
// returning people and identities linked to an existing JWT `sub` are not sign-ups; a blocked
// subscriber cannot sign in again.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { subscriberForIdentity, type SignInContext } from "../../src/web/identities";
import type { VerifiedIdentity } from "../../src/web/oidc";
import { setBlocked } from "../../src/web/operator";
import { admin } from "./helpers";

const ISSUER = "https://idp.signup.test";
const person = (subject: string): VerifiedIdentity => ({ issuer: ISSUER, subject, email: `${subject}@example.test`, name: subject });

describe("sign-ups", () => {
  it("are limited per client address per hour; returning people are not counted", async () => {
    const ctx: SignInContext = { jwtIssuer: null, clientKey: `addr-${crypto.randomUUID()}`, signupsPerHour: 2 };
    const a = await subscriberForIdentity(env.DB, person("ann"), ctx);
    const b = await subscriberForIdentity(env.DB, person("ben"), ctx);
    expect(a).not.toBe(b);
    await expect(subscriberForIdentity(env.DB, person("cid"), ctx)).rejects.toMatchObject({ status: 429, code: "signup_rate_limited", headers: { "retry-after": "3600" } });
    // Signing in again is not a sign-up; another address has its own allowance; an hour later the window has moved.
    expect(await subscriberForIdentity(env.DB, person("ann"), ctx)).toBe(a);
    expect(await subscriberForIdentity(env.DB, person("cid"), { ...ctx, clientKey: `addr-${crypto.randomUUID()}` })).not.toBe(a);
    expect(await subscriberForIdentity(env.DB, person("dee"), ctx, Date.now() + 3_600_001)).toMatch(/\S/);
  });

  it("link an identity to the subscriber whose JWT `sub` it is, without counting as a sign-up", async () => {
    const linked = await admin<{ id: string }>("POST", "/admin/subscribers", { name: "linked", external_id: "jwt-user-7" });
    const ctx: SignInContext = { jwtIssuer: `${ISSUER}/`, clientKey: `addr-${crypto.randomUUID()}`, signupsPerHour: 1 };
    expect(await subscriberForIdentity(env.DB, person("jwt-user-7"), ctx)).toBe(linked.id);
    // The one sign-up this address may make is still there.
    expect(await subscriberForIdentity(env.DB, person("fresh-one"), ctx)).not.toBe(linked.id);
  });

  it("refuse a blocked subscriber's identity", async () => {
    const ctx: SignInContext = { jwtIssuer: null, clientKey: `addr-${crypto.randomUUID()}`, signupsPerHour: 5 };
    const id = await subscriberForIdentity(env.DB, person("blocked-bo"), ctx);
    await setBlocked(env.DB, id, true);
    await expect(subscriberForIdentity(env.DB, person("blocked-bo"), ctx)).rejects.toMatchObject({ status: 403, code: "account_disabled" });
    await setBlocked(env.DB, id, false);
    expect(await subscriberForIdentity(env.DB, person("blocked-bo"), ctx)).toBe(id);
  });
});
