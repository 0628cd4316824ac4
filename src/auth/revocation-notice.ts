/**
 * How a revocation made in the web Worker reaches the gateway's key cache at once. Every web
 * request passes through a gateway isolate (src/http/routes/web-forward.ts), so the web Worker
 * names the revoked keys' hashes in this header of its answer; the gateway's forwarder evicts them
 * from that isolate's cache and removes the header before the answer leaves. That is the same
 * promise as the admin API's DELETE /admin/keys/{id}: at once in the isolate that served it, within
 * AUTH_CACHE_TTL_MS everywhere else. Only an answer from the WEB binding is read this way; a
 * client's request header of the same name means nothing.
 */
export const REVOKED_KEYS_HEADER = "x-gateway-revoked-key-hashes";

export function revokedKeysHeaderValue(hashes: readonly string[]): string {
  return hashes.join(",");
}

export function revokedKeyHashes(value: string | null): string[] {
  return (value ?? "").split(",").map((h) => h.trim()).filter((h) => h !== "");
}
