// /health means usable: 503 "starting" until the miner directory has an active miner serving a
// model, then 200 (what the dev stack waits for before it says ready). Each test file starts from
// an empty D1, so no miner exists yet here.
import { describe, expect, it } from "vitest";
import { keypairFromUri } from "../../src/protocol/keys";
import { call, registerMiners } from "./helpers";

describe("GET /health", () => {
  it("is 503 starting with no miner, then 200 once one is registered", async () => {
    const before = await call("/health");
    expect(before.status).toBe(503);
    expect(await before.json()).toMatchObject({ status: "starting", miners: 0, models: 0 });

    await registerMiners([{ hotkey: keypairFromUri("//HealthMiner").ss58, url: "http://127.0.0.1:9", models: ["demo/health"] }]);
    const after = await call("/health");
    expect(after.status).toBe(200);
    expect(await after.json()).toMatchObject({ status: "ok", miners: 1, models: 1 });
  });
});
