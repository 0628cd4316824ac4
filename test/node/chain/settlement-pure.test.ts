// The pure parts of settlement: epochs, quality, work, payouts, the commit hash, configuration.
import { TypeRegistry } from "@polkadot/types";
import { blake2AsHex } from "@polkadot/util-crypto";
import { describe, expect, it } from "vitest";
import { ChainConfigError } from "../../../src/chain/errors";
import { actionFor, explain } from "../../../src/chain/settlement/actions";
import { commitHash, encodeCommit, newSalt, SALT_LENGTH } from "../../../src/chain/settlement/commit";
import { settlementConfig, type SettlementEnv } from "../../../src/chain/settlement/config";
import { chainEpochIndex, epochIndex, epochLength, epochStartBlock, revealTiming, revealWindow } from "../../../src/chain/settlement/epoch";
import { payoutPool, splitPayouts } from "../../../src/chain/settlement/payouts";
import { minerQuality } from "../../../src/chain/settlement/quality";
import { isSealed } from "../../../src/settlements/read";
import { describePoolRefusal } from "../../../src/chain/settlement/tx";
import type { UsageGroup } from "../../../src/chain/settlement/usage";
import { FALLBACK_PRICE, minerWork, priceOf } from "../../../src/chain/settlement/work";
import { ss58Decode } from "../../../src/protocol/ss58";

describe("epochs", () => {
  it("match Subtensor's get_epoch_index and epoch boundaries", () => {
    // netuid 2, tempo 5: the epoch runs when (block + 3) % 6 == 0, i.e. at blocks 3, 9, 15...
    const s = { kind: "tempo", netuid: 2, tempo: 5 } as const;
    expect(epochLength(s)).toBe(6);
    expect([2, 3, 8, 9, 14, 15].map((b) => epochIndex(s, b))).toEqual([0, 1, 1, 2, 2, 3]);
    expect(epochStartBlock(s, 2)).toBe(9);
    expect(epochIndex(s, epochStartBlock(s, 7))).toBe(7);
    expect(epochIndex(s, epochStartBlock(s, 7) - 1)).toBe(6);
    expect(chainEpochIndex(2, 5, 15)).toBe(3);
  });

  it("use a fixed length when configured", () => {
    const s = { kind: "fixed", blocks: 100 } as const;
    expect([0, 99, 100, 250].map((b) => epochIndex(s, b))).toEqual([0, 0, 1, 2]);
    expect(epochStartBlock(s, 3)).toBe(300);
  });

  it("compute the reveal window like get_reveal_blocks, judged at the next block", () => {
    // Commit included at block 16 on netuid 2, tempo 5 (epoch 3 = blocks 15..20): reveal in epoch 4 = 21..26.
    expect(revealWindow(2, 5, 1, 16)).toEqual({ epoch: 4, firstBlock: 21, lastBlock: 26 });
    expect(revealTiming(2, 5, 1, 16, 19)).toBe("early");
    expect(revealTiming(2, 5, 1, 16, 20)).toBe("open"); // lands in 21
    expect(revealTiming(2, 5, 1, 16, 25)).toBe("open"); // lands in 26
    expect(revealTiming(2, 5, 1, 16, 26)).toBe("expired");
  });
});

describe("minerQuality", () => {
  const base = { served: 0, failed: 0, reportedTokens: 0, countedTokensOfReported: 0, canaryTotal: 0, canaryOk: 0 };

  it("is the product of success, honesty and canary ratios in ppm", () => {
    expect(minerQuality({ ...base, served: 9, failed: 1, reportedTokens: 200, countedTokensOfReported: 150, canaryTotal: 4, canaryOk: 3 })).toEqual({
      successPpm: 900_000,
      honestyPpm: 750_000,
      canaryPpm: 750_000,
      routingPpm: 1_000_000,
      qualityPpm: 506_250,
    });
  });

  it("is 1 without evidence, never above 1 for under-reporting, and takes routing's score", () => {
    expect(minerQuality(base).qualityPpm).toBe(1_000_000);
    expect(minerQuality({ ...base, served: 1, reportedTokens: 10, countedTokensOfReported: 30 }).honestyPpm).toBe(1_000_000);
    expect(minerQuality({ ...base, served: 1 }, 250_000).qualityPpm).toBe(250_000);
    expect(minerQuality({ ...base, served: 1 }, 2_000_000).routingPpm).toBe(1_000_000);
    expect(minerQuality({ ...base, failed: 3 }).qualityPpm).toBe(0);
  });
});

function group(over: Partial<UsageGroup>): UsageGroup {
  return {
    hotkey: "A",
    model: "m",
    kind: "subscriber",
    requests: 0,
    counted: 0,
    promptTokens: 0,
    completionTokens: 0,
    served: 0,
    failed: 0,
    refused: 0,
    cancelledEmpty: 0,
    overReported: 0,
    reportedTokens: 0,
    countedTokensOfReported: 0,
    ...over,
  };
}

