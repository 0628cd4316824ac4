/**
 * Stripe webhook signatures, without the Stripe SDK: `Stripe-Signature: t=<unix s>,v1=<hex>[,v1=...]`
 * where each v1 is HMAC-SHA256(secret, `${t}.${raw body bytes}`). Any matching v1 is accepted
 * (Stripe sends several while a secret is being rolled), compared in constant time; the
 * timestamp must be within the tolerance either way, so a captured delivery cannot be replayed
 * later (replays inside the window are caught by the event id).
 */
import { timingSafeEqual, toHex } from "../lib/crypto";

export const STRIPE_TOLERANCE_S = 300;

export type SignatureCheck =
  | { ok: true; timestamp: number }
  | { ok: false; reason: "missing_header" | "malformed_header" | "timestamp_out_of_tolerance" | "no_matching_signature" };

const encoder = new TextEncoder();

export async function stripeHmacHex(secret: string, timestamp: string, body: Uint8Array): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const prefix = encoder.encode(`${timestamp}.`);
  const signed = new Uint8Array(prefix.byteLength + body.byteLength);
  signed.set(prefix, 0);
  signed.set(body, prefix.byteLength);
  return toHex(new Uint8Array(await crypto.subtle.sign("HMAC", key, signed)));
}

export async function verifyStripeSignature(
  secret: string,
  header: string | null,
  body: Uint8Array,
  nowMs = Date.now(),
  toleranceS = STRIPE_TOLERANCE_S,
): Promise<SignatureCheck> {
  if (!header) return { ok: false, reason: "missing_header" };
  let t: string | null = null;
  const v1: string[] = [];
  for (const part of header.split(",")) {
    const eq = part.indexOf("=");
    if (eq < 0) continue;
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (k === "t") t = v;
    else if (k === "v1") v1.push(v);
  }
  if (t === null || !/^\d{1,12}$/.test(t) || v1.length === 0) return { ok: false, reason: "malformed_header" };
  const timestamp = Number(t);
  if (Math.abs(nowMs / 1000 - timestamp) > toleranceS) return { ok: false, reason: "timestamp_out_of_tolerance" };
  const expected = await stripeHmacHex(secret, t, body);
  // Compare against every candidate so the time taken does not reveal which one matched.
  let match = false;
  for (const candidate of v1) match = timingSafeEqual(candidate.toLowerCase(), expected) || match;
  return match ? { ok: true, timestamp } : { ok: false, reason: "no_matching_signature" };
}
