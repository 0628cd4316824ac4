/**
 * The benchmark's fixed-behaviour upstream, in its own process so its CPU never competes with the
 * load generator's event loop: the reference miner's deterministic built-in model with fixed
 * pacing and Epistula verification off (it accepts signed requests without checking them, so
 * verification cost is in no path). Prints one JSON line `{"url","hotkey"}` when listening.
 *
 *   node --import tsx bench/upstream-main.ts --ttft-ms 5 --tokens-per-sec 2000 --hotkey //Bob --models m1,m2
 */
import { parseArgs } from "node:util";
import { startMiner } from "../miner/server";

const { values } = parseArgs({
  options: {
    "ttft-ms": { type: "string", default: "5" },
    "tokens-per-sec": { type: "string", default: "2000" },
    hotkey: { type: "string", default: "//Bob" },
    models: { type: "string", default: "demo/tiny-chat" },
  },
});

const miner = await startMiner({
  hotkey: values.hotkey,
  host: "127.0.0.1",
  port: 0,
  epistula: false,
  models: values.models.split(","),
  ttftMs: Number(values["ttft-ms"]),
  tokensPerSec: Number(values["tokens-per-sec"]),
  log: (line) => process.stderr.write(`${line}\n`),
});
process.stdout.write(`${JSON.stringify({ url: miner.url, hotkey: miner.hotkey })}\n`);

const stop = () => {
  void miner.close().finally(() => process.exit(0));
};
process.once("SIGTERM", stop);
process.once("SIGINT", stop);
