// CLI for the reference miner: `npm run miner -- --port 8101 --hotkey //Bob [knobs...]`.
// Only argument parsing and process lifecycle live here; see server.ts for the miner itself.
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { startMiner } from "./server";
import type { MinerOptions } from "./options";

const USAGE = `usage: npm run miner -- --hotkey <secret uri> [options]
  --hotkey URI            miner hotkey secret URI (e.g. //Bob); or env MINER_HOTKEY
  --host ADDR             bind address (default 127.0.0.1)
  --port N                port (default 8101; 0 = ephemeral)
  --models a,b            served models (default demo/tiny-chat,demo/tiny-embed; upstream list in proxy mode)
  --validators ss58,ss58  accept only these sender hotkeys
  --upstream URL          proxy to an OpenAI-compatible base URL incl. /v1 (vLLM, llama.cpp, Ollama)
  --upstream-key KEY      bearer key for the upstream (or env UPSTREAM_API_KEY)
  --max-body-bytes N      request body cap (default 4 MiB)
  --skew-ms N             Epistula timestamp skew (default 8000)
misbehaviour knobs (off by default):
  --ttft-ms N             delay before the first token (default 20)
  --tokens-per-sec N      pacing between tokens (default 500)
  --fail-rate P           probability 0..1 of an HTTP 500 before any byte
  --fail-on-text S        HTTP 500 to every inference request whose body contains S
  --seed N                seed of the failure PRNG (default 1)
  --over-report F         multiply reported usage by F
  --garbage               answer known-answer prompts wrongly
  --drop-after-tokens N   destroy the socket after N streamed tokens
  --malformed-stream      emit one invalid data: line mid-stream
  --exit-after-tokens N   exit the process after N streamed tokens reached the wire (a miner dying mid-stream)
  --stall-after-tokens N  after N streamed tokens send nothing more (0: nothing after the headers)
  --error-event-after-tokens N   send an in-band data: {"error":...} event after N tokens and end the stream
  --finish-error-after-tokens N  send finish_reason "error" after N tokens, then [DONE]
  --empty-stream          answer streams with data: [DONE] alone
  --max-concurrency N     serve at most N inference requests at once; the rest queue (TTFT grows)`;

function num(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (value.trim() === "" || Number.isNaN(n)) throw new Error(`--${name} expects a number, got ${JSON.stringify(value)}`);
  return n;
}

const list = (v: string | undefined): string[] | undefined =>
  v === undefined ? undefined : v.split(",").map((s) => s.trim()).filter((s) => s !== "");

export function parseCli(argv: string[], env: NodeJS.ProcessEnv): MinerOptions | "help" {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      help: { type: "boolean", short: "h" },
      hotkey: { type: "string" },
      host: { type: "string" },
      port: { type: "string" },
      models: { type: "string" },
      validators: { type: "string" },
      upstream: { type: "string" },
      "upstream-key": { type: "string" },
      "max-body-bytes": { type: "string" },
      "skew-ms": { type: "string" },
      "ttft-ms": { type: "string" },
      "tokens-per-sec": { type: "string" },
      "fail-rate": { type: "string" },
      seed: { type: "string" },
      "over-report": { type: "string" },
      garbage: { type: "boolean" },
      "drop-after-tokens": { type: "string" },
      "malformed-stream": { type: "boolean" },
      "fail-on-text": { type: "string" },
      "exit-after-tokens": { type: "string" },
      "stall-after-tokens": { type: "string" },
      "error-event-after-tokens": { type: "string" },
      "finish-error-after-tokens": { type: "string" },
      "empty-stream": { type: "boolean" },
      "max-concurrency": { type: "string" },
    },
  });
  if (values.help) return "help";
  const hotkey = values.hotkey ?? env.MINER_HOTKEY;
  if (!hotkey) throw new Error("--hotkey (or env MINER_HOTKEY) is required");
  return {
    hotkey,
    host: values.host,
    port: num("port", values.port) ?? 8101,
    models: list(values.models),
    validators: list(values.validators),
    upstream: values.upstream,
    upstreamKey: values["upstream-key"] ?? env.UPSTREAM_API_KEY,
    maxBodyBytes: num("max-body-bytes", values["max-body-bytes"]),
    skewMs: num("skew-ms", values["skew-ms"]),
    ttftMs: num("ttft-ms", values["ttft-ms"]),
    tokensPerSec: num("tokens-per-sec", values["tokens-per-sec"]),
    failRate: num("fail-rate", values["fail-rate"]),
    seed: num("seed", values.seed),
    overReport: num("over-report", values["over-report"]),
    garbage: values.garbage,
    dropAfterTokens: num("drop-after-tokens", values["drop-after-tokens"]),
    malformedStream: values["malformed-stream"],
    failOnText: values["fail-on-text"],
    exitAfterTokens: num("exit-after-tokens", values["exit-after-tokens"]),
    stallAfterTokens: num("stall-after-tokens", values["stall-after-tokens"]),
    errorEventAfterTokens: num("error-event-after-tokens", values["error-event-after-tokens"]),
    finishErrorAfterTokens: num("finish-error-after-tokens", values["finish-error-after-tokens"]),
    emptyStream: values["empty-stream"],
    maxConcurrency: num("max-concurrency", values["max-concurrency"]),
    // The process dies as a crashed miner would: no shutdown, connections reset by the kernel.
    onExit: () => process.exit(70),
    log: (line) => console.log(line),
  };
}

async function main(): Promise<void> {
  let opts: MinerOptions | "help";
  try {
    opts = parseCli(process.argv.slice(2), process.env);
  } catch (err) {
    console.error(`${err instanceof Error ? err.message : String(err)}\n\n${USAGE}`);
    process.exit(2);
  }
  if (opts === "help") {
    console.log(USAGE);
    return;
  }
  const miner = await startMiner(opts);
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) process.exit(1); // second Ctrl-C: don't wait
    stopping = true;
    console.log(`miner: ${signal}, shutting down`);
    miner.close().then(
      () => process.exit(0),
      (err: unknown) => {
        console.error(err);
        process.exit(1);
      },
    );
  };
  process.on("SIGINT", () => stop("SIGINT"));
  process.on("SIGTERM", () => stop("SIGTERM"));
}

// Run only as the entry point, so tests can import parseCli.
if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((err: unknown) => {
    console.error(err);
    process.exit(1);
  });
}
