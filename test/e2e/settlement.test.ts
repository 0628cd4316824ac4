/**
 * Settlement end to end: a real Subtensor runtime (chopsticks), three reference miners registered
 * with axons on 127.0.0.2-4, the dev stack (gateway + chain Worker under wrangler dev, workerd),
 * traffic through the gateway split 6 : 3 : 1 across the miners with the official openai client,
 * then one settlement run through the admin API: the weights read back from SubtensorModule.Weights
 * follow the split, the payouts land in the miners' coldkeys, and GET /v1/settlements shows both.
 */
import type { ApiPromise } from "@polkadot/api";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMiner, type RunningMiner } from "../../miner/server";
import { startDevStack, type DevStack } from "../../scripts/lib/dev-stack";
import { connectSubtensor, disconnectSubtensor } from "../../src/chain/connection";
import { startChopsticks, type Chopsticks } from "../support/chopsticks";
import { createSubnet, devKey, fund, registerNeurons, sudo, TAO, type RegisteredNeuron } from "../support/subnet";
import { chainWeights, closeTo, freeOf, toNextEpoch } from "../node/chain/helpers/settlement";

const HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"] as const;
const MODELS = ["settle/a", "settle/b", "settle/c"] as const;
const SPLIT = [6, 3, 1] as const;
const VALIDATOR = "//E2EValidator";
const TREASURY = "//E2ETreasury";

let chain: Chopsticks;
let api: ApiPromise;
let stack: DevStack;
let netuid = 0;
let validatorUid = 0;
let registered: RegisteredNeuron[] = [];
const miners: RunningMiner[] = [];

type Listing = {
  data: Array<{
    epoch: number;
    weights: { status: string; vector: Array<[number, number]>; tx_hash: string };
    payouts: { status: string; tx_hash: string };
    miners: Array<{ hotkey: string; requests_counted: number; weight: number; payout_rao: string; payout_status: string }>;
  }>;
};

async function admin(method: string, path: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${stack.adminToken}` } });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

beforeAll(async () => {
  chain = await startChopsticks();
  api = await connectSubtensor(chain.wsUrl);
  ({ netuid } = await createSubnet(api, { tempo: 20 }));
  await sudo(api, api.tx.adminUtils!.sudoSetTargetRegistrationsPerInterval!(netuid, 10));
  for (const [i, host] of HOSTS.entries()) miners.push(await startMiner({ hotkey: `//SettleE2E${i + 1}`, host, port: 0, models: [MODELS[i] ?? ""] }));
  const all = await registerNeurons(api, netuid, [
    { hotkey: devKey(VALIDATOR), coldkey: devKey(`${VALIDATOR}//cold`) },
    ...miners.map((m, i) => ({ hotkey: devKey(`//SettleE2E${i + 1}`), coldkey: devKey(`//SettleE2E${i + 1}//cold`), axon: { ip: m.host, port: m.port } })),
  ]);
  validatorUid = all[0]?.uid ?? -1;
  registered = all.slice(1);
  await fund(api, [devKey(TREASURY).address], 100n * TAO);
  await toNextEpoch(api, netuid); // validator permits are handed out when an epoch runs
  stack = await startDevStack({
    miners: [],
    // Settlement runs are driven by hand below; the stack still runs its one sync at start.
    chainSchedule: false,
    vars: {
      SUBTENSOR_URL: chain.wsUrl,
      NETUID: String(netuid),
      ALLOW_PRIVATE_AXONS: "true",
      GATEWAY_HOTKEY_MNEMONIC: VALIDATOR,
      SETTLEMENT_ENABLED: "true",
      SETTLEMENT_LAG_MS: "0",
      PAYOUT_ENABLED: "true",
      PAYOUT_TREASURY_MNEMONIC: TREASURY,
      PAYOUT_SHARE_BPS: "5000",
      // Requests cost a few micro-USD here: 1000 TAO per USD makes the payouts visible.
      PAYOUT_RAO_PER_USD: String(1000n * TAO),
      PAYOUT_MIN_RAO: "1",
    },
  });
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  if (api) await disconnectSubtensor(api);
  await Promise.allSettled(miners.map((m) => m.close()));
  await chain?.stop();
}, 60_000);