describe("minerWork", () => {
  const prices = [
    { model: "*", inputMicroUsdPerMtok: 100, outputMicroUsdPerMtok: 300 },
    { model: "big", inputMicroUsdPerMtok: 1_000, outputMicroUsdPerMtok: 5_000 },
  ];

  it("prices counted tokens per model and scales by quality; canaries only feed quality", () => {
    const works = minerWork(
      [
        group({ hotkey: "B", model: "big", requests: 3, counted: 2, promptTokens: 10, completionTokens: 20, served: 2, failed: 1 }),
        group({ hotkey: "A", model: "small", requests: 2, counted: 2, promptTokens: 100, completionTokens: 10, served: 2 }),
        group({ hotkey: "A", model: "small", kind: "canary", requests: 2, served: 1, failed: 1, promptTokens: 999 }),
      ],
      prices,
    );
    expect(works.map((w) => w.hotkey)).toEqual(["A", "B"]);
    const [a, b] = works;
    // A: 100 x 100 + 10 x 300 = 13_000 pUSD, canary 1/2 -> work 6_500.
    expect(a).toMatchObject({ requestsCounted: 2, requestsExcluded: 0, promptTokens: 100, completionTokens: 10, valuePusd: 13_000n, work: 6_500n });
    expect(a?.quality.canaryPpm).toBe(500_000);
    // B: 10 x 1000 + 20 x 5000 = 110_000 pUSD, success 2/3.
    expect(b).toMatchObject({ requestsCounted: 2, requestsExcluded: 1, valuePusd: 110_000n, work: 73_333n });
  });

  it("falls back to the '*' row, then to the seeded default price", () => {
    expect(priceOf(prices, "unknown").inputMicroUsdPerMtok).toBe(100);
    expect(priceOf([], "unknown")).toEqual(FALLBACK_PRICE);
  });
});

describe("payouts", () => {
  const policy = { shareBps: 2_000, raoPerUsd: 2_500_000_000n, minRao: 1_000n, maxRaoPerEpoch: null };

  it("take the configured share of revenue in integer rao, capped", () => {
    // $10 of revenue, 20%, 2.5 TAO per USD -> 5 TAO.
    expect(payoutPool(10_000_000n, policy)).toBe(5_000_000_000n);
    expect(payoutPool(10_000_000n, { ...policy, maxRaoPerEpoch: 1_000n })).toBe(1_000n);
    expect(payoutPool(0n, policy)).toBe(0n);
    expect(payoutPool(1n, { ...policy, raoPerUsd: 1n })).toBe(0n);
  });

  it("split by work, rounded down, skipping below the minimum and the existential deposit", () => {
    const lines = splitPayouts(
      1_000_000n,
      [
        { hotkey: "a", coldkey: "ca", work: 600n },
        { hotkey: "b", coldkey: "cb", work: 399n },
        { hotkey: "c", coldkey: "cc", work: 1n },
        { hotkey: "d", coldkey: null, work: 10n },
        { hotkey: "e", coldkey: "ce", work: 0n },
      ],
      2_000n,
      500n,
    );
    expect(lines.map((l) => [l.hotkey, l.amountRao, l.status])).toEqual([
      ["a", 600_000n, "planned"],
      ["b", 399_000n, "planned"],
      ["c", 1_000n, "skipped_minimum"],
      ["d", 0n, "skipped_no_coldkey"],
      ["e", 0n, "none"],
    ]);
    expect(splitPayouts(1_000n, [{ hotkey: "a", coldkey: "ca", work: 1n }], 0n, 5_000n)[0]?.status).toBe("skipped_existential_deposit");
  });
});

describe("commit hash", () => {
  const hotkey = "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY";
  const input = { hotkey: ss58Decode(hotkey), netuid: 2, uids: [1, 2, 3], values: [21845, 43690, 65535], salt: [1, 2, 3, 4, 5, 6, 7, 8], versionKey: 0n };

  it("is BlakeTwo256 over the same SCALE bytes polkadot-js encodes", () => {
    const registry = new TypeRegistry();
    const bytes = registry.createType("(AccountId32, u16, Vec<u16>, Vec<u16>, Vec<u16>, u64)", [hotkey, 2, input.uids, input.values, input.salt, 0]).toU8a();
    expect(encodeCommit(input)).toEqual(bytes);
    expect(commitHash(input)).toBe(blake2AsHex(bytes, 256));
    const long = { ...input, uids: Array.from({ length: 300 }, (_, i) => i), values: Array.from({ length: 300 }, () => 7), versionKey: 2n ** 63n };
    const longBytes = registry.createType("(AccountId32, u16, Vec<u16>, Vec<u16>, Vec<u16>, u64)", [hotkey, 2, long.uids, long.values, long.salt, 2n ** 63n]).toU8a();
    expect(commitHash(long)).toBe(blake2AsHex(longBytes, 256));
  });

  it("changes with the salt; salts are random u16s", () => {
    const salt = newSalt();
    expect(salt).toHaveLength(SALT_LENGTH);
    expect(salt.every((v) => Number.isInteger(v) && v >= 0 && v <= 65535)).toBe(true);
    expect(commitHash({ ...input, salt })).not.toBe(commitHash(input));
  });
});

