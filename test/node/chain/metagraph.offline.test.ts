// readMetagraph through a real ApiPromise on finney's metadata (typed answer, spec >= 233), offline.
import { ApiPromise } from "@polkadot/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainConfigError } from "../../../src/chain/errors";
import { readMetagraph } from "../../../src/chain/metagraph";
import { REPO_ROOT } from "../../support/chopsticks";
import { EXPECTED, FIXTURE_VALUES, finneyMetadataPath } from "./helpers/neurons";
import { OFFLINE_BLOCK, offlineFinney, type OfflineChain } from "./helpers/offline-finney";

const NETUID = 3;
let chain: OfflineChain;
let api: ApiPromise;

beforeAll(async () => {
  chain = offlineFinney(finneyMetadataPath(REPO_ROOT), NETUID, FIXTURE_VALUES);
  api = new ApiPromise({ provider: chain.provider, initWasm: false, noInitWarn: true });
  await api.isReadyOrError;
});
afterAll(async () => {
  await api?.disconnect();
});

describe("readMetagraph on a mainnet-shaped runtime (finney metadata v16, spec 393)", () => {
  it("decodes the typed get_neurons_lite answer at the finalized head", async () => {
    const metagraph = await readMetagraph(api, NETUID);
    expect(metagraph).toEqual({ netuid: NETUID, block: OFFLINE_BLOCK, blockHash: `0x${"22".repeat(32)}`, neurons: EXPECTED });
    expect(chain.calls).toContain("NeuronInfoRuntimeApi_get_neurons_lite");
  });

  it("refuses a subnet that does not exist", async () => {
    await expect(readMetagraph(api, 77)).rejects.toBeInstanceOf(ChainConfigError);
  });
});
