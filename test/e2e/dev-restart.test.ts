/**
 * Ready means usable after a restart too (issue #15, finding 7). `npm run dev` persists D1, so a
 * second start finds the last run's miners in it, registered at ports that are gone. A script
 * that waits for /health (the dev contract) and calls the API at once must get an answer: /health
 * may not say 200 before this run has registered its own miners. The watcher polls /health from
 * the moment wrangler could answer and makes the call the first time it sees a 200.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { startDevStack, type DevStack } from "../../scripts/lib/dev-stack";
import { freePort } from "../../scripts/lib/processes";

const persistTo = mkdtempSync(join(tmpdir(), "gateway-restart-"));
const stacks: DevStack[] = [];

afterAll(async () => {
  await Promise.allSettled(stacks.map((s) => s.stop()));
  rmSync(persistTo, { recursive: true, force: true });
}, 60_000);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls /health; at its first 200, calls the API as a waiting script would, and reports that call. */
async function callAtFirstReady(url: string, key: string, until: number): Promise<{ status: number; text: string }> {
  while (Date.now() < until) {
    const health = await fetch(`${url}/health`).catch(() => null);
    if (health?.status === 200) {
      const res = await fetch(`${url}/v1/chat/completions`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
        body: JSON.stringify({ model: "demo/tiny-chat", max_tokens: 4, messages: [{ role: "user", content: "Repeat exactly: ready" }] }),
      });
      return { status: res.status, text: await res.text() };
    }
    await health?.body?.cancel();
    await sleep(25);
  }
  throw new Error("/health never said 200");
}

describe("a dev stack restarted on its persisted D1", () => {
  it("says ready only once the API works with this run's miners", async () => {
    const first = await startDevStack({ persistTo, miners: [{ hotkeyUri: "//Bob" }] });
    stacks.push(first);
    await first.stop(); // its miner's port is gone; D1 still lists it

    const port = await freePort();
    const watcher = callAtFirstReady(`http://127.0.0.1:${port}`, first.devKey, Date.now() + 150_000);
    const second = await startDevStack({ persistTo, port, miners: [{ hotkeyUri: "//Bob" }] });
    stacks.push(second);
    const call = await watcher;
    expect(call.status, call.text).toBe(200);
    expect(call.text).toContain("ready");
  }, 240_000);
});
