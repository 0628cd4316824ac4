// Settlement with commit-reveal v2 on, against the real Subtensor runtime (chopsticks): the commit
// lands with the hash computed here, an early reveal is deferred (and, forced, refused by the chain
// with RevealTooEarly and kept for later), the reveal lands in the next epoch with the planned weights.
import type { ApiPromise } from "@polkadot/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSubtensor, disconnectSubtensor } from "../../../src/chain/connection";
import { createRunContext, runSettlement, type SettlementEnv, type SettlementRunReport } from "../../../src/chain/settlement/runner";
import { getSettlement, settlementDb } from "../../../src/chain/settlement/store";
import { submitStep } from "../../../src/chain/settlement/submit";
import { startChopsticks, type Chopsticks } from "../../support/chopsticks";
import { createSubnet, devKey, registerNeurons, sudo, type RegisteredNeuron } from "../../support/subnet";
import { createTestD1, type TestD1 } from "./helpers/d1";
import { bestBlock, chainCommits, chainWeights, closeTo, expectedWeights, insertUsage, toNextEpoch, type UsageSpec } from "./helpers/settlement";

const VALIDATOR = "//RevealValidator";
let chain: Chopsticks;
let api: ApiPromise;
let d1: TestD1;
let netuid = 0;
let validatorUid = 0;
let miners: RegisteredNeuron[] = [];
let clock = Date.UTC(2026, 10, 24, 13, 0, 0);
let committed = "";

type Run = Extract<SettlementRunReport, { ran: true }>;
type Row = Record<string, unknown>;

const env = (): SettlementEnv => ({ DB: d1.db, SUBTENSOR_URL: chain.wsUrl, NETUID: String(netuid), GATEWAY_HOTKEY_MNEMONIC: VALIDATOR, SETTLEMENT_LAG_MS: "0", SETTLEMENT_INCLUSION_TIMEOUT_MS: "20000" });

async function run(): Promise<Run> {
  const report = await runSettlement(env(), { api, now: () => clock, log: () => {}, pollMs: 100 });
  if (!report.ran) throw new Error(report.reason);
  return report;
}

const one = async (sql: string, ...binds: unknown[]): Promise<Row> => (await d1.db.prepare(sql).bind(...binds).first<Row>()) ?? {};

/** A: 3 answers, B: 1, C: 2, all honest on the default price: work 3 : 1 : 2. */
function traffic(at: number): UsageSpec[] {
  return [0, 0, 0, 1, 2, 2].map((i, k) => ({ miner: miners[i]?.hotkey ?? "", prompt: 100, completion: 200, createdAt: at + k }));
}

function expected(): Array<[number, number]> {
  return expectedWeights(new Map(miners.map((m, i) => [m.uid, [3, 1, 2][i] ?? 0])));
}

beforeAll(async () => {
  [chain, d1] = await Promise.all([startChopsticks(), createTestD1()]);
  api = await connectSubtensor(chain.wsUrl);
  ({ netuid } = await createSubnet(api, { tempo: 5, commitReveal: true }));
  await sudo(api, api.tx.adminUtils!.sudoSetTargetRegistrationsPerInterval!(netuid, 10));
  const registered = await registerNeurons(api, netuid, [VALIDATOR, "//RevealA", "//RevealB", "//RevealC"].map((uri) => ({ hotkey: devKey(uri), coldkey: devKey(`${uri}//cold`) })));
  validatorUid = registered[0]?.uid ?? -1;
  miners = registered.slice(1);
  await toNextEpoch(api, netuid);
}, 180_000);

afterAll(async () => {
  if (api) await disconnectSubtensor(api);
  await d1?.dispose();
  await chain?.stop();
}, 30_000);

