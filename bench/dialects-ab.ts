/**
 * `npm run bench:dialects`: what Anthropic Messages and OpenAI Responses cost beside chat, before
 * and after the one request pipeline (issue #11: they stopped re-parsing the relay's output).
 * Each version is a `git archive` snapshot (by default the commit before the pipeline landed,
 * 697773a^, and HEAD) into which this very script is copied, so both are measured the same way:
 * the fast upstream, the gateway's workerd socket, chat, Messages and Responses at 16 connections,
 * non-streamed (16 tokens) and streamed (64 tokens, one SSE event each), interleaved for a few
 * rounds, the Worker's workerd CPU per request from /proc. The figure that compares across
 * versions is each dialect's CPU minus chat's in the same snapshot and mode: the gateway around the
 * dialects changed a lot between the two (admission, metering, signing).
 *
 *   npm run bench:dialects [-- --before <rev> --after <rev> --rounds 3 --seconds 4]
 *
 * Results: printed, and bench/results/dialects-ab.json.
 */
import { execFileSync, spawn } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/dev-stack";
import { runLoad } from "./lib/load";
import { cpuMicros } from "./lib/procfs";
import { summarise } from "./lib/stats";
import { requestTarget, startGateway, startUpstream } from "./lib/targets";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const { values } = parseArgs({
  options: {
    "variant-run": { type: "boolean", default: false },
    before: { type: "string", default: "697773a^" },
    after: { type: "string", default: "HEAD" },
    rounds: { type: "string", default: "3" },
    seconds: { type: "string", default: "4" },
  },
});

const PROMPT = "Say something short about rivers.";
const STREAM_TOKENS = 64;
const ENDPOINTS = {
  chat: { path: "/v1/chat/completions", body: (model: string) => ({ model, messages: [{ role: "user", content: PROMPT }], max_tokens: 16 }) },
  messages: { path: "/v1/messages", body: (model: string) => ({ model, max_tokens: 16, messages: [{ role: "user", content: PROMPT }] }) },
  responses: { path: "/v1/responses", body: (model: string) => ({ model, input: PROMPT, max_output_tokens: 16, store: false }) },
  "chat-stream": { path: "/v1/chat/completions", body: (model: string) => ({ model, messages: [{ role: "user", content: PROMPT }], max_tokens: STREAM_TOKENS, stream: true }) },
  "messages-stream": { path: "/v1/messages", body: (model: string) => ({ model, max_tokens: STREAM_TOKENS, messages: [{ role: "user", content: PROMPT }], stream: true }) },
  "responses-stream": { path: "/v1/responses", body: (model: string) => ({ model, input: PROMPT, max_output_tokens: STREAM_TOKENS, store: false, stream: true }) },
} as const;
type Endpoint = keyof typeof ENDPOINTS;
/** The chat figure each endpoint is compared with. */
const REFERENCE: Record<Endpoint, Endpoint> = { chat: "chat", messages: "chat", responses: "chat", "chat-stream": "chat-stream", "messages-stream": "chat-stream", "responses-stream": "chat-stream" };

interface Figures {
  requests: number;
  failed: number;
  workerCpuUsPerRequest: number;
  p50Ms: number;
}

