/**
 * The three ways the same request reaches the same upstream:
 *   direct   the fixed upstream itself (the floor),
 *   gateway  this gateway under `wrangler dev` (workerd) with auth, routing and metering on,
 *   portkey  Portkey's open-source gateway on Node, forwarding to the upstream as a custom host.
 * Plus the processes whose CPU and memory each path costs, found in /proc.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startDevStack, ROOT, type DevStack } from "../../scripts/lib/dev-stack";
import { freePort, startProcess, waitForHttp, waitForPort, type Managed } from "../../scripts/lib/processes";
import { commandLine, descendants, listeningLoopbackPorts } from "./procfs";

export type PathName = "direct" | "gateway" | "portkey";

/**
 * Gives every `wrangler dev` this process starts a dev registry of its own. wrangler's registry
 * (~/.config/.wrangler/registry) is shared by every dev session on the machine and keyed by Worker
 * name, and a running `wrangler dev` reloads its Worker (new workerd, new ports, requests in flight
 * cut) whenever the registry changes: another engineer's dev stack or test suite starting
 * `bittensor-gateway` restarted the benchmark's gateway mid-phase. Returns the cleanup.
 */
export function privateDevRegistry(): () => void {
  const dir = mkdtempSync(join(tmpdir(), "bench-wrangler-registry-"));
  process.env.WRANGLER_REGISTRY_PATH = dir;
  return () => rmSync(dir, { recursive: true, force: true });
}

export interface Upstream {
  url: string;
  hotkey: string;
  model: string;
  process: Managed;
}

export interface UpstreamSpec {
  hotkeyUri: string;
  model: string;
  ttftMs: number;
  tokensPerSec: number;
}

