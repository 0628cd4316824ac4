/**
 * The local dev stack, used by `npm run dev`, the end-to-end tests and the benchmark:
 * reference miners (separate processes), D1 migrated, the gateway, the chain Worker and the web
 * Worker under one `wrangler dev` (workerd, with the local Queue and D1; the gateway is the one on
 * the port and forwards the web app's paths to the web Worker, as in production), seeded through the admin API with a dev
 * subscriber whose key is GATEWAY_DEV_KEY and then the miners. With SUBTENSOR_URL and NETUID set,
 * it runs one metagraph sync and then the chain Worker's cron triggers on their schedule.
 * It resolves when /health says the gateway is usable (docs/configuration.md, "The dev stack").
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { keypairFromUri } from "../../src/protocol/keys";
import { isVariable } from "../../src/config/variables";
import { buildWebAssets } from "../build-web-assets";
import { writeDevConfig, type DevVars } from "./dev-config";
import { localUsageDeliveryWindow, productionUsageDeliveryWindow } from "./usage-window";
import { cronTriggers, startChainSchedule, type ChainSchedule, type ScheduledRun } from "./dev-schedule";
import { freePort, startProcess, waitForHttp, waitForPort, type Managed } from "./processes";

export const ROOT = resolve(import.meta.dirname, "../..");
export { varsFromEnvironment, type DevVars } from "./dev-config";

export interface MinerSpec {
  hotkeyUri: string;
  models?: string[];
  /** Extra CLI flags for the reference miner (misbehaviour knobs, upstream, ...). */
  args?: string[];
}

/** A miner that is already running (e.g. the benchmark's fixed upstream): registered, not spawned. */
export interface ExternalMiner {
  /** SS58 hotkey the gateway signs for. */
  hotkey: string;
  url: string;
  models?: string[];
}

export interface DevStackOptions {
  port?: number;
  miners?: MinerSpec[];
  /** When given, these are registered instead of spawning reference miners (`miners` is ignored). */
  externalMiners?: ExternalMiner[];
  /** Where local D1/Queue state lives; a fresh temp dir when omitted. */
  persistTo?: string;
  /** Variables of any of the Workers (src/config/variables.ts); secrets are passed out of sight. */
  vars?: DevVars;
  devKey?: string;
  echo?: boolean;
  /**
   * The chain Worker's cron triggers (only with SUBTENSOR_URL and NETUID): run on their own schedule
   * by default, every `intervalMs` when given, or not at all with `false` (a test that drives
   * settlement by hand). The one sync at start runs either way.
   */
  chainSchedule?: { intervalMs?: number } | false;
  /**
   * The usage queue's delivery window in seconds (`max_batch_timeout`): 1 s locally unless
   * USAGE_DELIVERY_WINDOW_S says otherwise (seconds, or `production` for wrangler.toml's 10 s);
   * scripts/lib/usage-window.ts.
   */
  usageDeliveryWindowS?: number;
}

export interface DevStack {
  url: string;
  adminToken: string;
  devKey: string;
  miners: { hotkey: string; url: string; process: Managed }[];
  gateway: Managed;
  persistTo: string;
  /** Private directory (0700) with the files that hold the stack's variables and wrangler's logs. */
  configDir: string;
  /** Runs of the chain Worker's triggers so far (newest last). */
  chainRuns: ScheduledRun[];
  stop(): Promise<void>;
}

export const DEFAULT_MINERS: MinerSpec[] = [
  { hotkeyUri: "//Bob" },
  { hotkeyUri: "//Charlie" },
  { hotkeyUri: "//Dave" },
];

const WRANGLER_ENV = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" };

function withoutWorkerVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !isVariable(name)));
}

