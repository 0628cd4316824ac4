/**
 * `npm run dev:subnet`: the dev stack against a local Subtensor, in one command.
 *   1. starts chopsticks (the real Subtensor runtime, test/support/chopsticks.ts) on a free port,
 *   2. creates a subnet, starts three reference miners with axons on 127.0.0.2-4 and registers
 *      them, and registers the gateway's validator hotkey (DEV_VALIDATOR, default //DevValidator),
 *      then lets one epoch pass so it holds a validator permit,
 *   3. runs the gateway and the chain Worker (scripts/lib/dev-stack.ts) with SUBTENSOR_URL, NETUID,
 *      ALLOW_PRIVATE_AXONS and GATEWAY_HOTKEY_MNEMONIC set: no static miners, everything is
 *      discovered by the chain Worker's sync (once at start, then on its cron schedule).
 * Other variables come from the environment as with `npm run dev` (e.g. SETTLEMENT_ENABLED=true).
 * The chain is new on every start, so D1 is too (a temp dir): records of an earlier chain would
 * not match this one (settlement refuses a changed genesis). Ctrl-C stops everything.
 * docs/local-subnet.md has the details.
 */
import type { ApiPromise } from "@polkadot/api";
import { startMiner, type RunningMiner } from "../miner/server";
import { connectSubtensor, disconnectSubtensor } from "../src/chain/connection";
import { toNextEpoch } from "../test/node/chain/helpers/settlement";
import { startChopsticks, type Chopsticks } from "../test/support/chopsticks";
import { createSubnet, devKey, registerNeurons, sudo } from "../test/support/subnet";
import { startDevStack, varsFromEnvironment, type DevStack } from "./lib/dev-stack";

const MINER_HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];
const VALIDATOR = process.env.DEV_VALIDATOR ?? "//DevValidator";

type Subnet = { chain: Chopsticks; netuid: number; miners: RunningMiner[] };

/** Chain, subnet and registered miners; the caller stops them. */
async function startSubnet(): Promise<Subnet> {
  const chain = await startChopsticks();
  const miners: RunningMiner[] = [];
  let api: ApiPromise | undefined;
  try {
    api = await connectSubtensor(chain.wsUrl);
    const { netuid } = await createSubnet(api);
    // Four registrations in one interval (validator + three miners) exceed the default target.
    await sudo(api, api.tx.adminUtils!.sudoSetTargetRegistrationsPerInterval!(netuid, 10));
    for (const [i, host] of MINER_HOSTS.entries()) miners.push(await startMiner({ hotkey: `//Miner${i + 1}`, host, port: 0 }));
    const registered = await registerNeurons(api, netuid, [
      { hotkey: devKey(VALIDATOR), coldkey: devKey(`${VALIDATOR}//cold`) },
      ...miners.map((m, i) => ({ hotkey: devKey(`//Miner${i + 1}`), coldkey: devKey(`//Miner${i + 1}//cold`), axon: { ip: m.host, port: m.port } })),
    ]);
    await toNextEpoch(api, netuid); // validator permits are handed out when an epoch runs
    const [validator, ...registeredMiners] = registered;
    console.log(`validator uid ${validator?.uid} ${validator?.hotkey} (${VALIDATOR})`);
    registeredMiners.forEach((r, i) => console.log(`miner uid ${r.uid} ${r.hotkey} at ${miners[i]?.url}`));
    return { chain, netuid, miners };
  } catch (err) {
    await Promise.allSettled(miners.map((m) => m.close()));
    await chain.stop();
    throw err;
  } finally {
    if (api) await disconnectSubtensor(api);
  }
}

/** chopsticks occasionally fails a block with "Failed to apply inherents" (or a first `badProof`): one retry on a fresh chain. */
async function startSubnetWithRetry(): Promise<Subnet> {
  try {
    return await startSubnet();
  } catch (err) {
    const text = `${err instanceof Error ? err.message : String(err)} ${err instanceof Error && err.cause instanceof Error ? err.cause.message : ""}`;
    if (!/inherent|badProof/i.test(text)) throw err;
    console.log(`local chain set-up failed (${text.trim()}); retrying once on a fresh chain`);
    return startSubnet();
  }
}

async function main(): Promise<void> {
  let subnet: Subnet | undefined;
  let stack: DevStack | undefined;
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    await stack?.stop();
    await Promise.allSettled((subnet?.miners ?? []).map((m) => m.close()));
    await subnet?.chain.stop();
  };
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.on(signal, () => {
      console.log("\nstopping…");
      void stopAll().then(() => process.exit(0));
    });
  }
  try {
    console.log("starting the local Subtensor (chopsticks) …");
    subnet = await startSubnetWithRetry();
    const scheduleMs = process.env.DEV_CHAIN_SCHEDULE_MS ? Number(process.env.DEV_CHAIN_SCHEDULE_MS) : undefined;
    stack = await startDevStack({
      // PORT=0: any free port, picked after the chain took its own.
      port: process.env.PORT === "0" ? undefined : Number(process.env.PORT ?? 8787),
      miners: [],
      devKey: process.env.GATEWAY_DEV_KEY ?? "sk-dev-local",
      vars: {
        ...varsFromEnvironment(process.env),
        SUBTENSOR_URL: subnet.chain.wsUrl,
        NETUID: String(subnet.netuid),
        ALLOW_PRIVATE_AXONS: "true",
        GATEWAY_HOTKEY_MNEMONIC: VALIDATOR,
      },
      echo: true,
      chainSchedule: { intervalMs: scheduleMs },
    });
    console.log(`
Gateway ready at ${stack.url}/v1, on a local subnet
  SUBTENSOR_URL=${subnet.chain.wsUrl} NETUID=${subnet.netuid}
  API key:      ${stack.devKey}
  Admin token:  ${stack.adminToken}
  Miners are discovered on chain; the chain Worker's cron runs on its schedule (DEV_CHAIN_SCHEDULE_MS overrides).
Ctrl-C stops everything.`);
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
    console.error(`dev:subnet failed: ${err instanceof Error ? err.message : String(err)}${cause}`);
    await stopAll();
    process.exit(1);
  }
}

void main();
