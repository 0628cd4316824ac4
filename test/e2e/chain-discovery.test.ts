/**
 * Miner discovery end to end: a real Subtensor runtime (chopsticks), three reference miners
 * registered on a fresh subnet with axons on 127.0.0.2-4, and the gateway (wrangler dev) with
 * no static miners at all: everything it routes to must come from the metagraph sync, which the
 * dev stack runs by itself (once at start, then the chain Worker's cron on its schedule) with no
 * admin trigger.
 */
import type { ApiPromise } from "@polkadot/api";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMiner, type RunningMiner } from "../../miner/server";
import { startDevStack, type DevStack } from "../../scripts/lib/dev-stack";
import { connectSubtensor, disconnectSubtensor } from "../../src/chain/connection";
import { startChopsticks, type Chopsticks } from "../support/chopsticks";
import { createSubnet, devKey, registerNeurons } from "../support/subnet";

const HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
let chain: Chopsticks;
let api: ApiPromise | undefined;
let stack: DevStack;
const miners: RunningMiner[] = [];
let hotkeys: string[] = [];

type Health = { status: string; miners: number; chain: Record<string, unknown> | null };

async function health(): Promise<Health> {
  return (await (await fetch(`${stack.url}/health`)).json()) as Health;
}

/** Polls /health until `done` holds (generous: the schedule runs every second, the machine is shared). */
async function healthWhen(done: (h: Health) => boolean, tries = 300): Promise<Health> {
  let h = await health();
  for (let i = 0; i < tries && !done(h); i++) {
    await new Promise((r) => setTimeout(r, 200));
    h = await health();
  }
  return h;
}

beforeAll(async () => {
  chain = await startChopsticks();
  api = await connectSubtensor(chain.wsUrl);
  const { netuid } = await createSubnet(api);
  for (let i = 0; i < HOSTS.length; i++) miners.push(await startMiner({ hotkey: `//Found${i + 1}`, host: HOSTS[i], port: 0 }));
  const registered = await registerNeurons(
    api,
    netuid,
    miners.map((m, i) => ({ hotkey: devKey(`//Found${i + 1}`), coldkey: devKey(`//Found${i + 1}//cold`), axon: { ip: m.host, port: m.port } })),
  );
  hotkeys = registered.map((r) => r.hotkey);
  await disconnectSubtensor(api);
  api = undefined;
  // The dev stack's own schedule, every second instead of the cron's five minutes.
  stack = await startDevStack({ miners: [], vars: { SUBTENSOR_URL: chain.wsUrl, NETUID: String(netuid), ALLOW_PRIVATE_AXONS: "true" }, chainSchedule: { intervalMs: 1_000 }, echo: process.env.E2E_ECHO === "1" });
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  if (api) await disconnectSubtensor(api);
  await Promise.allSettled(miners.map((m) => m.close()));
  await chain?.stop();
}, 60_000);

describe("chain discovery through the gateway", () => {
  it("is ready only once the sync it ran by itself found the registered miners", async () => {
    // startDevStack resolved: /health said usable, with no admin call and no static miner.
    const h = await health();
    expect(h.miners).toBe(3);
    expect(h.status).toBe("ok");
    expect(h.chain).toMatchObject({ synced: true, stale: false, miners_kept: 3, last_error: null });
  });

  it("runs the chain Worker's cron on its schedule", async () => {
    for (let i = 0; i < 300 && !stack.chainRuns.some((r) => r.status === 200); i++) await new Promise((r) => setTimeout(r, 200));
    const run = stack.chainRuns.find((r) => r.status === 200);
    expect(run?.cron).toBe("*/5 * * * *");
    expect(run?.body).toMatchObject({ ok: true, sync: { ok: true, found: 4, kept: 3 } });
  });

  it("routes to exactly the registered miners", async () => {
    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.devKey, maxRetries: 0 });
    const served = new Set<string>();
    for (let i = 0; i < 9; i++) {
      const { data, response } = await client.chat.completions
        .create({ model: "demo/tiny-chat", messages: [{ role: "user", content: "Repeat exactly: found on chain" }] })
        .withResponse();
      expect(data.choices[0]!.message.content).toBe("found on chain");
      served.add(response.headers.get("x-miner-hotkey")!);
    }
    expect([...served].every((h) => hotkeys.includes(h))).toBe(true);
  });

  it("keeps serving the last synced miners when the chain goes away, and says so on /health", async () => {
    await chain.stop();
    // The next scheduled sync fails and records it; nobody calls the admin trigger.
    const h = await healthWhen((x) => (x.chain?.last_error as { code?: string } | null)?.code === "chain_unavailable");
    expect(h.status).toBe("degraded");
    expect(h.chain).toMatchObject({ synced: true, stale: true, last_error: { code: "chain_unavailable" } });
    expect(h.miners).toBe(3);

    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.devKey, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "demo/tiny-chat", messages: [{ role: "user", content: "Repeat exactly: still here" }] });
    expect(r.choices[0]!.message.content).toBe("still here");
  }, 180_000);
});