describe("settlement with commit-reveal v2", { timeout: 120_000 }, () => {
  it("commits the hash of the planned weights instead of setting them", async () => {
    await insertUsage(d1.db, traffic(clock - 30_000));
    const report = await run();
    expect(report.mode).toBe("commit_reveal");
    expect(report.errors).toEqual([]);
    // The same run already looks at the reveal: too early.
    expect(report.steps).toMatchObject([
      { step: "commit_weights", outcome: "included" },
      { step: "reveal_weights", outcome: "waiting" },
    ]);
    committed = report.planned ?? "";
    const s = await one("SELECT * FROM settlements WHERE id = ?", committed);
    expect(s).toMatchObject({ mode: "commit_reveal", weights_status: "committed" });
    expect(JSON.parse(String(s.salt))).toHaveLength(8);
    expect(closeTo(JSON.parse(String(s.weights)) as Array<[number, number]>, expected())).toBe(true);
    expect(await chainCommits(api, netuid, devKey(VALIDATOR).address)).toEqual([s.commit_hash]);
    expect(await chainWeights(api, netuid, validatorUid)).toEqual([]);
  });

  it("defers the reveal while its window is not open", async () => {
    clock += 1_000;
    const head = await bestBlock(api);
    const report = await run();
    expect(report.planned).toBeNull();
    expect(report.steps).toMatchObject([{ step: "reveal_weights", outcome: "waiting" }]);
    expect(report.steps[0]?.message).toMatch(/reveal deferred: commit of block \d+ may be revealed in blocks \d+-\d+/);
    expect(await bestBlock(api)).toBe(head); // nothing was submitted
  });

  it("keeps the commit when the chain refuses a forced early reveal with RevealTooEarly", async () => {
    const ctx = await createRunContext(env(), api, { now: () => clock, log: () => {}, pollMs: 100 });
    const s = await getSettlement(settlementDb(d1.db), committed);
    if (!s) throw new Error("settlement missing");
    const pairs = JSON.parse(s.weights) as Array<[number, number]>;
    const call = api.tx.subtensorModule!.revealWeights!(netuid, pairs.map((p) => p[0]), pairs.map((p) => p[1]), JSON.parse(s.salt ?? "[]"), s.versionKey);
    const outcome = await submitStep(ctx, s, "reveal_weights", call, ctx.validator);
    expect(outcome).toBe("waiting");
    expect(ctx.steps).toMatchObject([{ step: "reveal_weights", outcome: "waiting", error: "subtensorModule.RevealTooEarly" }]);
    const after = await one("SELECT weights_status, salt, last_error FROM settlements WHERE id = ?", committed);
    expect(after).toMatchObject({ weights_status: "committed", salt: s.salt });
    expect(String(after.last_error)).toContain("RevealTooEarly");
    expect(await one("SELECT status, error FROM settlement_extrinsics WHERE settlement_id = ? AND kind = 'reveal_weights'", committed)).toEqual({
      status: "failed",
      error: "subtensorModule.RevealTooEarly",
    });
    expect(await chainCommits(api, netuid, devKey(VALIDATOR).address)).toHaveLength(1);
  });

  it("reveals in the next epoch; the revealed weights are the planned ones; the next epoch commits anew", async () => {
    await toNextEpoch(api, netuid);
    await insertUsage(d1.db, traffic(clock + 10).slice(0, 2)); // next window: only A
    clock += 60_000;
    const report = await run();
    expect(report.errors).toEqual([]);
    expect(report.steps.map((s) => [s.settlementId, s.step, s.outcome])).toEqual([
      [committed, "reveal_weights", "included"],
      [report.planned, "commit_weights", "included"],
      [report.planned, "reveal_weights", "waiting"],
    ]);
    const onChain = await chainWeights(api, netuid, validatorUid);
    expect(closeTo(onChain, expected()), JSON.stringify({ onChain, expected: expected() })).toBe(true);
    const s = await one("SELECT weights, weights_status, last_error FROM settlements WHERE id = ?", committed);
    expect(s).toMatchObject({ weights_status: "done", last_error: null });
    expect(JSON.parse(String(s.weights))).toEqual(onChain);

    await toNextEpoch(api, netuid);
    clock += 60_000;
    const next = await run();
    expect(next.steps.filter((x) => x.step === "reveal_weights")).toMatchObject([{ settlementId: report.planned, outcome: "included" }]);
    expect(await chainWeights(api, netuid, validatorUid)).toEqual([[miners[0]?.uid, 65535]]);
  });
});
