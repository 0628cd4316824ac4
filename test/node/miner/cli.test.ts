import { describe, expect, it } from "vitest";
import { parseCli } from "../../../miner/main";

describe("miner CLI", () => {
  it("parses every flag into startMiner options", () => {
    const opts = parseCli(
      [
        "--port", "8101", "--hotkey", "//Bob", "--host", "127.0.0.2", "--models", "a/b, c/d", "--validators", "5Grw,5FHn",
        "--upstream", "http://127.0.0.1:8000/v1", "--upstream-key", "k", "--ttft-ms", "5", "--tokens-per-sec", "1000",
        "--fail-rate", "0.25", "--seed", "9", "--over-report", "1.5", "--garbage", "--drop-after-tokens", "3", "--malformed-stream",
        "--exit-after-tokens", "4", "--stall-after-tokens", "5", "--error-event-after-tokens", "0", "--finish-error-after-tokens", "6",
        "--empty-stream", "--max-concurrency", "8",
      ],
      {},
    );
    expect(opts).toMatchObject({
      hotkey: "//Bob",
      host: "127.0.0.2",
      port: 8101,
      models: ["a/b", "c/d"],
      validators: ["5Grw", "5FHn"],
      upstream: "http://127.0.0.1:8000/v1",
      upstreamKey: "k",
      ttftMs: 5,
      tokensPerSec: 1000,
      failRate: 0.25,
      seed: 9,
      overReport: 1.5,
      garbage: true,
      dropAfterTokens: 3,
      malformedStream: true,
      exitAfterTokens: 4,
      stallAfterTokens: 5,
      errorEventAfterTokens: 0,
      finishErrorAfterTokens: 6,
      emptyStream: true,
      maxConcurrency: 8,
    });
  });

  it("takes the hotkey from MINER_HOTKEY and defaults the port", () => {
    expect(parseCli([], { MINER_HOTKEY: "//Dave" })).toMatchObject({ hotkey: "//Dave", port: 8101 });
  });

  it("fails clearly on a missing hotkey, unknown flags and non-numbers", () => {
    expect(() => parseCli([], {})).toThrow(/--hotkey/);
    expect(() => parseCli(["--hotkey", "//Bob", "--nope"], {})).toThrow();
    expect(() => parseCli(["--hotkey", "//Bob", "--fail-rate", "lots"], {})).toThrow(/--fail-rate/);
  });
});