/** Inside a snapshot: measure and print one JSON line. */
async function measureHere(): Promise<void> {
  // A dev registry of its own (as bench/lib/targets.ts privateDevRegistry does; inline because the
  // older snapshot this script is copied into has no such helper): the shared one reloads the
  // gateway whenever another dev session registers the same Worker name.
  const registry = mkdtempSync(join(tmpdir(), "bench-wrangler-registry-"));
  process.env.WRANGLER_REGISTRY_PATH = registry;
  process.once("exit", () => rmSync(registry, { recursive: true, force: true }));
  const up = await startUpstream("upstream-fast", { hotkeyUri: "//Bob", model: "bench/fast", ttftMs: 5, tokensPerSec: 2000 });
  try {
    const gateway = await startGateway([up]);
    try {
      const base = gateway.innerUrl ?? gateway.url;
      const chat = requestTarget("gateway", up, base, gateway.devKey, "");
      const target = (e: Endpoint) => ({ url: `${base}${ENDPOINTS[e].path}`, headers: chat.headers, body: JSON.stringify(ENDPOINTS[e].body(up.model)) });
      const acc = Object.fromEntries((Object.keys(ENDPOINTS) as Endpoint[]).map((e) => [e, { ok: 0, failed: 0, cpuUs: 0, lat: [] as number[] }]));
      for (const e of Object.keys(ENDPOINTS) as Endpoint[]) await runLoad({ ...target(e), connections: 16, durationSec: 2 }); // warm-up
      const order = Object.keys(ENDPOINTS) as Endpoint[];
      for (let round = 0; round < Number(values.rounds); round++) {
        for (const e of [...order.slice(round % order.length), ...order.slice(0, round % order.length)]) {
          const before = cpuMicros(gateway.pids.worker);
          const r = await runLoad({ ...target(e), connections: 16, durationSec: Number(values.seconds) });
          await new Promise((res) => setTimeout(res, 1600)); // the usage batch and the book's give-back
          const a = acc[e] as { ok: number; failed: number; cpuUs: number; lat: number[] };
          a.cpuUs += cpuMicros(gateway.pids.worker) - before;
          a.ok += r.ok;
          a.failed += r.failed;
          a.lat.push(...r.latenciesMs);
          process.stderr.write(`round ${round + 1} ${e}: ok=${r.ok} failed=${r.failed}\n`);
        }
      }
      const out: Record<string, Figures> = {};
      for (const [e, a] of Object.entries(acc)) out[e] = { requests: a.ok, failed: a.failed, workerCpuUsPerRequest: a.ok > 0 ? a.cpuUs / a.ok : Number.NaN, p50Ms: summarise(a.lat).p50 };
      process.stdout.write(`RESULT ${JSON.stringify(out)}\n`);
    } finally {
      await gateway.stack.stop();
    }
  } finally {
    await up.process.stop();
  }
}

async function runVersion(rev: string): Promise<{ rev: string; commit: string; figures: Record<Endpoint, Figures> }> {
  const commit = execFileSync("git", ["rev-parse", "--short", rev], { cwd: ROOT }).toString().trim();
  const dir = mkdtempSync(join(tmpdir(), `bench-dialects-${commit}-`));
  try {
    execFileSync("sh", ["-c", `git archive --format=tar ${commit} | tar -x -C '${dir}'`], { cwd: ROOT });
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    // The same measuring code in both versions.
    copyFileSync(join(ROOT, "bench/dialects-ab.ts"), join(dir, "bench/dialects-ab.ts"));
    const child = spawn(process.execPath, ["--import", "tsx", join(dir, "bench/dialects-ab.ts"), "--variant-run", "--rounds", values.rounds, "--seconds", values.seconds], {
      cwd: dir,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    const line = out.split("\n").find((l) => l.startsWith("RESULT "));
    if (code !== 0 || !line) throw new Error(`${rev} (${commit}) failed (exit ${code}):\n${out}`);
    return { rev, commit, figures: JSON.parse(line.slice("RESULT ".length)) as Record<Endpoint, Figures> };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values["variant-run"]) {
  await measureHere();
} else {
  const versions = [await runVersion(values.before), await runVersion(values.after)];
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(ROOT, "bench/results/dialects-ab.json"), `${JSON.stringify({ date: new Date().toISOString(), rounds: Number(values.rounds), seconds: Number(values.seconds), versions }, null, 2)}\n`);
  const f = (n: number) => (Number.isFinite(n) ? n.toFixed(0) : "n/a");
  console.log("Worker CPU µs per request at 16 connections (workerd socket); in brackets: minus chat's (same version, same mode)");
  for (const v of versions) {
    console.log(`  ${v.rev} (${v.commit}):`);
    for (const e of Object.keys(ENDPOINTS) as Endpoint[]) {
      const x = v.figures[e];
      const ref = REFERENCE[e];
      const d = x.workerCpuUsPerRequest - v.figures[ref].workerCpuUsPerRequest;
      console.log(`    ${e.padEnd(17)} ${f(x.workerCpuUsPerRequest).padStart(5)}${e === ref ? "" : ` (${d >= 0 ? "+" : ""}${f(d)})`}  p50 ${x.p50Ms.toFixed(1)} ms, ${x.requests} ok / ${x.failed} failed`);
    }
  }
}
