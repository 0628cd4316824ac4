// GET /v1/settlements (public) and POST /admin/settlements/run (forwarded to the chain Worker),
// inside workerd with the real D1 schema. Records are written the way the runner writes them.
import { env } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import { REPORT_TOLERANCE_PERCENT as BILLING_TOLERANCE } from "../../src/billing/pricing";
import { REPORT_TOLERANCE_PERCENT } from "../../src/chain/settlement/usage";
import { ADMIN, call, expectOpenAIError } from "./helpers";

type Listing = {
  object: string;
  has_more: boolean;
  data: Array<{
    id: string;
    epoch: number;
    weights: { status: string; sealed: boolean; vector: Array<[number, number]> | null; tx_hash: string | null; commit_hash: string | null };
    payouts: { status: string; pool_rao: string | null; tx_hash: string | null };
    miners: Array<Record<string, unknown>>;
  }>;
};

const NETUID = 4242;

async function seed(epoch: number, mode: "set_weights" | "commit_reveal", weightsStatus: string): Promise<void> {
  const id = `${NETUID}:${epoch}`;
  await env.DB.batch([
    env.DB.prepare(
      `INSERT INTO settlements (id, netuid, epoch, epoch_blocks, planned_at_block, window_start, window_end, validator_hotkey, validator_uid, mode, version_key,
         weights_status, weights, salt, commit_hash, commit_block, payout_status, revenue_micro_usd, payout_pool_rao, formula, last_error, last_error_at, created_at, updated_at)
       VALUES (?, ?, ?, 361, ?, ?, ?, 'validator-hotkey', 1, ?, 0, ?, '[[2,65535],[3,32768]]', '[1,2,3,4,5,6,7,8]', ?, NULL, 'done', 4000000, '2000000000', 'work-v1', NULL, NULL, 1, 1)`,
    ).bind(id, NETUID, epoch, epoch * 361, epoch * 1000, epoch * 1000 + 1000, mode, weightsStatus, mode === "commit_reveal" ? "0xabc" : null),
    env.DB.prepare(
      `INSERT INTO settlement_miners VALUES (?, 'miner-a', 2, 'cold-a', 6, 1, 600, 1200, '840000000', 1000000, 1000000, 500000, 500000, '420000000', 65535, '1000000000', 'paid')`,
    ).bind(id),
    env.DB.prepare(
      `INSERT INTO settlement_extrinsics VALUES (?, ?, ?, 'validator-hotkey', 7, ?, '0x00', 10, 74, 'included', 11, '0xblock', NULL, 1, 1)`,
    ).bind(`${id}:w`, id, mode === "commit_reveal" ? "commit_weights" : "set_weights", `0xtx${epoch}`),
  ]);
}

beforeAll(async () => {
  await seed(10, "set_weights", "done");
  await seed(11, "set_weights", "done");
  await seed(12, "commit_reveal", "committed");
});

describe("GET /v1/settlements", () => {
  it("lists epochs newest first without credentials, with work, weight and extrinsic hashes", async () => {
    const res = await call(`/v1/settlements?netuid=${NETUID}`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as Listing;
    expect(body.object).toBe("list");
    expect(body.data.map((s) => s.epoch)).toEqual([12, 11, 10]);
    const open = body.data[1];
    expect(open?.weights).toMatchObject({ status: "done", sealed: false, vector: [[2, 65535], [3, 32768]], tx_hash: "0xtx11" });
    expect(open?.payouts).toMatchObject({ status: "done", pool_rao: "2000000000" });
    expect(open?.miners).toEqual([
      {
        hotkey: "miner-a",
        uid: 2,
        coldkey: "cold-a",
        requests_counted: 6,
        requests_excluded: 1,
        prompt_tokens: 600,
        completion_tokens: 1200,
        value_pusd: "840000000",
        quality: { success_ppm: 1000000, honesty_ppm: 1000000, canary_ppm: 500000, quality_ppm: 500000 },
        work: "420000000",
        weight: 65535,
        payout_rao: "1000000000",
        payout_status: "paid",
      },
    ]);
  });

  it("seals weights, work and payouts while commit-reveal has not revealed them", async () => {
    const body = (await (await call(`/v1/settlements?netuid=${NETUID}&limit=1`)).json()) as Listing;
    expect(body.has_more).toBe(true);
    const sealed = body.data[0];
    expect(sealed?.weights).toMatchObject({ status: "committed", sealed: true, vector: null, tx_hash: null, commit_hash: "0xabc" });
    expect(sealed?.payouts.pool_rao).toBeNull();
    expect(sealed?.miners).toEqual([{ hotkey: "miner-a", uid: 2, coldkey: "cold-a" }]);
    expect(JSON.stringify(body)).not.toContain("salt");
  });

  it("pages with before and validates its parameters", async () => {
    const body = (await (await call(`/v1/settlements?netuid=${NETUID}&before=11`)).json()) as Listing;
    expect(body.data.map((s) => s.epoch)).toEqual([10]);
    expect(body.has_more).toBe(false);
    await expectOpenAIError(await call("/v1/settlements?limit=0"), 400, "invalid_value", "limit");
    await expectOpenAIError(await call("/v1/settlements?netuid=x"), 400, "invalid_value", "netuid");
    await expectOpenAIError(await call("/v1/settlements", { method: "POST" }), 405, "method_not_allowed");
  });

  it("counts over-reporting with billing's tolerance", () => {
    expect(REPORT_TOLERANCE_PERCENT).toBe(BILLING_TOLERANCE);
  });
});

describe("POST /admin/settlements/run", () => {
  it("needs the admin token", async () => {
    await expectOpenAIError(await call("/admin/settlements/run", { method: "POST" }), 401, "invalid_admin_token");
  });

  it("forwards to the chain Worker and passes its answer through", async () => {
    // In this suite the CHAIN binding answers like an unreachable chain Worker.
    await expectOpenAIError(await call("/admin/settlements/run", { method: "POST", headers: ADMIN }), 503, "chain_worker_unavailable");
    await expectOpenAIError(await call("/admin/settlements/run", { headers: ADMIN }), 405, "method_not_allowed");
  });
});
