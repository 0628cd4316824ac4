// Admission from the grant book reaches for the subscriber's object only when it calls it: a
// request the book admits locally costs no stub (no idFromName hashing). Behaviour is otherwise
// the grant admitter's own, covered by grants.test.ts and limits.test.ts.
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { GrantBooks, grantAdmitter, lazyTransport } from "../../src/billing/admission";
import type { Env } from "../../src/env";
import { newSubscriber } from "./helpers";

/** The worker's env with LIMITS counting how many stubs were made. */
function countingEnv(): { env: Env; stubs: () => number } {
  let n = 0;
  const limits = env.LIMITS;
  const LIMITS = new Proxy(limits, {
    get(target, prop, receiver) {
      if (prop === "idFromName") return (name: string) => (n++, target.idFromName(name));
      const v: unknown = Reflect.get(target, prop, receiver);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { env: { ...env, LIMITS } as Env, stubs: () => n };
}

describe("admission's transport to the limits object", () => {
  it("makes a stub only for the calls the book makes, not for local admissions", async () => {
    const { subscriberId } = await newSubscriber("lazy-stub");
    const counting = countingEnv();
    const background: Promise<unknown>[] = [];
    const admitter = grantAdmitter({ env: counting.env, waitUntil: (p) => background.push(p), books: new GrantBooks({ ttlMs: 5_000, idleMs: 60_000, flushMs: 60_000, leaseTtlMs: 60_000, fraction: 0.1 }) });
    const admit = (i: number) => admitter.admit({ requestId: `req_lazy_${i}`, subscriberId, model: "demo/tiny-chat", promptTokens: 10, maxOutputTokens: 5, choices: 1 });

    const first = await admit(0); // a cold book: one exchange with the object
    expect(counting.stubs()).toBe(1);
    const rest = await Promise.all(Array.from({ length: 5 }, (_, i) => admit(i + 1))); // from the slice
    expect(counting.stubs()).toBe(1);
    for (const a of [first, ...rest]) a.release();
  });

  it("calls the same object as a stub made up front", async () => {
    const { subscriberId } = await newSubscriber("lazy-stub-report");
    const t = lazyTransport(env, subscriberId);
    const res = await t.exchange({ bookId: crypto.randomUUID(), ttlMs: 5_000, version: null, batches: [], holding: { concurrency: 0, microUsd: 0 }, slices: [], admit: null, refill: true });
    expect(res.slice).not.toBeNull();
    expect(res.policy?.plan.id).toBe("unlimited");
  });
});
