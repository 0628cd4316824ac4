// The dev-only fault-injection switch (src/dev/faults.ts) the soak suite uses: off unless both
// ENVIRONMENT=development and DEV_FAULT_INJECTION=true (the suite's env is "test", production's
// "production"), and when on, each fault does what docs/soak.md says and loses or doubles nothing.
import { createExecutionContext, createMessageBatch, env, getQueueResult, waitOnExecutionContext } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { limitsStub } from "../../src/billing/limits-do";
import { batchMessage } from "../../src/billing/usage-batch";
import type { UsageEvent } from "../../src/billing/usage-event";
import { usageSink } from "../../src/billing/usage-sink";
import { devFaults, faultReport, type FaultReport } from "../../src/dev/faults";
import worker from "../../src/index";
import { ADMIN, call } from "./helpers";

const ON = { ...env, ENVIRONMENT: "development", DEV_FAULT_INJECTION: "true" };

async function fetchWith(useEnv: typeof env, method: string, path: string, body?: unknown): Promise<Response> {
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(`http://gateway.test${path}`, { method, headers: ADMIN, body: body === undefined ? undefined : JSON.stringify(body) }),
    useEnv,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

async function deliver(id: string, body: unknown, attempts: number) {
  const batch = createMessageBatch("gateway-usage", [{ id, timestamp: new Date(), attempts, body }]);
  const ctx = createExecutionContext();
  await worker.queue(batch, ON);
  return getQueueResult(batch, ctx);
}

let seq = 0;
function event(subscriberId: string): UsageEvent {
  return {
    requestId: `req_devfault_${++seq}`,
    kind: "subscriber",
    subscriberId,
    apiKeyId: "key_devfault",
    endpoint: "chat.completions",
    model: "devfault/model",
    minerHotkey: "5Dev",
    status: "ok",
    httpStatus: 200,
    errorCode: null,
    streamed: false,
    attempts: 1,
    promptTokensReported: 3,
    completionTokensReported: 2,
    promptTokensCounted: 3,
    completionTokensCounted: 2,
    ttftMs: 1,
    durationMs: 2,
    createdAt: Date.UTC(2026, 10, 25, 9, 0, seq % 60),
    costMicroUsd: 1,
  };
}

async function requests(subscriberId: string): Promise<number> {
  const row = await env.DB.prepare("SELECT coalesce(sum(requests), 0) AS n FROM usage_hourly WHERE subscriber_id = ?").bind(subscriberId).first<{ n: number }>();
  return row?.n ?? 0;
}

async function archivedEvents(useEnv: typeof env, requestIds: readonly string[]): Promise<number[]> {
  const counts = new Map(requestIds.map((id) => [id, 0]));
  let cursor: string | null = null;
  do {
    const res = await fetchWith(useEnv, "GET", `/admin/dev/usage-archive?limit=50${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`);
    expect(res.status).toBe(200);
    const page = (await res.json()) as { data: { key: string; batch_id: string | null; ndjson: string | null }[]; cursor: string | null };
    for (const o of page.data) {
      for (const line of (o.ndjson ?? "").split("\n")) {
        if (line === "") continue;
        const id = (JSON.parse(line) as UsageEvent).requestId;
        if (counts.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
      }
    }
    cursor = page.cursor;
  } while (cursor);
  return requestIds.map((id) => counts.get(id) ?? 0);
}

/** The archive object holding this request's event (R2 directly: its upload time shows a rewrite). */
async function archiveObjectWith(requestId: string): Promise<R2Object> {
  let cursor: string | undefined;
  do {
    const page = await env.USAGE_ARCHIVE.list({ prefix: "usage/", cursor });
    for (const o of page.objects) {
      const body = await env.USAGE_ARCHIVE.get(o.key);
      if (body && (await body.text()).includes(`"${requestId}"`)) return o;
    }
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  throw new Error(`${requestId} is in no archive object`);
}

const delta = (before: FaultReport, after: FaultReport) => ({
  usage_d1_write: after.injected.usage_d1_write - before.injected.usage_d1_write,
  usage_redelivery: after.injected.usage_redelivery - before.injected.usage_redelivery,
  usage_queue_late_copy: after.injected.usage_queue_late_copy - before.injected.usage_queue_late_copy,
});

describe("the dev fault-injection switch, off", () => {
  it("is off in this suite's configuration and in production's", () => {
    expect(devFaults(env)).toBeNull();
    expect(devFaults({ ENVIRONMENT: "production", DEV_FAULT_INJECTION: "true" })).toBeNull();
    expect(devFaults({ ENVIRONMENT: "development" })).toBeNull();
    expect(devFaults({ ENVIRONMENT: "development", DEV_FAULT_INJECTION: "true" })).not.toBeNull();
  });

  it("has no admin routes: every one is the 404 of an unknown route, even with the admin token", async () => {
    for (const [method, path] of [
      ["GET", "/admin/dev/faults"],
      ["POST", "/admin/dev/faults"],
      ["POST", "/admin/dev/restart/limits/sub_x"],
      ["POST", "/admin/dev/restart/miner-health/demo/tiny-chat"],
      ["GET", "/admin/dev/usage-archive"],
    ] as const) {
      const res = await call(path, { method, headers: ADMIN, body: method === "POST" ? JSON.stringify({ usage_d1_write: 1 }) : undefined });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe("unknown_route");
    }
  });

  it("leaves the Durable Objects alone", async () => {
    expect(await limitsStub(env, "sub_devfault_off").devRestart()).toBe("off");
    const health = env.MINER_HEALTH.get(env.MINER_HEALTH.idFromName("devfault/model"));
    expect(await health.devRestart()).toBe("off");
  });

  it("lets armed faults strike nowhere while it is off", async () => {
    expect((await fetchWith(ON, "POST", "/admin/dev/faults", { usage_d1_write: 1 })).status).toBe(200);
    const before = faultReport();
    const sub = "sub_devfault_off_consumer";
    const body = batchMessage({ id: "ub_devfault_off", flushedAt: Date.UTC(2026, 10, 25, 9), ndjson: JSON.stringify(event(sub)) });
    const batch = createMessageBatch("gateway-usage", [{ id: "off-1", timestamp: new Date(), attempts: 1, body }]);
    const ctx = createExecutionContext();
    await worker.queue(batch, env);
    expect((await getQueueResult(batch, ctx)).explicitAcks).toEqual(["off-1"]);
    expect(await requests(sub)).toBe(1);
    expect(delta(before, faultReport()).usage_d1_write).toBe(0);
    expect((await fetchWith(ON, "POST", "/admin/dev/faults", { usage_d1_write: -1 })).status).toBe(200);
  });
});

describe("the dev fault-injection switch, on", () => {
  it("fails a batch's D1 transaction in its middle: retried, nothing half-written, then recorded once", async () => {
    const sub = "sub_devfault_d1";
    const events = [event(sub), event(sub)];
    const body = batchMessage({ id: "ub_devfault_d1", flushedAt: Date.UTC(2026, 10, 25, 9), ndjson: events.map((e) => JSON.stringify(e)).join("\n") });
    const before = faultReport();
    expect((await fetchWith(ON, "POST", "/admin/dev/faults", { usage_d1_write: 1 })).status).toBe(200);
    const failed = await deliver("d1-1", body, 1);
    expect(failed.explicitAcks).toEqual([]);
    expect(failed.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["d1-1"]);
    expect(await requests(sub)).toBe(0);
    expect(delta(before, faultReport()).usage_d1_write).toBe(1);

    const retried = await deliver("d1-1", body, 2);
    expect(retried.explicitAcks).toEqual(["d1-1"]);
    expect(await requests(sub)).toBe(2);
    // Archived on the first attempt already, rewritten on the second: still once each.
    expect(await archivedEvents(ON, events.map((e) => e.requestId))).toEqual([1, 1]);
  });

  it("sends a recorded batch back to the queue, and its redelivery changes nothing", async () => {
    const sub = "sub_devfault_redelivery";
    const body = batchMessage({ id: "ub_devfault_redelivery", flushedAt: Date.UTC(2026, 10, 25, 9), ndjson: JSON.stringify(event(sub)) });
    const before = faultReport();
    expect((await fetchWith(ON, "POST", "/admin/dev/faults", { usage_redelivery: 1 })).status).toBe(200);
    const first = await deliver("re-1", body, 1);
    expect(first.explicitAcks).toEqual([]);
    expect(first.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual(["re-1"]);
    expect(await requests(sub)).toBe(1);
    const again = await deliver("re-1", body, 2);
    expect(again.explicitAcks).toEqual(["re-1"]);
    expect(await requests(sub)).toBe(1);
    const after = faultReport();
    expect(delta(before, after).usage_redelivery).toBe(1);
    expect(after.redeliveries_seen_again - before.redeliveries_seen_again).toBe(1);
  });

  it("makes a queue send that went through look refused: recorded directly and by the consumer, counted once", async () => {
    const sub = "sub_devfault_late_copy";
    const events = [event(sub), event(sub), event(sub)];
    const before = faultReport();
    expect((await fetchWith(ON, "POST", "/admin/dev/faults", { usage_queue_late_copy: 1 })).status).toBe(200);
    const sink = usageSink(ON);
    await Promise.all(events.map((e) => sink(e)));
    expect(delta(before, faultReport()).usage_queue_late_copy).toBe(1);
    // The direct write landed before the sink resolved; the queue's copy follows through the
    // consumer, which rewrites the same archive object (archive first, then the rollups, once per batch id).
    expect(await requests(sub)).toBe(3);
    const direct = await archiveObjectWith(events[0]!.requestId);
    const until = Date.now() + 15_000;
    let copy = direct;
    while (copy.uploaded.getTime() <= direct.uploaded.getTime() && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 100));
      copy = await archiveObjectWith(events[0]!.requestId);
    }
    expect(copy.uploaded.getTime(), "the queue's copy was consumed").toBeGreaterThan(direct.uploaded.getTime());
    expect(copy.key).toBe(direct.key);
    expect(await requests(sub)).toBe(3);
    expect(await archivedEvents(ON, events.map((e) => e.requestId))).toEqual([1, 1, 1]);
  });

  it("refuses counts that are not integers", async () => {
    const res = await fetchWith(ON, "POST", "/admin/dev/faults", { usage_d1_write: "lots" });
    expect(res.status).toBe(400);
  });
});
