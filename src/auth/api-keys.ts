/**
 * API keys: `sk-` + 40 base62 characters (~238 bits). Shown once at creation; D1 keeps only the
 * SHA-256 hash (a fast hash is right here: the key is random, not a password) and a short prefix.
 */
import { randomBase62, sha256Hex } from "../lib/crypto";

export const API_KEY_PREFIX = "sk-";

export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBase62(40);
}

export function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}

/** What listings show, e.g. `sk-Ab3d…`. */
export function displayPrefix(key: string): string {
  return key.slice(0, 7);
}

export function looksLikeApiKey(token: string): boolean {
  return token.startsWith(API_KEY_PREFIX);
}
