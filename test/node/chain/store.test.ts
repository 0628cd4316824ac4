import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { applyChainMiners, type ChainMinerRow } from "../../../src/chain/store";
import { allMiners, createTestD1, type TestD1 } from "./helpers/d1";

let d1: TestD1;
beforeAll(async () => {
  d1 = await createTestD1();
});
afterAll(async () => {
  await d1?.dispose();
});
beforeEach(async () => {
  await d1.db.prepare("DELETE FROM miners").run();
});

const row = (i: number, over: Partial<ChainMinerRow> = {}): ChainMinerRow => ({
  hotkey: `hk${String(i).padStart(3, "0")}`,
  coldkey: `ck${i}`,
  uid: i,
  netuid: 7,
  axonUrl: `http://8.8.8.${i % 250}:80`,
  models: ["m"],
  incentive: i / 1000,
  stakeRao: BigInt(i) * 1_000_000_000n,
  ...over,
});

async function insertStatic(hotkey: string): Promise<void> {
  await d1.db
    .prepare("INSERT INTO miners (hotkey, uid, axon_url, models, source, active, updated_at) VALUES (?, 0, 'http://static:1', '[\"s\"]', 'static', 1, 1)")
    .bind(hotkey)
    .run();
}

describe("applyChainMiners", () => {
  it("writes more rows than fit in one statement (D1: 100 bound parameters)", async () => {
    const rows = Array.from({ length: 40 }, (_, i) => row(i));
    expect(await applyChainMiners(d1.db, rows, 1000)).toEqual([]);
    const stored = await allMiners(d1.db);
    expect(stored).toHaveLength(40);
    expect(stored[3]).toEqual({
      hotkey: "hk003",
      uid: 3,
      netuid: 7,
      coldkey: "ck3",
      axon_url: "http://8.8.8.3:80",
      models: '["m"]',
      source: "chain",
      active: 1,
      incentive: 0.003,
      stake_rao: "3000000000",
      updated_at: 1000,
    });
  });

  it("updates kept rows, deactivates the rest once, and reactivates returning miners", async () => {
    await applyChainMiners(d1.db, [row(1), row(2), row(3)], 1000);
    expect(await applyChainMiners(d1.db, [row(1, { axonUrl: "http://8.8.4.4:81", uid: 9 }), row(3)], 2000)).toEqual(["hk002"]);
    let stored = await allMiners(d1.db);
    expect(stored.map((r) => [r.hotkey, r.active, r.uid, r.axon_url, r.updated_at])).toEqual([
      ["hk001", 1, 9, "http://8.8.4.4:81", 2000],
      ["hk002", 0, 2, "http://8.8.8.2:80", 2000],
      ["hk003", 1, 3, "http://8.8.8.3:80", 2000],
    ]);
    // Already inactive: not reported again.
    expect(await applyChainMiners(d1.db, [row(1), row(3)], 3000)).toEqual([]);
    expect(await applyChainMiners(d1.db, [row(1), row(2), row(3)], 4000)).toEqual([]);
    stored = await allMiners(d1.db);
    expect(stored.every((r) => r.active === 1)).toBe(true);
  });

  it("never modifies static rows, even for a hotkey the chain also has", async () => {
    await insertStatic("hk001");
    await insertStatic("static-only");
    expect(await applyChainMiners(d1.db, [row(1), row(2)], 1000)).toEqual([]);
    expect(await applyChainMiners(d1.db, [], 2000)).toEqual(["hk002"]);
    const stored = await allMiners(d1.db);
    expect(stored.find((r) => r.hotkey === "hk001")).toMatchObject({ source: "static", axon_url: "http://static:1", active: 1, updated_at: 1 });
    expect(stored.find((r) => r.hotkey === "static-only")).toMatchObject({ source: "static", active: 1, updated_at: 1 });
  });
});
