import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { keypairFromUri } from "../../../src/protocol/keys";
import { startMiners, signedFetch, type MinerFleet, type RunningMiner } from "../../support/miner";
import { alice, call, signedHeaders } from "./helpers";

const chat = { model: "demo/tiny-chat", messages: [{ role: "user", content: "hi" }] };
let fleet: MinerFleet;
let miner: RunningMiner;
let restricted: RunningMiner;

beforeAll(async () => {
  fleet = await startMiners(2, (i) => (i === 1 ? { validators: [keypairFromUri("//Eve").ss58], maxBodyBytes: 1024 } : {}));
  [miner, restricted] = fleet.miners as [RunningMiner, RunningMiner];
});
afterAll(() => fleet.close());

const errorCode = (json: unknown): unknown => (json as { error?: { code?: unknown } }).error?.code;

describe("Epistula at the miner's door", () => {
  it("serves a correctly signed GET /v1/models (empty body)", async () => {
    const res = await call(miner, "/v1/models");
    expect(res.status).toBe(200);
    expect(res.json).toEqual({
      object: "list",
      data: [
        { id: "demo/tiny-chat", object: "model", created: expect.any(Number), owned_by: "miner" },
        { id: "demo/tiny-embed", object: "model", created: expect.any(Number), owned_by: "miner" },
      ],
    });
  });

  it("rejects unsigned requests with an OpenAI-shaped 401", async () => {
    for (const init of [{ method: "GET" }, { method: "POST", body: JSON.stringify(chat), headers: { "content-type": "application/json" } }]) {
      const res = await fetch(`${miner.url}${init.method === "GET" ? "/v1/models" : "/v1/chat/completions"}`, init);
      expect(res.status).toBe(401);
      expect(await res.json()).toEqual({
        error: { message: expect.any(String), type: "authentication_error", param: null, code: "epistula_missing_header" },
      });
    }
  });

  it("rejects stale and future-dated requests", async () => {
    expect(await call(miner, "/v1/chat/completions", chat, { now: Date.now() - 9000 })).toMatchObject({ status: 401 });
    const future = await call(miner, "/v1/chat/completions", chat, { now: Date.now() + 9000 });
    expect(future.status).toBe(401);
    expect(errorCode(future.json)).toBe("epistula_stale");
  });

  it("rejects a replayed request", async () => {
    const body = JSON.stringify(chat);
    const headers = { ...(await signedHeaders(miner, body)), "content-type": "application/json" };
    const first = await fetch(`${miner.url}/v1/chat/completions`, { method: "POST", headers, body });
    expect(first.status).toBe(200);
    await first.text();
    const again = await fetch(`${miner.url}/v1/chat/completions`, { method: "POST", headers, body });
    expect(again.status).toBe(401);
    expect(errorCode(await again.json())).toBe("epistula_replay");
  });

  it("rejects requests signed for another miner, and broadcasts", async () => {
    const other = await call(miner, "/v1/chat/completions", chat, { signedFor: restricted.hotkey });
    expect(other.status).toBe(403);
    expect(other.json).toMatchObject({ error: { type: "permission_error", code: "epistula_wrong_receiver" } });
    const broadcast = await call(miner, "/v1/chat/completions", chat, { signedFor: "" });
    expect(broadcast.status).toBe(403);
    expect(errorCode(broadcast.json)).toBe("epistula_broadcast_refused");
  });

  it("rejects a body changed after signing", async () => {
    const headers = await signedHeaders(miner, JSON.stringify(chat));
    const res = await fetch(`${miner.url}/v1/chat/completions`, { method: "POST", headers, body: JSON.stringify({ ...chat, max_tokens: 1 }) });
    expect(res.status).toBe(401);
    expect(errorCode(await res.json())).toBe("epistula_bad_signature");
  });

  it("checks the signature before routing (unknown paths are 401 unsigned, 404 signed)", async () => {
    expect((await fetch(`${miner.url}/v1/nope`)).status).toBe(401);
    const res = await call(miner, "/v1/nope");
    expect(res.status).toBe(404);
    expect(res.json).toMatchObject({ error: { type: "not_found_error" } });
  });

  it("applies the --validators allow-list", async () => {
    const denied = await call(restricted, "/v1/models");
    expect(denied.status).toBe(403);
    expect(errorCode(denied.json)).toBe("epistula_sender_not_allowed");
    const eve = keypairFromUri("//Eve");
    expect((await call(restricted, "/v1/models", undefined, { signer: eve })).status).toBe(200);
  });

  it("refuses bodies over the cap with 413 before verifying", async () => {
    const big = JSON.stringify({ ...chat, pad: "x".repeat(2000) });
    const res = await fetch(`${restricted.url}/v1/chat/completions`, {
      method: "POST",
      headers: { ...(await signedHeaders(restricted, big, { signer: keypairFromUri("//Eve") })), "content-type": "application/json" },
      body: big,
    });
    expect(res.status).toBe(413);
    expect(errorCode(await res.json())).toBe("request_too_large");
  });

  it("counts rejections in stats and remembers the last signer", async () => {
    const s = miner.stats();
    expect(s.rejected).toBeGreaterThanOrEqual(5);
    expect(s.lastSignedBy).toBe(alice.ss58);
    expect((await signedFetch(miner, "/v1/models")).status).toBe(200);
  });
});
