// Settlement remembers the chain its records were made on (genesis hash per netuid) and refuses
// another chain instead of comparing its epochs with the stored ones (a restarted local chain).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChainGenesisChangedError } from "../../../src/chain/errors";
import { checkSettlementChain, settlementDb } from "../../../src/chain/settlement/store";
import { createTestD1, type TestD1 } from "./helpers/d1";

const FIRST = "0x" + "11".repeat(32);
const OTHER = "0x" + "22".repeat(32);
let d1: TestD1;

beforeAll(async () => {
  d1 = await createTestD1();
});
afterAll(async () => {
  await d1?.dispose();
});

describe("the settlement chain's genesis", () => {
  it("is recorded by the first run and accepted again", async () => {
    const db = settlementDb(d1.db);
    await checkSettlementChain(db, 7, FIRST, 1_000);
    await checkSettlementChain(db, 7, FIRST, 2_000);
    const row = await d1.db.prepare("SELECT genesis_hash, first_seen_at FROM settlement_chain WHERE netuid = 7").first();
    expect(row).toEqual({ genesis_hash: FIRST, first_seen_at: 1_000 });
  });

  it("refuses a chain with another genesis, naming both, and keeps the record", async () => {
    const db = settlementDb(d1.db);
    const refused = await checkSettlementChain(db, 7, OTHER, 3_000).then(
      () => null,
      (err: unknown) => err,
    );
    expect(refused).toBeInstanceOf(ChainGenesisChangedError);
    expect(refused).toMatchObject({ code: "chain_genesis_changed", recorded: FIRST, current: OTHER });
    expect(String((refused as Error).message)).toContain("netuid 7");
    const row = await d1.db.prepare("SELECT genesis_hash FROM settlement_chain WHERE netuid = 7").first();
    expect(row).toEqual({ genesis_hash: FIRST });
  });

  it("is per subnet", async () => {
    await checkSettlementChain(settlementDb(d1.db), 8, OTHER, 4_000);
    const rows = await d1.db.prepare("SELECT netuid, genesis_hash FROM settlement_chain ORDER BY netuid").all();
    expect(rows.results).toEqual([
      { netuid: 7, genesis_hash: FIRST },
      { netuid: 8, genesis_hash: OTHER },
    ]);
  });
});
