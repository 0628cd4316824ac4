// Settlement against the real Subtensor runtime (chopsticks, spec 218) and a real local D1: usage
// rows -> verified work -> set_weights read back from SubtensorModule.Weights; TAO payouts into the
// miners' coldkeys, exactly once, across reruns and injected crashes; chain errors reported.
// One chopsticks for the file; tests run in order and share the subnet; a controlled clock.
import type { ApiPromise } from "@polkadot/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSubtensor, disconnectSubtensor } from "../../../src/chain/connection";
import { runSettlement, type SettlementDeps, type SettlementEnv, type SettlementRunReport } from "../../../src/chain/settlement/runner";
import { startChopsticks, type Chopsticks } from "../../support/chopsticks";
import { createSubnet, devKey, fund, registerNeurons, sudo, TAO, type RegisteredNeuron } from "../../support/subnet";
import { createTestD1, type TestD1 } from "./helpers/d1";
import { chainWeights, closeTo, expectedWeights, freeOf, insertUsage, toNextEpoch, type UsageSpec } from "./helpers/settlement";

const VALIDATOR = "//SettleValidator";
const MINERS = ["//SettleA", "//SettleB", "//SettleC"] as const;
const TREASURY = "//SettleTreasury";
const STRANGER = devKey("//Stranger").address;

let chain: Chopsticks;
let api: ApiPromise;
let d1: TestD1;
let netuid = 0;
let validatorUid = 0;
let miners: RegisteredNeuron[] = [];
let clock = Date.UTC(2026, 10, 24, 12, 0, 0);
const logs: Array<{ event: string; fields: Record<string, unknown> }> = [];
const timings: Record<string, number> = {};

type Run = Extract<SettlementRunReport, { ran: true }>;

function env(over: Partial<SettlementEnv> = {}): SettlementEnv {
  return {
    DB: d1.db,
    SUBTENSOR_URL: chain.wsUrl,
    NETUID: String(netuid),
    GATEWAY_HOTKEY_MNEMONIC: VALIDATOR,
    SETTLEMENT_LAG_MS: "0",
    SETTLEMENT_INCLUSION_TIMEOUT_MS: "20000",
    ...over,
  };
}

const PAYOUTS: Partial<SettlementEnv> = {
  PAYOUT_ENABLED: "true",
  PAYOUT_TREASURY_MNEMONIC: TREASURY,
  PAYOUT_SHARE_BPS: "5000",
  PAYOUT_RAO_PER_USD: String(TAO),
  PAYOUT_MIN_RAO: "1000000",
};

async function run(over: Partial<SettlementEnv> = {}, deps: SettlementDeps = {}): Promise<Run> {
  const started = performance.now();
  const report = await runSettlement(env(over), { api, now: () => clock, log: (event, fields) => logs.push({ event, fields }), pollMs: 100, ...deps });
  timings[`run ${Object.keys(timings).length}`] = Math.round(performance.now() - started);
  if (!report.ran) throw new Error(`settlement did not run: ${report.reason}`);
  return report;
}

