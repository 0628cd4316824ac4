/**
 * Remote JSON Web Key Sets, cached per isolate without ever sharing a fetch between requests.
 *
 * Why not jose's `createRemoteJWKSet`: it keeps one pending fetch and lets every concurrent
 * verification await it. In a Worker that promise belongs to the request that started the fetch;
 * other requests awaiting it is cross-request promise sharing, which workerd warns about and
 * which stalls or fails the waiters when the starting request is cancelled (the same bug class
 * fixed for the miner directory, grant books and usage batches). Here a cache entry is plain
 * data (the parsed key set); a request that needs a fetch makes its own:
 * - no entry yet (a cold isolate): each such request fetches; a burst at start-up fetches a few
 *   times, once per concurrent request, and the first answer fills the cache;
 * - an entry older than FRESH_MS: one request refreshes it while the others keep verifying with
 *   the stale keys; if the refresh fails the stale keys stay in use (an identity provider's
 *   outage does not lock every token out) until STALE_LIMIT_MS;
 * - a token whose `kid` is not in the set (the provider rotated keys): one refetch, at most
 *   every COOLDOWN_MS, as jose does, so forged `kid`s cannot make us hammer the provider.
 * The fetch follows no redirect, times out, and refuses bodies over MAX_JWKS_BYTES.
 */
import { createLocalJWKSet, errors, type JSONWebKeySet, type JWTVerifyGetKey } from "jose";
import { readTextLimited } from "../lib/read-limited";

/** How long fetched keys are used before a refresh (jose's default cacheMaxAge). */
export const FRESH_MS = 10 * 60_000;
/** Minimum time between refetches for an unknown `kid` (jose's default cooldownDuration). */
export const COOLDOWN_MS = 30_000;
/** Keys older than this are not used even when the provider cannot be reached. */
export const STALE_LIMIT_MS = 24 * 60 * 60_000;
export const MAX_JWKS_BYTES = 256 * 1024;
const FETCH_TIMEOUT_MS = 5_000;

/** The key set could not be fetched or parsed; verification fails closed. */
export class JwksUnavailable extends Error {}

interface Entry {
  getKey: ReturnType<typeof createLocalJWKSet>;
  fetchedAt: number;
}

export interface JwksSource {
  fetcher?: typeof fetch;
  now?: () => number;
}

/** A jose key getter for `url`, backed by this isolate's cache. */
export function remoteKeySet(url: string, source: JwksSource = {}): JWTVerifyGetKey {
  const cache = cacheFor(url, source.fetcher ?? globalFetch, source.now ?? Date.now);
  return (header, token) => cache.verifyKey(header, token);
}

const globalFetch: typeof fetch = (input, init) => fetch(input, init);
const caches = new Map<string, KeySetCache>();

/** One cache per URL (and fetcher: tests bring their own). */
function cacheFor(url: string, fetcher: typeof fetch, now: () => number): KeySetCache {
  let cache = caches.get(url);
  if (!cache || cache.fetcher !== fetcher) {
    cache = new KeySetCache(url, fetcher, now);
    caches.set(url, cache);
  }
  return cache;
}

/** Drops every cached key set (tests). */
export function forgetKeySets(): void {
  caches.clear();
}

class KeySetCache {
  private entry: Entry | null = null;
  /** When a refresh of a stale entry started (by some request), so others keep the stale keys meanwhile. */
  private refreshingSince = 0;
  /** When an unknown `kid` last caused a refetch. */
  private lastKidRefetch = -Infinity;

  constructor(
    private readonly url: string,
    readonly fetcher: typeof fetch,
    private readonly now: () => number,
  ) {}

  async verifyKey(header: Parameters<JWTVerifyGetKey>[0], token: Parameters<JWTVerifyGetKey>[1]): Promise<CryptoKey> {
    const entry = await this.usable();
    try {
      return await entry.getKey(header, token);
    } catch (err) {
      if (!(err instanceof errors.JWKSNoMatchingKey)) throw err;
      const t = this.now();
      if (t - this.lastKidRefetch < COOLDOWN_MS || t - entry.fetchedAt < COOLDOWN_MS) throw err;
      this.lastKidRefetch = t;
      return (await this.load()).getKey(header, token);
    }
  }

  private async usable(): Promise<Entry> {
    const entry = this.entry;
    if (!entry) return this.load();
    const age = this.now() - entry.fetchedAt;
    if (age < FRESH_MS) return entry;
    // Stale: one request refreshes (its own fetch), the rest use what there is meanwhile.
    const refreshing = this.refreshingSince !== 0 && this.now() - this.refreshingSince < FETCH_TIMEOUT_MS * 2;
    if (refreshing && age < STALE_LIMIT_MS) return entry;
    this.refreshingSince = this.now();
    try {
      return await this.load();
    } catch (err) {
      if (age < STALE_LIMIT_MS) {
        console.error(`jwks: refreshing ${this.url} failed; using keys fetched ${Math.round(age / 1000)} s ago`, err);
        return entry;
      }
      throw err;
    } finally {
      this.refreshingSince = 0;
    }
  }

  /** Fetches the set with this request's own I/O and caches it. */
  private async load(): Promise<Entry> {
    let res: Response;
    try {
      res = await this.fetcher(this.url, {
        headers: { accept: "application/json" },
        redirect: "manual",
        signal: AbortSignal.timeout(FETCH_TIMEOUT_MS),
      });
    } catch (err) {
      throw new JwksUnavailable(`the JWKS at ${this.url} is unreachable`, { cause: err });
    }
    if (res.status !== 200) {
      await res.body?.cancel().catch(() => {});
      throw new JwksUnavailable(`the JWKS at ${this.url} answered ${res.status}`);
    }
    const text = await readTextLimited(res, MAX_JWKS_BYTES).catch(() => null);
    if (text === null) throw new JwksUnavailable(`the JWKS at ${this.url} is too large or was cut off`);
    let set: JSONWebKeySet;
    let getKey: Entry["getKey"];
    try {
      set = JSON.parse(text) as JSONWebKeySet;
      getKey = createLocalJWKSet(set);
    } catch {
      throw new JwksUnavailable(`the JWKS at ${this.url} is not a JSON Web Key Set`);
    }
    const entry: Entry = { getKey, fetchedAt: this.now() };
    this.entry = entry;
    return entry;
  }
}
