// `npm run chain:local`: a local Subtensor (chopsticks, real runtime) with one subnet and three
// reference miners serving their axons on 127.0.0.2-4, for running the gateway against a real chain.
// Env: SUBTENSOR_SPEC (raw chain spec), CHAIN_PORT (default 9944; 0 = any free port).
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { startMiner, type RunningMiner } from "../miner/server";
import { connectSubtensor, disconnectSubtensor } from "../src/chain/connection";
import { REPO_ROOT, specPathFromEnv, startChopsticks, type Chopsticks } from "../test/support/chopsticks";
import { createSubnet, devKey, registerNeurons } from "../test/support/subnet";

const SPEC_URL = "https://raw.githubusercontent.com/opentensor/subtensor/main/scripts/specs/raonet.json";
const MINER_HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"];

/** The spec from SUBTENSOR_SPEC / ../shared, else a copy downloaded once into .tmp/. */
async function chainSpec(): Promise<string> {
  const wanted = specPathFromEnv();
  if (existsSync(wanted)) return wanted;
  const cached = join(REPO_ROOT, ".tmp", "raonet.json");
  console.log(`chain spec not found at ${wanted}`);
  if (existsSync(cached)) {
    console.log(`using the copy downloaded earlier: ${cached}`);
    return cached;
  }
  console.log(`downloading ${SPEC_URL} -> ${cached} (the upstream file may be a newer runtime than spec 218)`);
  const res = await fetch(SPEC_URL);
  if (!res.ok) throw new Error(`download failed: HTTP ${res.status}`);
  mkdirSync(join(REPO_ROOT, ".tmp"), { recursive: true });
  writeFileSync(cached, Buffer.from(await res.arrayBuffer()));
  return cached;
}

async function main(): Promise<void> {
  const port = Number(process.env.CHAIN_PORT ?? "9944");
  const miners: RunningMiner[] = [];
  let chain: Chopsticks | undefined;
  let stopping = false;
  const stopAll = async (): Promise<void> => {
    if (stopping) return;
    stopping = true;
    await Promise.allSettled(miners.map((m) => m.close()));
    await chain?.stop();
  };
  const onSignal = (): void => {
    console.log("\nstopping...");
    void stopAll().then(() => process.exit(0));
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);

  try {
    const specPath = await chainSpec();
    console.log(`starting chopsticks from ${specPath} ...`);
    chain = await startChopsticks({ specPath, ...(port > 0 ? { port } : {}) });
    if (port > 0 && chain.port !== port) console.log(`port ${port} is busy: chopsticks took ${chain.port}`);
    const api = await connectSubtensor(chain.wsUrl);
    try {
      const { netuid } = await createSubnet(api);
      for (const [i, host] of MINER_HOSTS.entries()) {
        miners.push(await startMiner({ hotkey: `//Miner${i + 1}`, host, port: 0 }));
      }
      const registered = await registerNeurons(
        api,
        netuid,
        miners.map((m, i) => ({ hotkey: devKey(`//Miner${i + 1}`), coldkey: devKey(`//Miner${i + 1}//cold`), axon: { ip: m.host, port: m.port } })),
      );
      registered.forEach((r, i) => console.log(`miner uid ${r.uid} ${r.hotkey} at ${miners[i]?.url}`));
      console.log(`\nSUBTENSOR_URL=${chain.wsUrl} NETUID=${netuid}`);
      console.log("(the axons are on loopback: the gateway needs ALLOW_PRIVATE_AXONS=true)\nCtrl-C stops the chain and the miners.");
    } finally {
      await disconnectSubtensor(api);
    }
  } catch (err) {
    const cause = err instanceof Error && err.cause instanceof Error ? ` (${err.cause.message})` : "";
    console.error(`chain:local failed: ${err instanceof Error ? err.message : String(err)}${cause}`);
    await stopAll();
    process.exit(1);
  }
}

void main();
