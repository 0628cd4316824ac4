/**
 * Miner discovery end to end: a real Subtensor runtime (chopsticks), three reference miners
 * registered on a fresh subnet with axons on 127.0.0.2-4, and the gateway (wrangler dev) with
 * no static miners at all: everything it routes to must come from the metagraph sync.
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

async function adminPost(path: string) {
  const res = await fetch(`${stack.url}${path}`, { method: "POST", headers: { authorization: `Bearer ${stack.adminToken}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

async function health() {
  return (await (await fetch(`${stack.url}/health`)).json()) as { status: string; miners: number; chain: Record<string, unknown> | null };
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
  stack = await startDevStack({ miners: [], vars: { SUBTENSOR_URL: chain.wsUrl, NETUID: String(netuid), ALLOW_PRIVATE_AXONS: "true" } });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
  if (api) await disconnectSubtensor(api);
  await Promise.allSettled(miners.map((m) => m.close()));
  await chain?.stop();
}, 60_000);

describe("chain discovery through the gateway", () => {
  it("starts with no miners and a never-synced metagraph", async () => {
    const h = await health();
    expect(h.miners).toBe(0);
    expect(h.chain).toMatchObject({ synced: false, stale: true });
    expect(h.status).toBe("degraded");
  });

  it("finds exactly the registered miners through a sync in the chain Worker and routes to them", async () => {
    const outcome = await adminPost("/admin/chain/sync");
    expect(outcome.status).toBe(200);
    expect(outcome.body).toMatchObject({ ok: true, found: 4, kept: 3 });
    let h = await health();
    for (let i = 0; i < 50 && h.miners < 3; i++) {
      await new Promise((r) => setTimeout(r, 200));
      h = await health();
    }
    expect(h.miners).toBe(3);
    expect(h.status).toBe("ok");
    expect(h.chain).toMatchObject({ synced: true, stale: false, miners_kept: 3, last_error: null });

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
    const outcome = await adminPost("/admin/chain/sync");
    expect(outcome.status).toBe(502);
    expect((outcome.body.error as { code: string }).code).toBe("chain_unavailable");

    const h = await health();
    expect(h.status).toBe("degraded");
    expect(h.chain).toMatchObject({ synced: true, stale: true, last_error: { code: "chain_unavailable" } });
    expect(h.miners).toBe(3);

    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.devKey, maxRetries: 0 });
    const r = await client.chat.completions.create({ model: "demo/tiny-chat", messages: [{ role: "user", content: "Repeat exactly: still here" }] });
    expect(r.choices[0]!.message.content).toBe("still here");
  });
});
