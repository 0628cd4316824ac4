/**
 * CSRF protection for every state-changing form: a double-submit token bound to a random
 * HttpOnly cookie. The form carries HMAC(SESSION_SECRET, cookie value); a cross-site page can
 * neither read the cookie nor compute the HMAC. The origin check (src/http/web/guards.ts) comes
 * on top of it.
 */
import { timingSafeEqual } from "../lib/crypto";
import { base64url, randomToken } from "./tokens";

const encoder = new TextEncoder();

export function newCsrfCookieValue(): string {
  return randomToken(24);
}

export async function csrfTokenFor(secret: string, cookieValue: string): Promise<string> {
  const key = await crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const mac = await crypto.subtle.sign("HMAC", key, encoder.encode(`csrf:${cookieValue}`));
  return base64url(new Uint8Array(mac));
}

export async function csrfValid(secret: string, cookieValue: string | undefined, submitted: string | undefined): Promise<boolean> {
  if (!cookieValue || !submitted) return false;
  return timingSafeEqual(await csrfTokenFor(secret, cookieValue), submitted);
}
