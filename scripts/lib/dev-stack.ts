/**
 * The local dev stack, used by `npm run dev`, the end-to-end tests and the benchmark:
 * reference miners (separate processes), D1 migrated, the gateway under `wrangler dev`
 * (workerd, with the local Queue and D1), then seeded through the admin API with the miners
 * and a dev subscriber whose key is GATEWAY_DEV_KEY.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { keypairFromUri } from "../../src/protocol/keys";
import { freePort, startProcess, waitForHttp, waitForPort, type Managed } from "./processes";

export const ROOT = resolve(import.meta.dirname, "../..");

/** Configuration names the gateway reads; `npm run dev` forwards any of them set in the environment. */
export const GATEWAY_VARS = [
  "ENVIRONMENT",
  "ADMIN_TOKEN",
  "GATEWAY_HOTKEY_MNEMONIC",
  "MAX_BODY_BYTES",
  "MINER_TIMEOUT_MS",
  "FIRST_BYTE_TIMEOUT_MS",
  "STREAM_IDLE_TIMEOUT_MS",
  "ROUTING_DEADLINE_MS",
  "MAX_MINER_ATTEMPTS",
  "AUTH_CACHE_TTL_MS",
  "MINER_CACHE_TTL_MS",
  "JWT_HS256_SECRET",
  "JWT_JWKS_URL",
  "JWT_ISSUER",
  "JWT_AUDIENCE",
  "JWT_ALGORITHMS",
  "JWT_AUTO_PROVISION",
  "SUBTENSOR_URL",
  "NETUID",
  "ALLOW_PRIVATE_AXONS",
  "METAGRAPH_SYNC_CRON",
  "DEFAULT_PLAN_ID",
  "LEASE_TTL_MS",
  "STRIPE_WEBHOOK_SECRET",
  "SETTLEMENT_ENABLED",
  "SETTLEMENT_CRON",
  "SETTLEMENT_EPOCH_BLOCKS",
  "SETTLEMENT_LAG_MS",
  "SETTLEMENT_INCLUSION_TIMEOUT_MS",
  "WEIGHTS_VERSION_KEY",
  "PAYOUT_ENABLED",
  "PAYOUT_SHARE_BPS",
  "PAYOUT_RAO_PER_USD",
  "PAYOUT_MIN_RAO",
  "PAYOUT_MAX_RAO_PER_EPOCH",
  "PAYOUT_TREASURY_MNEMONIC",
] as const;

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
  vars?: Partial<Record<(typeof GATEWAY_VARS)[number], string>>;
  devKey?: string;
  echo?: boolean;
}

export interface DevStack {
  url: string;
  adminToken: string;
  devKey: string;
  miners: { hotkey: string; url: string; process: Managed }[];
  gateway: Managed;
  persistTo: string;
  stop(): Promise<void>;
}

export const DEFAULT_MINERS: MinerSpec[] = [
  { hotkeyUri: "//Bob" },
  { hotkeyUri: "//Charlie" },
  { hotkeyUri: "//Dave" },
];

const WRANGLER_ENV = { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1" };

/**
 * `--var` reaches only the first Worker of a multi-config `wrangler dev`, so the chain Worker gets
 * a copy of wrangler.chain.toml with the stack's variables as its [vars] (the last table there).
 */
function chainWorkerConfig(dir: string, vars: Record<string, string>): string {
  const base = readFileSync(join(ROOT, "wrangler.chain.toml"), "utf8");
  const head = base.slice(0, base.search(/^\[vars\]\s*$/m));
  const lines = Object.entries(vars).map(([k, v]) => `${k} = ${JSON.stringify(v)}`);
  const file = join(dir, "wrangler.chain.dev.toml");
  writeFileSync(
    file,
    head
      .replace(/^main = "(.*)"$/m, (_, m: string) => `main = ${JSON.stringify(join(ROOT, m))}`)
      .replace(/^migrations_dir = "(.*)"$/m, (_, m: string) => `migrations_dir = ${JSON.stringify(join(ROOT, m))}`) + `[vars]\n${lines.join("\n")}\n`,
  );
  return file;
}

export async function startDevStack(opts: DevStackOptions = {}): Promise<DevStack> {
  const port = opts.port ?? (await freePort());
  const persistTo = opts.persistTo ?? mkdtempSync(join(tmpdir(), "gateway-dev-"));
  const vars: Record<string, string> = {
    ENVIRONMENT: "development",
    ADMIN_TOKEN: "dev-admin-token",
    GATEWAY_HOTKEY_MNEMONIC: "//Alice",
    ALLOW_PRIVATE_AXONS: "true",
    // sub_dev and anything created in dev get generous limits; put a subscriber on 'free' to try the real ones.
    DEFAULT_PLAN_ID: "unlimited",
    ...Object.fromEntries(Object.entries(opts.vars ?? {}).filter((e): e is [string, string] => e[1] !== undefined)),
  };
  const devKey = opts.devKey ?? "sk-dev-local";
  const env = { ...process.env, ...WRANGLER_ENV };
  const stopAll: (() => Promise<void>)[] = [];
  const stop = async () => {
    await Promise.all(stopAll.splice(0).map((s) => s()));
    // A stack that made its own state directory leaves nothing behind.
    if (!opts.persistTo) rmSync(persistTo, { recursive: true, force: true });
  };

  try {
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
    const migrate = startProcess("d1", process.execPath, [wrangler, "d1", "migrations", "apply", "DB", "--local", "--persist-to", persistTo], {
      cwd: ROOT,
      env: { ...env, CI: "true" },
    });
    const migrated = await new Promise<number | null>((r) => migrate.child.once("exit", (code) => r(code)));
    if (migrated !== 0) throw new Error(`D1 migrations failed:\n${migrate.output()}`);

    const varArgs = Object.entries(vars).flatMap(([k, v]) => ["--var", `${k}:${v}`]);
    const chainConfig = chainWorkerConfig(persistTo, vars);
    const inspectorPort = await freePort();
    const gateway = startProcess(
      "gateway",
      process.execPath,
      [
        wrangler, "dev", "-c", join(ROOT, "wrangler.toml"), "-c", chainConfig, "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(inspectorPort),
        "--persist-to", persistTo, "--show-interactive-dev-session=false", "--test-scheduled", "--log-level", "warn", ...varArgs,
      ],
      { cwd: ROOT, env, echo: opts.echo },
    );
    stopAll.push(() => gateway.stop());
    const url = `http://127.0.0.1:${port}`;
    await waitForHttp(`${url}/health`, 90_000, gateway);

    const admin = async (method: string, path: string, body: unknown) => {
      const res = await fetch(`${url}${path}`, {
        method,
        headers: { authorization: `Bearer ${vars.ADMIN_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify(body),
      });
      if (!res.ok) throw new Error(`seeding ${method} ${path} failed: ${res.status} ${await res.text()}`);
    };
    await admin("PUT", "/admin/miners", {
      miners: miners.map((m, i) => ({ hotkey: m.hotkey, uid: i + 1, axon_url: m.url, models: m.models ?? ["demo/tiny-chat", "demo/tiny-embed"] })),
    });
    await admin("POST", "/admin/subscribers", { id: "sub_dev", name: "Local developer" });
    await admin("POST", "/admin/subscribers/sub_dev/keys", { key: devKey, name: "dev" });

    return {
      url,
      adminToken: vars.ADMIN_TOKEN as string,
      devKey,
      miners: spawned.map(({ hotkey, url: u, process: p }) => ({ hotkey, url: u, process: p })),
      gateway,
      persistTo,
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