export async function startDevStack(opts: DevStackOptions = {}): Promise<DevStack> {
  const port = opts.port ?? (await freePort());
  const persistTo = opts.persistTo ?? mkdtempSync(join(tmpdir(), "gateway-dev-"));
  const vars: DevVars = {
    ENVIRONMENT: "development",
    ADMIN_TOKEN: "dev-admin-token",
    GATEWAY_HOTKEY_MNEMONIC: "//Alice",
    ALLOW_PRIVATE_AXONS: "true",
    // sub_dev and anything created in dev get generous limits; put a subscriber on 'free' to try the real ones.
    DEFAULT_PLAN_ID: "unlimited",
    // The web app at /app with the local dev sign-in (development only); never a production secret.
    SESSION_SECRET: "dev-only-session-secret-0123456789abcdef",
    // An option given as undefined keeps the default.
    ...Object.fromEntries(Object.entries(opts.vars ?? {}).filter(([, v]) => v !== undefined)),
  };
  const devKey = opts.devKey ?? "sk-dev-local";
  // Children get no copy of the Workers' variables from this process's environment: they reach
  // wrangler only through the private files.
  const env = { ...withoutWorkerVariables(process.env), ...WRANGLER_ENV };
  const stopAll: (() => Promise<void>)[] = [];
  const cleanups: (() => void)[] = [];
  const stop = async () => {
    await Promise.allSettled(stopAll.splice(0).map((s) => s()));
    for (const c of cleanups.splice(0)) c();
    // A stack that made its own state directory leaves nothing behind.
    if (!opts.persistTo) rmSync(persistTo, { recursive: true, force: true });
  };

  try {
    buildWebAssets();
    const spawned = await Promise.all(
      (opts.externalMiners ? [] : (opts.miners ?? DEFAULT_MINERS)).map(async (spec, i) => {
        const minerPort = await freePort();
        const hotkey = keypairFromUri(spec.hotkeyUri).ss58;
        const args = ["--import", "tsx", "miner/main.ts", "--host", "127.0.0.1", "--port", String(minerPort), "--hotkey", spec.hotkeyUri];
        if (spec.models) args.push("--models", spec.models.join(","));
        args.push(...(spec.args ?? []));
        const proc = startProcess(`miner${i + 1}`, process.execPath, args, { cwd: ROOT, env, echo: opts.echo });
        stopAll.push(() => proc.stop());
        await waitForPort("127.0.0.1", minerPort, 30_000, proc);
        return { hotkey, url: `http://127.0.0.1:${minerPort}`, process: proc, models: spec.models };
      }),
    );
    const miners: { hotkey: string; url: string; models?: string[] }[] = opts.externalMiners ?? spawned;

    const wrangler = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
    const d1 = async (what: string, args: string[]) => {
      const run = startProcess("d1", process.execPath, [wrangler, "d1", ...args, "DB", "--local", "--persist-to", persistTo], { cwd: ROOT, env: { ...env, CI: "true" } });
      const code = await new Promise<number | null>((r) => run.child.once("exit", (c) => r(c)));
      if (code !== 0) throw new Error(`${what} failed:\n${run.output()}`);
    };
    await d1("D1 migrations", ["migrations", "apply"]);
    // A persisted D1 remembers the last run's miners, whose ports are gone (or a local chain since
    // restarted): deactivated, /health says "starting" until this run has registered its miners (or
    // its first sync found them) and the dev key, so ready still means usable (issue #15).
    if (opts.persistTo) await d1("Deactivating the last run's miners", ["execute", "--command", "UPDATE miners SET active = 0"]);

    // Every variable goes through private files, none on the command line (docs/configuration.md, "Secrets").
    const usageDeliveryWindowS = opts.usageDeliveryWindowS ?? localUsageDeliveryWindow(ROOT);
    if (opts.echo) console.log(`[dev] usage queue delivery window ${usageDeliveryWindowS} s (production ${productionUsageDeliveryWindow(ROOT)} s; USAGE_DELIVERY_WINDOW_S)`);
    const files = writeDevConfig(ROOT, vars, usageDeliveryWindowS);
    cleanups.push(() => rmSync(files.dir, { recursive: true, force: true }));
    // A dev registry of this stack's own. wrangler's default one (~/.config/.wrangler/registry) is
    // shared by every `wrangler dev` on the machine and keyed by Worker name, and a running session
    // reloads its Workers (new workerd, requests in flight cut) whenever it changes: a second stack
    // (an end-to-end test starting its own beside the suite's, a benchmark, another terminal's
    // `npm run dev`) registering bittensor-gateway restarted this one. Our three Workers run in this
    // one process and bind each other in-process, so nothing needs the shared registry.
    const registry = mkdtempSync(join(tmpdir(), "gateway-dev-registry-"));
    cleanups.push(() => rmSync(registry, { recursive: true, force: true }));
    const inspectorPort = await freePort();
    const gateway = startProcess(
      "gateway",
      process.execPath,
      [
        wrangler, "dev", "-c", files.gatewayConfig, "-c", files.chainConfig, "-c", files.webConfig, "--env-file", files.gatewayEnvFile,
        "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
        "--persist-to", persistTo, "--show-interactive-dev-session=false", "--test-scheduled", "--log-level", "warn",
      ],
      { cwd: ROOT, env: { ...env, WRANGLER_LOG_PATH: files.logDir, WRANGLER_REGISTRY_PATH: registry }, echo: opts.echo },
    );
    stopAll.push(() => gateway.stop());
    const url = `http://127.0.0.1:${port}`;
    // Up means this gateway answers /health at all (it says 503 "starting" until it has miners);
    // its x-request-id tells it from anything else that might hold the port.
    await waitForHttp(`${url}/health`, 90_000, gateway, (res) => /^req_[0-9a-f]{32}$/.test(res.headers.get("x-request-id") ?? ""));

    const admin = async (method: string, path: string, body?: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${vars.ADMIN_TOKEN}`, "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`dev stack: ${method} ${path} failed: ${res.status} ${await res.text()}`);
      return res.json() as Promise<unknown>;
    };
    // The subscriber first, the miners last: once /health sees a miner, the dev key works too.
    await admin("POST", "/admin/subscribers", { id: "sub_dev", name: "Local developer" });
    await admin("POST", "/admin/subscribers/sub_dev/keys", { key: devKey, name: "dev" });
    if (miners.length > 0) {
      await admin("PUT", "/admin/miners", {
        miners: miners.map((m, i) => ({ hotkey: m.hotkey, uid: i + 1, axon_url: m.url, models: m.models ?? ["demo/tiny-chat", "demo/tiny-embed"] })),
      });
    }

    // Chain discovery: one sync now, then the chain Worker's triggers on their schedule.
    const chainRuns: ScheduledRun[] = [];
    if (vars.SUBTENSOR_URL && vars.NETUID) {
      const first = await admin("POST", "/admin/chain/sync");
      if (opts.echo) console.log(`[dev] metagraph sync at start: ${JSON.stringify(first)}`);
      if (opts.chainSchedule !== false) {
        const schedule: ChainSchedule = startChainSchedule({
          gatewayUrl: url,
          adminToken: vars.ADMIN_TOKEN ?? "",
          crons: cronTriggers(ROOT),
          intervalMs: opts.chainSchedule?.intervalMs,
          onRun: (run) => {
            chainRuns.push(run);
            if (chainRuns.length > 100) chainRuns.shift();
            if (opts.echo) console.log(`[dev] chain cron "${run.cron}": ${run.status} ${JSON.stringify(run.body)}`);
          },
        });
        stopAll.unshift(async () => schedule.stop());
      }
    }

    // Ready means usable: /health answers 200 only once the miner directory has an active miner.
    await waitForHttp(`${url}/health`, 60_000, gateway);

    return {
      url,
      adminToken: vars.ADMIN_TOKEN ?? "",
      devKey,
      miners: spawned.map(({ hotkey, url: u, process: p }) => ({ hotkey, url: u, process: p })),
      gateway,
      persistTo,
      configDir: files.dir,
      chainRuns,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