describe("settlementConfig", () => {
  const env = { DB: {} as SettlementEnv["DB"], NETUID: "7", GATEWAY_HOTKEY_MNEMONIC: "//Alice" } satisfies SettlementEnv;

  it("has defaults and payouts off", () => {
    expect(settlementConfig(env)).toEqual({
      subtensorUrl: undefined,
      netuid: 7,
      validatorUri: "//Alice",
      epochBlocks: null,
      lagMs: 600_000,
      versionKey: null,
      inclusionTimeoutMs: 90_000,
      payouts: null,
    });
  });

  it("parses payouts and refuses malformed values without echoing secrets", () => {
    const cfg = settlementConfig({ ...env, PAYOUT_ENABLED: "true", PAYOUT_TREASURY_MNEMONIC: "//Treasury", PAYOUT_SHARE_BPS: "1500", PAYOUT_RAO_PER_USD: "2500000000", PAYOUT_MAX_RAO_PER_EPOCH: "10" });
    expect(cfg.payouts).toEqual({ treasuryUri: "//Treasury", shareBps: 1500, raoPerUsd: 2_500_000_000n, minRao: 1_000_000n, maxRaoPerEpoch: 10n });
    expect(() => settlementConfig({ ...env, NETUID: "x" })).toThrow(ChainConfigError);
    expect(() => settlementConfig({ ...env, PAYOUT_ENABLED: "true", PAYOUT_SHARE_BPS: "1", PAYOUT_RAO_PER_USD: "1" })).toThrow(/PAYOUT_TREASURY_MNEMONIC is required/);
    expect(() => settlementConfig({ ...env, PAYOUT_ENABLED: "1", PAYOUT_TREASURY_MNEMONIC: "secret words", PAYOUT_SHARE_BPS: "20000", PAYOUT_RAO_PER_USD: "1" })).toThrow(/PAYOUT_SHARE_BPS must be an integer 0-10000/);
    expect(() => settlementConfig({ ...env, GATEWAY_HOTKEY_MNEMONIC: " " })).toThrow(/GATEWAY_HOTKEY_MNEMONIC is required/);
  });
});

describe("chain error handling", () => {
  it("names pool refusals from chopsticks' and Substrate nodes' messages alike", () => {
    const cases: Array<[string, string]> = [
      ['1010: {"invalid":{"payment":null}}', "Pool.Invalid.Payment"],
      ["1010: Invalid Transaction: Inability to pay some fees (e.g. account balance too low)", "Pool.Invalid.Payment"],
      ['1010: {"invalid":{"stale":null}}', "Pool.Invalid.Stale"],
      ["1010: Invalid Transaction: Transaction is outdated", "Pool.Invalid.Stale"],
      ['1010: {"invalid":{"custom":3}}', "Pool.Invalid.Custom(3)"],
      ["1010: Invalid Transaction: Custom error: 3", "Pool.Invalid.Custom(3)"],
      ["1012: Transaction is temporarily banned", "Pool.TemporarilyBanned"],
      ["1013: Transaction Already Imported", "Pool.AlreadyImported"],
    ];
    for (const [message, name] of cases) expect(describePoolRefusal(new Error(message)), message).toBe(name);
  });

  it("waits, retries or gives up by error", () => {
    expect(actionFor("subtensorModule.SettingWeightsTooFast", "set_weights")).toBe("wait");
    expect(actionFor("subtensorModule.RevealTooEarly", "reveal_weights")).toBe("wait");
    expect(actionFor("Token.FundsUnavailable", "payout")).toBe("wait");
    expect(actionFor("Pool.Invalid.Stale", "payout")).toBe("retry");
    expect(actionFor("subtensorModule.IncorrectWeightVersionKey", "set_weights")).toBe("retry");
    expect(actionFor("subtensorModule.IncorrectWeightVersionKey", "reveal_weights")).toBe("give_up");
    expect(actionFor("subtensorModule.NeuronNoValidatorPermit", "set_weights")).toBe("give_up");
    expect(actionFor("subtensorModule.ExpiredWeightCommit", "reveal_weights")).toBe("give_up");
    expect(explain("Pool.Invalid.Custom(3)")).toContain("stake below WeightsMinStake");
  });

  it("seals a settlement while commit-reveal hides its weights", () => {
    expect(isSealed({ mode: "commit_reveal", weightsStatus: "committed" })).toBe(true);
    expect(isSealed({ mode: "commit_reveal", weightsStatus: "done" })).toBe(false);
    expect(isSealed({ mode: "set_weights", weightsStatus: "pending" })).toBe(false);
  });
});
