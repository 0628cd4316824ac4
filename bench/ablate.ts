/**
 * `npm run bench:ablate`: attributes the gateway's added latency and CPU by ablation. Each variant
 * is a snapshot of HEAD with one request-path step patched out (in the snapshot only, never in
 * the repo); every variant is measured the same way (direct vs the Worker's workerd socket,
 * interleaved) and compared with the unpatched baseline. A patch whose anchor text is no longer
 * in the code is reported as not applicable rather than silently measuring the baseline.
 *
 * Results: printed, and bench/results/ablation.json.
 */
import { execFileSync, spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { ROOT } from "../scripts/lib/dev-stack";
import { runPhases, type PathDef, type Workload } from "./lib/phases";
import { summarise } from "./lib/stats";
import { privateDevRegistry, requestTarget, startGateway, startUpstream } from "./lib/targets";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

interface Patch {
  file: string;
  find: string;
  replace: string;
}

/** What each variant removes from the request path, and how. */
const VARIANTS: Record<string, { what: string; patches: Patch[] }> = {
  baseline: { what: "the committed code", patches: [] },
  "no-limits-do": {
    what: "no limits Durable Object (reserve before relaying, settle after)",
    patches: [
      {
        file: "src/pipeline/deps.ts",
        find: "admitter: grantAdmitter({ env, waitUntil }),",
        replace:
          'admitter: { admit: async (r) => ({ headers: {}, price: { model: r.model, inputMicroUsdPerMtok: 0, outputMicroUsdPerMtok: 0, cachedInputMicroUsdPerMtok: 0 }, settle: async () => {}, release() {} }) },',
      },
    ],
  },
  "no-signing": {
    what: "no Epistula signing of the miner request",
    patches: [
      {
        file: "src/routing/miner-client.ts",
        find: "const headers = await signRequest({ body, signer, signedFor: miner.hotkey });",
        replace: "const headers: Record<string, string> = {};",
      },
    ],
  },
  "no-usage-queue": {
    what: "no usage batch sent to the queue (so no consumer, R2 archive or D1 write either)",
    patches: [{ file: "src/billing/usage-sink.ts", find: "await env.USAGE_QUEUE.send(batchMessage(batch), { contentType: \"v8\" });", replace: "void batchMessage;" }],
  },
};

const { values } = parseArgs({ options: { "variant-run": { type: "string" }, seconds: { type: "string", default: "4" }, rounds: { type: "string", default: "2" } } });

interface VariantResult {
  variant: string;
  what: string;
  applicable: boolean;
  c1: { addedP50Ms: number; gatewayP50Ms: number; directP50Ms: number; workerCpuUsPerRequest: number; rps: number } | null;
  c16: { addedP50Ms: number; gatewayP50Ms: number; directP50Ms: number; workerCpuUsPerRequest: number; rps: number } | null;
}

/** Inside a patched snapshot: measure and print one JSON line. */
async function measureHere(variant: string): Promise<void> {
  process.once("exit", privateDevRegistry());
  const up = await startUpstream("upstream-fast", { hotkeyUri: "//Bob", model: "bench/fast", ttftMs: 5, tokensPerSec: 2000 });
  try {
    const gateway = await startGateway([up]);
    try {
      const base = gateway.innerUrl ?? gateway.url;
      const direct = requestTarget("direct", up, "", "", "");
      const gw = requestTarget("gateway", up, base, gateway.devKey, "");
      const body = JSON.stringify({ model: up.model, messages: [{ role: "user", content: "Say something short about rivers." }], max_tokens: 16 });
      // Non-streamed chat on one key only: every workload here is a load phase.
      const paths: PathDef[] = [
        { id: "direct", label: "direct", request: () => ({ ...direct, body }), roles: {}, settleMs: 300 },
        { id: "gateway", label: "gateway", request: () => ({ ...gw, body }), roles: { worker: gateway.pids.worker }, settleMs: 1600 },
      ];
      const load = (id: string, connections: number): Workload => ({ kind: "load", id, connections, endpoint: "chat", keys: "one" });
      await runPhases(paths, { rounds: 1, phaseSec: 2, workloads: [load("warm", 16)], log: () => {} });
      const workloads: Workload[] = [load("c1", 1), load("c16", 16)];
      const r = await runPhases(paths, { rounds: Number(values.rounds), phaseSec: Number(values.seconds), workloads, log: (l) => process.stderr.write(`[${variant}] ${l}\n`) });
      const fig = (id: string) => {
        const d = r[id]?.direct;
        const g = r[id]?.gateway;
        if (!d || !g) return null;
        const dp = summarise(d.latenciesMs).p50;
        const gp = summarise(g.latenciesMs).p50;
        return { addedP50Ms: gp - dp, gatewayP50Ms: gp, directP50Ms: dp, workerCpuUsPerRequest: g.ok > 0 ? (g.cpuUs.worker ?? 0) / g.ok : Number.NaN, rps: g.seconds > 0 ? g.ok / g.seconds : 0 };
      };
      process.stdout.write(`RESULT ${JSON.stringify({ c1: fig("c1"), c16: fig("c16") })}\n`);
    } finally {
      await gateway.stack.stop();
    }
  } finally {
    await up.process.stop();
  }
}

async function runVariant(name: string): Promise<VariantResult> {
  const v = VARIANTS[name];
  if (!v) throw new Error(`unknown variant ${name}`);
  const dir = mkdtempSync(join(tmpdir(), `bench-ablate-${name}-`));
  try {
    execFileSync("sh", ["-c", `git archive --format=tar HEAD | tar -x -C '${dir}'`], { cwd: ROOT });
    symlinkSync(join(ROOT, "node_modules"), join(dir, "node_modules"));
    for (const p of v.patches) {
      const file = join(dir, p.file);
      const text = readFileSync(file, "utf8");
      if (!text.includes(p.find)) return { variant: name, what: v.what, applicable: false, c1: null, c16: null };
      writeFileSync(file, text.replace(p.find, p.replace));
    }
    const child = spawn(process.execPath, ["--import", "tsx", join(dir, "bench/ablate.ts"), "--variant-run", name, "--seconds", values.seconds, "--rounds", values.rounds], {
      cwd: dir,
      stdio: ["ignore", "pipe", "inherit"],
    });
    let out = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    const code = await new Promise<number | null>((r) => child.once("exit", (c) => r(c)));
    const line = out.split("\n").find((l) => l.startsWith("RESULT "));
    if (code !== 0 || !line) throw new Error(`variant ${name} failed (exit ${code}):\n${out}`);
    const parsed = JSON.parse(line.slice("RESULT ".length)) as Pick<VariantResult, "c1" | "c16">;
    return { variant: name, what: v.what, applicable: true, ...parsed };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

if (values["variant-run"]) {
  await measureHere(values["variant-run"]);
} else {
  const commit = execFileSync("git", ["rev-parse", "--short", "HEAD"], { cwd: ROOT }).toString().trim();
  const results: VariantResult[] = [];
  for (const name of Object.keys(VARIANTS)) results.push(await runVariant(name));
  mkdirSync(join(ROOT, "bench/results"), { recursive: true });
  writeFileSync(join(ROOT, "bench/results/ablation.json"), `${JSON.stringify({ commit, date: new Date().toISOString(), results }, null, 2)}\n`);
  const f = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? "n/a" : n.toFixed(2));
  console.log(`ablation of ${commit} (added p50 ms over direct / Worker CPU µs per request / req/s)`);
  for (const r of results) {
    if (!r.applicable) console.log(`  ${r.variant.padEnd(16)} not applicable: the code it patches changed`);
    else console.log(`  ${r.variant.padEnd(16)} c1: +${f(r.c1?.addedP50Ms)} ms, ${f(r.c1?.workerCpuUsPerRequest)} µs, ${f(r.c1?.rps)} req/s | c16: +${f(r.c16?.addedP50Ms)} ms, ${f(r.c16?.workerCpuUsPerRequest)} µs, ${f(r.c16?.rps)} req/s  (${r.what})`);
  }
}