describe("settlement through the gateway", { timeout: 180_000 }, () => {
  it("settles traffic split 6:3:1 into weights on chain and payouts in the coldkeys", async () => {
    expect(await admin("POST", "/admin/chain/sync")).toMatchObject({ status: 200, body: { kept: 3 } });

    const client = new OpenAI({ baseURL: `${stack.url}/v1`, apiKey: stack.devKey, maxRetries: 0 });
    for (const [i, model] of MODELS.entries()) {
      for (let n = 0; n < (SPLIT[i] ?? 0); n++) {
        const { data, response } = await client.chat.completions
          .create({ model, messages: [{ role: "user", content: "Repeat exactly: settle this work" }] })
          .withResponse();
        expect(data.choices[0]?.message.content).toBe("settle this work");
        expect(response.headers.get("x-miner-hotkey")).toBe(registered[i]?.hotkey);
      }
    }
    // Usage travels through the queue: wait until all ten rows are in D1.
    for (let tries = 0; ; tries++) {
      const usage = await admin("GET", "/admin/usage?subscriber_id=sub_dev");
      if ((usage.body.totals as { succeeded: number } | null)?.succeeded === 10 || tries > 100) break;
      await new Promise((r) => setTimeout(r, 200));
    }

    const coldBefore = await Promise.all(registered.map((r) => freeOf(api, r.coldkey)));
    const run = await admin("POST", "/admin/settlements/run");
    expect(run.status).toBe(200);
    expect(run.body).toMatchObject({ ran: true, errors: [] });
    expect((run.body.steps as Array<{ step: string; outcome: string }>).map((s) => [s.step, s.outcome])).toEqual([
      ["set_weights", "included"],
      ["payout", "included"],
    ]);

    // Same prompt, same answer: work is proportional to the number of requests.
    const onChain = await chainWeights(api, netuid, validatorUid);
    const expected = registered.map((r, i): [number, number] => [r.uid, Math.round(((SPLIT[i] ?? 0) / 6) * 65535)]);
    expect(closeTo(onChain, expected), JSON.stringify({ onChain, expected })).toBe(true);

    const listing = (await (await fetch(`${stack.url}/v1/settlements`)).json()) as Listing;
    const latest = listing.data[0];
    expect(latest?.weights).toMatchObject({ status: "done", vector: onChain });
    expect(latest?.miners.map((m) => [m.hotkey, m.requests_counted])).toEqual(
      expect.arrayContaining(registered.map((r, i) => [r.hotkey, SPLIT[i]])),
    );
    expect(latest?.payouts.status).toBe("done");
    const coldAfter = await Promise.all(registered.map((r) => freeOf(api, r.coldkey)));
    registered.forEach((r, i) => {
      const line = latest?.miners.find((m) => m.hotkey === r.hotkey);
      expect(line?.payout_status).toBe("paid");
      expect((coldAfter[i] ?? 0n) - (coldBefore[i] ?? 0n)).toBe(BigInt(line?.payout_rao ?? "-1"));
    });
    expect(BigInt(latest?.miners.find((m) => m.hotkey === registered[0]?.hotkey)?.payout_rao ?? "0")).toBeGreaterThan(0n);

    // Nothing is due again in the same epoch: nothing more is paid.
    const again = await admin("POST", "/admin/settlements/run");
    expect(again.body).toMatchObject({ ran: true, planned: null, steps: [] });
    expect(again.body.notPlannedReason).toMatch(/already settled/);
    expect(await Promise.all(registered.map((r) => freeOf(api, r.coldkey)))).toEqual(coldAfter);
  });
});