/** Starts one fixed-behaviour upstream process (bench/upstream-main.ts). */
export async function startUpstream(name: string, spec: UpstreamSpec): Promise<Upstream> {
  const args = [
    "--import", "tsx", "bench/upstream-main.ts",
    "--hotkey", spec.hotkeyUri, "--models", spec.model,
    "--ttft-ms", String(spec.ttftMs), "--tokens-per-sec", String(spec.tokensPerSec),
  ];
  const proc = startProcess(name, process.execPath, args, { cwd: ROOT, env: process.env });
  const until = Date.now() + 30_000;
  while (Date.now() < until) {
    if (proc.child.exitCode !== null) throw new Error(`${name} exited:\n${proc.output()}`);
    const line = proc.output().split("\n").find((l) => l.startsWith("{"));
    if (line) {
      const { url, hotkey } = JSON.parse(line) as { url: string; hotkey: string };
      return { url, hotkey, model: spec.model, process: proc };
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  await proc.stop();
  throw new Error(`${name} did not start:\n${proc.output()}`);
}

export interface GatewayProcesses {
  /** The workerd running the Worker itself: what production bills as CPU. */
  worker: number;
  /** wrangler dev's local proxy workerd, a hop production does not have. */
  proxy: number | null;
  /** wrangler's Node process (bundler, dev server, local service bindings). */
  wrangler: number;
}

export interface Gateway {
  stack: DevStack;
  /** Through wrangler dev's proxy, as `npm run dev` serves it. */
  url: string;
  /** The Worker's own workerd socket (miniflare's entry), skipping the dev proxy. */
  innerUrl: string | null;
  devKey: string;
  pids: GatewayProcesses;
}

/** `usageDeliveryWindowS`: the usage consumer's window (scripts/lib/usage-window.ts); default the dev stack's. */
export async function startGateway(upstreams: readonly Upstream[], opts: { usageDeliveryWindowS?: number } = {}): Promise<Gateway> {
  const stack = await startDevStack({
    ...(opts.usageDeliveryWindowS === undefined ? {} : { usageDeliveryWindowS: opts.usageDeliveryWindowS }),
    externalMiners: upstreams.map((u) => ({ hotkey: u.hotkey, url: u.url, models: [u.model] })),
    vars: {
      // Generous caches are what production runs with; the benchmark measures the steady state.
      AUTH_CACHE_TTL_MS: "10000",
      MINER_CACHE_TTL_MS: "5000",
    },
  });
  try {
    const pids = wranglerProcesses(stack.gateway.child.pid as number, new URL(stack.url).port);
    return { stack, url: stack.url, innerUrl: await findInnerUrl(pids.worker), devKey: stack.devKey, pids };
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

/** The processes under `wrangler dev` (pid `root`, public port `port`): the Worker's workerd, the proxy's, wrangler's Node. */
function wranglerProcesses(root: number, port: string): GatewayProcesses {
  const all = descendants(root);
  const workerds = all.filter((pid) => (commandLine(pid)[0] ?? "").endsWith("/workerd"));
  const node = all.find((pid) => commandLine(pid).some((a) => a.includes("wrangler-dist/cli.js"))) ?? root;
  // The proxy workerd owns the public port (`--socket-addr=entry=127.0.0.1:<port>`).
  const isProxy = (pid: number) => commandLine(pid).some((a) => a === `--socket-addr=entry=127.0.0.1:${port}`);
  const proxy = workerds.find(isProxy) ?? null;
  const worker = workerds.find((pid) => !isProxy(pid));
  if (worker === undefined) throw new Error(`no workerd found under wrangler (pid ${root})`);
  return { worker, proxy, wrangler: node };
}

export interface Forwarder {
  /** The forwarding Worker's own workerd socket (skipping wrangler's proxy, like `gateway-workerd`). */
  url: string;
  process: Managed;
  pids: GatewayProcesses;
}

/**
 * The forwarding-only Worker (bench/forwarder/) under `wrangler dev`: the same runtime and
 * miniflare as the gateway, doing nothing but forwarding to the upstream in `x-upstream`.
 */
export async function startForwarder(): Promise<Forwarder> {
  const wrangler = join(ROOT, "node_modules/wrangler/bin/wrangler.js");
  const port = await freePort();
  const env = { ...process.env, WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", NO_COLOR: "1", CI: "true" };
  const proc = startProcess(
    "forwarder",
    process.execPath,
    [wrangler, "dev", "-c", join(ROOT, "bench/forwarder/wrangler.toml"), "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()), "--log-level", "warn", "--show-interactive-dev-session=false"],
    { cwd: ROOT, env },
  );
  try {
    await waitForHttp(`http://127.0.0.1:${port}/health`, 90_000, proc);
    const pids = wranglerProcesses(proc.child.pid as number, String(port));
    const url = await findInnerUrl(pids.worker);
    if (!url) throw new Error("the forwarding Worker's own workerd socket was not found");
    return { url, process: proc, pids };
  } catch (err) {
    await proc.stop();
    throw err;
  }
}

/** Which of the Worker's workerd sockets serves the app: the one where /health answers 200 JSON. */
async function findInnerUrl(pid: number): Promise<string | null> {
  for (const port of listeningLoopbackPorts(pid)) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/health`, { signal: AbortSignal.timeout(2000) });
      const type = res.headers.get("content-type") ?? "";
      await res.arrayBuffer();
      if (res.status === 200 && type.includes("json")) return `http://127.0.0.1:${port}`;
    } catch {
      /* inspector or debug socket */
    }
  }
  return null;
}

export interface Peer {
  url: string;
  process: Managed;
  pid: number;
}

/** Portkey's gateway (npm @portkey-ai/gateway) on Node, headless, loopback only. */
export async function startPortkey(): Promise<Peer> {
  const port = await freePort();
  const script = join(ROOT, "node_modules/@portkey-ai/gateway/build/start-server.js");
  const proc = startProcess(
    "portkey",
    process.execPath,
    ["--import", join(ROOT, "bench/peer/loopback-only.mjs"), script, `--port=${port}`, "--headless"],
    { cwd: ROOT, env: { ...process.env, NODE_ENV: "production" } },
  );
  await waitForPort("127.0.0.1", port, 30_000, proc);
  const url = `http://127.0.0.1:${port}`;
  await waitForHttp(`${url}/`, 30_000, proc).catch(() => undefined); // any answer means it routes
  return { url, process: proc, pid: proc.child.pid as number };
}

/** The gateway's path for each API (direct and Portkey always take chat: the upstream speaks chat only). */
const GATEWAY_PATHS = { chat: "/v1/chat/completions", messages: "/v1/messages", responses: "/v1/responses" } as const;

/**
 * How a client addresses the upstream through each path. `devKey` null: no authorization header
 * (the many-keys workload supplies one per request).
 */
export function requestTarget(path: PathName, upstream: Upstream, gatewayUrl: string, devKey: string | null, portkeyUrl: string, endpoint: keyof typeof GATEWAY_PATHS = "chat") {
  const json = { "content-type": "application/json" };
  switch (path) {
    case "direct":
      return { url: `${upstream.url}/v1/chat/completions`, headers: json };
    case "gateway":
      return { url: `${gatewayUrl}${GATEWAY_PATHS[endpoint]}`, headers: devKey === null ? json : { ...json, authorization: `Bearer ${devKey}` } };
    case "portkey":
      return {
        url: `${portkeyUrl}/v1/chat/completions`,
        headers: {
          ...json,
          authorization: "Bearer sk-bench-unused",
          "x-portkey-provider": "openai",
          "x-portkey-custom-host": `${upstream.url}/v1`,
        },
      };
  }
}