/** Polls `read` until `done` holds (the chain builds blocks on its own schedule). */
async function until<T>(read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

type Row = Record<string, unknown>;
const one = async (sql: string, ...binds: unknown[]): Promise<Row> => (await d1.db.prepare(sql).bind(...binds).first<Row>()) ?? {};
const all = async (sql: string, ...binds: unknown[]): Promise<Row[]> => (await d1.db.prepare(sql).bind(...binds).all<Row>()).results;

const hotkey = (i: number): string => miners[i]?.hotkey ?? "";
const coldkey = (i: number): string => miners[i]?.coldkey ?? "";
const uid = (i: number): number => miners[i]?.uid ?? -1;

/** Two plain requests per miner for the payout epochs (quality 1, honest). */
function payoutTraffic(at: number): UsageSpec[] {
  return [
    { miner: hotkey(0), prompt: 100, completion: 200, costMicroUsd: 1_000_000, createdAt: at },
    { miner: hotkey(0), prompt: 100, completion: 200, costMicroUsd: 1_000_000, createdAt: at + 1 },
    { miner: hotkey(1), model: "big-model", prompt: 50, completion: 100, costMicroUsd: 2_000_000, createdAt: at + 2 },
  ];
}
// A: 2 x (100 x 0.2 + 200 x 0.6) $/M = 280e6 pUSD; B: 50 x 1 + 100 x 4 = 450e6 pUSD. Revenue $4, 50%, 1 TAO/USD -> 2 TAO.
const POOL = 2n * TAO;
const PAY_A = (POOL * 280n) / 730n;
const PAY_B = (POOL * 450n) / 730n;

beforeAll(async () => {
  const started = performance.now();
  [chain, d1] = await Promise.all([startChopsticks(), createTestD1()]);
  api = await connectSubtensor(chain.wsUrl);
  ({ netuid } = await createSubnet(api, { tempo: 5 }));
  // Four registrations in one interval: above the default target (1 x 3).
  await sudo(api, api.tx.adminUtils!.sudoSetTargetRegistrationsPerInterval!(netuid, 10));
  const registered = await registerNeurons(
    api,
    netuid,
    [VALIDATOR, ...MINERS].map((uri) => ({ hotkey: devKey(uri), coldkey: devKey(`${uri}//cold`) })),
  );
  validatorUid = registered[0]?.uid ?? -1;
  miners = registered.slice(1);
  await fund(api, [devKey(TREASURY).address], 100n * TAO);
  await d1.db.prepare("INSERT INTO model_prices VALUES ('big-model', 1000000, 4000000, 250000, 0)").run();
  // Validator permits are handed out when an epoch runs.
  await toNextEpoch(api, netuid);
  timings.setup = Math.round(performance.now() - started);
}, 180_000);

afterAll(async () => {
  if (api) await disconnectSubtensor(api);
  await d1?.dispose();
  await chain?.stop();
  console.log(`settlement chain timings (ms): ${JSON.stringify(timings)}`);
}, 30_000);

// Blocks are slow on a loaded 2-core machine: generous ceilings, no timed assertions.
describe("settlement with set_weights (commit-reveal off)", { timeout: 120_000 }, () => {
  it("turns uneven verified work into weights read back from SubtensorModule.Weights", async () => {
    const t = clock - 60_000;
    await insertUsage(d1.db, [
      // A: six honest answers; one of two canaries failed.
      ...Array.from({ length: 6 }, (_, i): UsageSpec => ({ miner: hotkey(0), prompt: 100, completion: 200, createdAt: t + i })),
      { miner: hotkey(0), kind: "canary", prompt: 10, completion: 5, createdAt: t + 10 },
      { miner: hotkey(0), kind: "canary", status: "miner_error", prompt: 10, completion: 0, reported: null, createdAt: t + 11 },
      // B: three honest answers on a dearer model, one over-reported 2x (excluded, lowers honesty).
      ...Array.from({ length: 3 }, (_, i): UsageSpec => ({ miner: hotkey(1), model: "big-model", prompt: 50, completion: 100, createdAt: t + 20 + i })),
      { miner: hotkey(1), prompt: 100, completion: 200, reported: { prompt: 200, completion: 400 }, createdAt: t + 24 },
      // C: two answers, one cancelled after output (counts), two failures, a refusal and a cancel before output (neither).
      { miner: hotkey(2), prompt: 100, completion: 100, createdAt: t + 30 },
      { miner: hotkey(2), prompt: 100, completion: 100, createdAt: t + 31 },
      { miner: hotkey(2), status: "client_cancelled", prompt: 100, completion: 50, reported: null, createdAt: t + 32 },
      { miner: hotkey(2), status: "miner_error", prompt: 100, completion: 0, reported: null, createdAt: t + 33 },
      { miner: hotkey(2), status: "timeout", httpStatus: 504, prompt: 100, completion: 0, reported: null, createdAt: t + 34 },
      { miner: hotkey(2), status: "miner_error", httpStatus: 400, prompt: 100, completion: 0, reported: null, createdAt: t + 35 },
      { miner: hotkey(2), status: "client_cancelled", prompt: 100, completion: 0, reported: null, createdAt: t + 36 },
      // Outside the window (before it, and after its end): ignored.
      { miner: hotkey(2), prompt: 1_000_000, completion: 1_000_000, createdAt: 1 },
      { miner: hotkey(2), prompt: 1_000_000, completion: 1_000_000, createdAt: clock + 3_600_000 },
      // Served by a hotkey that is not on the subnet: recorded, weight 0.
      { miner: STRANGER, prompt: 100, completion: 100, createdAt: t + 40 },
    ]);

    const report = await run();
    expect(report.planned).toBe(`${netuid}:${report.epoch - 1}`);
    expect(report.errors).toEqual([]);
    expect(report.steps).toMatchObject([{ step: "set_weights", outcome: "included" }]);

    // work = value x quality: A 840e6 x 1/2 (canary); B 1350e6 x 750/1050 (honesty, 714285 ppm); C 210e6 x 3/5 (success).
    const work = new Map([
      [uid(0), 420_000_000],
      [uid(1), 964_284_750],
      [uid(2), 126_000_000],
    ]);
    const onChain = await chainWeights(api, netuid, validatorUid);
    expect(closeTo(onChain, expectedWeights(work)), JSON.stringify({ onChain, expected: expectedWeights(work) })).toBe(true);
    expect(Math.max(...onChain.map(([, w]) => w))).toBe(65535);

    const s = await one("SELECT * FROM settlements WHERE id = ?", report.planned);
    expect(s).toMatchObject({ weights_status: "done", mode: "set_weights", payout_status: "disabled", validator_uid: validatorUid, last_error: null });
    expect(JSON.parse(String(s.weights))).toEqual(onChain);
    const rows = await all("SELECT hotkey, uid, requests_counted, requests_excluded, quality_ppm, work, weight FROM settlement_miners WHERE settlement_id = ? ORDER BY uid", report.planned);
    expect(rows).toEqual(
      expect.arrayContaining([
        { hotkey: hotkey(0), uid: uid(0), requests_counted: 6, requests_excluded: 0, quality_ppm: 500_000, work: "420000000", weight: expect.any(Number) },
        { hotkey: hotkey(1), uid: uid(1), requests_counted: 3, requests_excluded: 1, quality_ppm: 714_285, work: "964284750", weight: 65535 },
        { hotkey: hotkey(2), uid: uid(2), requests_counted: 3, requests_excluded: 4, quality_ppm: 600_000, work: "126000000", weight: expect.any(Number) },
        { hotkey: STRANGER, uid: null, requests_counted: 1, requests_excluded: 0, quality_ppm: 1_000_000, work: "80000000", weight: 0 },
      ]),
    );
    const x = await one("SELECT * FROM settlement_extrinsics WHERE settlement_id = ?", report.planned);
    expect(x).toMatchObject({ kind: "set_weights", status: "included", error: null });
    const block = await api.rpc.chain.getBlock(String(x.block_hash));
    expect(block.block.extrinsics.some((e) => e.hash.toHex() === x.tx_hash)).toBe(true);
  });

  it("does nothing more in the same epoch", async () => {
    const before = await all("SELECT id FROM settlement_extrinsics");
    clock += 1_000;
    const report = await run();
    expect(report.planned).toBeNull();
    expect(report.steps).toEqual([]);
    expect(await all("SELECT id FROM settlement_extrinsics")).toEqual(before);
  });

  it("pays a share of revenue into the miners' coldkeys, and a rerun pays nothing", async () => {
    await toNextEpoch(api, netuid);
    await insertUsage(d1.db, payoutTraffic(clock + 10));
    clock += 60_000;
    const before = await Promise.all([0, 1, 2].map((i) => freeOf(api, coldkey(i))));
    const treasuryBefore = await freeOf(api, devKey(TREASURY).address);

    const report = await run(PAYOUTS);
    expect(report.errors).toEqual([]);
    expect(report.steps.map((s) => [s.step, s.outcome])).toEqual([
      ["set_weights", "included"],
      ["payout", "included"],
    ]);
    const after = await Promise.all([0, 1, 2].map((i) => freeOf(api, coldkey(i))));
    expect(after.map((a, i) => a - (before[i] ?? 0n))).toEqual([PAY_A, PAY_B, 0n]);
    const treasuryAfter = await freeOf(api, devKey(TREASURY).address);
    expect(treasuryBefore - treasuryAfter).toBeGreaterThan(PAY_A + PAY_B); // plus the fee
    const s = await one("SELECT * FROM settlements WHERE id = ?", report.planned);
    expect(s).toMatchObject({ payout_status: "done", revenue_micro_usd: 4_000_000, payout_pool_rao: String(POOL) });
    expect(await all("SELECT hotkey, payout_rao, payout_status FROM settlement_miners WHERE settlement_id = ? ORDER BY hotkey", report.planned)).toEqual(
      [
        { hotkey: hotkey(0), payout_rao: String(PAY_A), payout_status: "paid" },
        { hotkey: hotkey(1), payout_rao: String(PAY_B), payout_status: "paid" },
      ].sort((a, b) => (a.hotkey < b.hotkey ? -1 : 1)),
    );

    clock += 1_000;
    const again = await run(PAYOUTS);
    expect(again.steps).toEqual([]);
    expect(await Promise.all([0, 1, 2].map((i) => freeOf(api, coldkey(i))))).toEqual(after);
  });

  it("recovers from a crash between broadcast and bookkeeping without paying twice", async () => {
    await toNextEpoch(api, netuid);
    await insertUsage(d1.db, payoutTraffic(clock + 10));
    clock += 60_000;
    const before = await Promise.all([0, 1].map((i) => freeOf(api, coldkey(i))));
    const crash = async (row: { kind: string }): Promise<void> => {
      if (row.kind === "payout") throw new Error("injected crash after broadcast");
    };
    await expect(run(PAYOUTS, { hooks: { afterBroadcast: crash } })).rejects.toThrow("injected crash after broadcast");
    // The node had it: the transfer lands although the books never heard of it.
    const landed = await until(
      () => Promise.all([0, 1].map((i) => freeOf(api, coldkey(i)))),
      (now) => now[0] !== before[0],
    );
    expect(landed.map((a, i) => a - (before[i] ?? 0n))).toEqual([PAY_A, PAY_B]);
    const open = await one("SELECT s.payout_status, x.status FROM settlements s JOIN settlement_extrinsics x ON x.settlement_id = s.id AND x.kind = 'payout' ORDER BY s.epoch DESC LIMIT 1");
    expect(open).toEqual({ payout_status: "pending", status: "signed" });

    clock += 1_000;
    const rerun = await run(PAYOUTS);
    expect(rerun.steps.map((s) => [s.step, s.outcome])).toEqual([["payout", "reconciled"]]);
    expect(await Promise.all([0, 1].map((i) => freeOf(api, coldkey(i))))).toEqual(landed);
    const done = await one("SELECT s.payout_status, x.status FROM settlements s JOIN settlement_extrinsics x ON x.settlement_id = s.id AND x.kind = 'payout' ORDER BY s.epoch DESC LIMIT 1");
    expect(done).toEqual({ payout_status: "done", status: "included" });
  });

  it("recovers from a crash between storing and broadcasting by sending the stored bytes once", async () => {
    await toNextEpoch(api, netuid);
    await insertUsage(d1.db, payoutTraffic(clock + 10));
    clock += 60_000;
    const before = await Promise.all([0, 1].map((i) => freeOf(api, coldkey(i))));
    const crash = async (row: { kind: string }): Promise<void> => {
      if (row.kind === "payout") throw new Error("injected crash before broadcast");
    };
    await expect(run(PAYOUTS, { hooks: { beforeBroadcast: crash } })).rejects.toThrow("injected crash before broadcast");
    expect(await Promise.all([0, 1].map((i) => freeOf(api, coldkey(i))))).toEqual(before);
    const stored = await one("SELECT tx_hash FROM settlement_extrinsics WHERE kind = 'payout' AND status = 'signed'");

    clock += 1_000;
    const rerun = await run(PAYOUTS);
    expect(rerun.steps).toMatchObject([{ step: "payout", outcome: "reconciled", txHash: stored.tx_hash }]);
    const after = await Promise.all([0, 1].map((i) => freeOf(api, coldkey(i))));
    expect(after.map((a, i) => a - (before[i] ?? 0n))).toEqual([PAY_A, PAY_B]);
    clock += 1_000;
    expect((await run(PAYOUTS)).steps).toEqual([]);
    expect(await Promise.all([0, 1].map((i) => freeOf(api, coldkey(i))))).toEqual(after);
  });
});

describe("chain errors are reported, not swallowed", { timeout: 120_000 }, () => {
  it("waits out WeightsSetRateLimit and supersedes the stale weights next epoch", async () => {
    await sudo(api, api.tx.adminUtils!.sudoSetWeightsSetRateLimit!(netuid, 1000));
    await toNextEpoch(api, netuid);
    await insertUsage(d1.db, payoutTraffic(clock + 10));
    clock += 60_000;
    const report = await run();
    expect(report.errors).toMatchObject([{ step: "set_weights", outcome: "waiting", error: "WeightsSetRateLimit" }]);
    expect(report.errors[0]?.message).toMatch(/next allowed at block \d+/);
    const s = await one("SELECT weights_status, last_error FROM settlements WHERE id = ?", report.planned);
    expect(s.weights_status).toBe("pending");
    expect(String(s.last_error)).toMatch(/WeightsSetRateLimit 1000/);
    expect(logs.some((l) => l.event === "settlement_step_error" && l.fields.error === "WeightsSetRateLimit")).toBe(true);

    await sudo(api, api.tx.adminUtils!.sudoSetWeightsSetRateLimit!(netuid, 0));
    await toNextEpoch(api, netuid);
    await insertUsage(d1.db, payoutTraffic(clock + 10));
    clock += 60_000;
    const next = await run();
    expect(next.steps).toMatchObject([{ step: "set_weights", outcome: "included" }]);
    expect(await one("SELECT weights_status FROM settlements WHERE id = ?", report.planned)).toEqual({ weights_status: "superseded" });
  });

  it("reports a treasury short of funds (before submitting, and when the chain refuses) and pays once funded", async () => {
    const treasury = devKey(TREASURY).address;
    await sudo(api, api.tx.balances!.forceSetBalance!(treasury, 1_000_000n));
    await toNextEpoch(api, netuid);
    await insertUsage(d1.db, payoutTraffic(clock + 10));
    clock += 60_000;
    const short = await run(PAYOUTS);
    expect(short.errors).toMatchObject([{ step: "payout", outcome: "waiting", error: "InsufficientTreasuryBalance" }]);
    const s = await one("SELECT payout_status, last_error FROM settlements WHERE id = ?", short.planned);
    expect(s.payout_status).toBe("pending");
    expect(String(s.last_error)).toContain(`has 1000000 rao free; the payout needs ${PAY_A + PAY_B} rao`);

    // Enough for the transfers and the existential deposit, not for the fee: the chain says no.
    await sudo(api, api.tx.balances!.forceSetBalance!(treasury, PAY_A + PAY_B + 500n));
    clock += 1_000;
    const refused = await run(PAYOUTS);
    expect(refused.errors).toHaveLength(1);
    expect(refused.errors[0]).toMatchObject({ step: "payout", outcome: "waiting" });
    expect(refused.errors[0]?.error).toMatch(/^(Pool\.Invalid\.Payment|Token\.FundsUnavailable|balances\.InsufficientBalance)$/);

    await sudo(api, api.tx.balances!.forceSetBalance!(treasury, 100n * TAO));
    const before = await Promise.all([0, 1].map((i) => freeOf(api, coldkey(i))));
    clock += 1_000;
    const paid = await run(PAYOUTS);
    expect(paid.steps.map((x) => [x.step, x.outcome])).toEqual([["payout", "included"]]);
    const after = await Promise.all([0, 1].map((i) => freeOf(api, coldkey(i))));
    expect(after.map((a, i) => a - (before[i] ?? 0n))).toEqual([PAY_A, PAY_B]);
  });

  it("reports a validator the chain refuses for lack of stake (WeightsMinStake)", async () => {
    // Spec 218 hands every neuron a validator permit one block after it registers, so the
    // permission a validator can lack here is stake: set_weights then never reaches a block.
    await sudo(api, api.tx.adminUtils!.sudoSetWeightsMinStake!(1_000_000n * TAO));
    try {
      await toNextEpoch(api, netuid);
      await insertUsage(d1.db, payoutTraffic(clock + 10));
      clock += 60_000;
      const report = await run();
      expect(report.errors).toMatchObject([{ step: "set_weights", outcome: "failed", error: "Pool.Invalid.Custom(3)" }]);
      expect(report.errors[0]?.message).toContain("hotkey stake below WeightsMinStake");
      const s = await one("SELECT weights_status, last_error FROM settlements WHERE id = ?", report.planned);
      expect(s.weights_status).toBe("failed");
      expect(String(s.last_error)).toContain("Pool.Invalid.Custom(3)");
      expect(await one("SELECT status, error FROM settlement_extrinsics WHERE settlement_id = ?", report.planned)).toEqual({ status: "dead", error: "Pool.Invalid.Custom(3)" });
    } finally {
      await sudo(api, api.tx.adminUtils!.sudoSetWeightsMinStake!(0));
    }
  });
});
