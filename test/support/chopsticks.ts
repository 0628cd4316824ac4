// Runs the real Subtensor runtime (wasm, from a raw chain spec) under chopsticks on a free loopback
// port, for tests and `npm run chain:local`. The chain data is not part of the repo: it is read from
// SUBTENSOR_SPEC / CHOPSTICKS_CONFIG or from ../shared/chain/ beside the repository.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
export const DEFAULT_SPEC_PATH = resolve(REPO_ROOT, "../shared/chain/subtensor-raonet-spec218.json");
const DEFAULT_CONFIG_PATH = resolve(REPO_ROOT, "../shared/chain/chopsticks.yml");

// Same content as ../shared/chain/chopsticks.yml, used when that file is absent (a checkout elsewhere):
// loopback, a block per extrinsic, real signature checks, //Alice sudo and funded, //Bob funded.
const FALLBACK_CONFIG = {
  host: "127.0.0.1",
  "build-block-mode": "Instant",
  "mock-signature-host": false,
  "import-storage": {
    Sudo: { Key: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY" },
    System: {
      Account: [
        [["5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"], { providers: 1, data: { free: "1000000000000000" } }],
        [["5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty"], { providers: 1, data: { free: "1000000000000000" } }],
      ],
    },
  },
};

export type Chopsticks = {
  wsUrl: string;
  httpUrl: string;
  port: number;
  /** Last lines chopsticks printed (for failure messages). */
  output(): string;
  stop(): Promise<void>;
};

export type StartChopsticksOptions = {
  /** Raw chain spec; default SUBTENSOR_SPEC or ../shared/chain/subtensor-raonet-spec218.json. */
  specPath?: string;
  /** Fixed port; default a free one. */
  port?: number;
  /** Readiness deadline (default 60 s). */
  readyTimeoutMs?: number;
  /** Echo chopsticks' output to this process's stderr. */
  echo?: boolean;
};

/** Spec path from SUBTENSOR_SPEC or the shared default (not checked for existence). */
export function specPathFromEnv(): string {
  return process.env.SUBTENSOR_SPEC ? resolve(process.env.SUBTENSOR_SPEC) : DEFAULT_SPEC_PATH;
}

export async function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, host, () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolvePort(port));
    });
  });
}

function chopsticksBin(): string {
  // The package's exports map hides package.json, so walk up from its entry point to the bin.
  let dir = dirname(createRequire(import.meta.url).resolve("@acala-network/chopsticks"));
  while (!existsSync(join(dir, "chopsticks.cjs"))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error("cannot find @acala-network/chopsticks/chopsticks.cjs");
    dir = parent;
  }
  return join(dir, "chopsticks.cjs");
}

async function rpcReady(httpUrl: string): Promise<boolean> {
  try {
    const res = await fetch(httpUrl, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "chain_getHeader", params: [] }),
      signal: AbortSignal.timeout(2_000),
    });
    if (!res.ok) return false;
    const body: unknown = await res.json();
    return typeof body === "object" && body !== null && "result" in body;
  } catch {
    return false;
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    // Negative pid: the whole process group (chopsticks spawns workers of its own).
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

// Chopsticks silently moves to the next port when the requested one is busy, so the port it
// announces is the truth, not the one we asked for.
const LISTENING_RE = /RPC listening on http:\/\/[^\s:]+:(\d+)/;

/**
 * Starts chopsticks (on `opts.port`, or a free port) and resolves once it announced its port and
 * its RPC answers there; rejects with its last output if it exits or misses the deadline.
 */
export async function startChopsticks(opts: StartChopsticksOptions = {}): Promise<Chopsticks> {
  const specPath = opts.specPath ?? specPathFromEnv();
  if (!existsSync(specPath)) throw new Error(`chain spec not found: ${specPath} (set SUBTENSOR_SPEC)`);
  const requestedPort = opts.port ?? (await freePort());
  const tmp = mkdtempSync(join(tmpdir(), "chopsticks-"));
  let configPath = process.env.CHOPSTICKS_CONFIG ? resolve(process.env.CHOPSTICKS_CONFIG) : DEFAULT_CONFIG_PATH;
  if (!existsSync(configPath)) {
    configPath = join(tmp, "chopsticks.json"); // chopsticks reads configs with a YAML parser: JSON is fine
    writeFileSync(configPath, JSON.stringify(FALLBACK_CONFIG));
  }

  // --port overrides the config's port; detached gives chopsticks its own process group to kill.
  // LOG_LEVEL info is required: the "RPC listening" line is logged at info.
  const args = [chopsticksBin(), "-c", configPath, "--genesis", specPath, "--port", String(requestedPort)];
  const child = spawn(process.execPath, args, {
    cwd: tmp,
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, LOG_LEVEL: "info" },
  });
  const lines: string[] = [];
  let announcedPort: number | undefined;
  const collect = (chunk: Buffer): void => {
    const text = chunk.toString("utf8");
    if (opts.echo) process.stderr.write(text);
    const match = announcedPort === undefined ? LISTENING_RE.exec(text) : null;
    if (match) announcedPort = Number(match[1]);
    lines.push(...text.split("\n"));
    if (lines.length > 400) lines.splice(0, lines.length - 400);
  };
  // Pipes must be drained continuously or chopsticks blocks once the pipe buffer fills.
  child.stdout?.on("data", collect);
  child.stderr?.on("data", collect);
  const onExit = (): void => killGroup(child, "SIGKILL");
  process.once("exit", onExit);

  let hasExited = false;
  const exited = new Promise<void>((resolveExit) =>
    child.once("exit", () => {
      hasExited = true;
      resolveExit();
    }),
  );
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    process.removeListener("exit", onExit);
    killGroup(child, "SIGTERM");
    const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5_000);
    await exited;
    clearTimeout(timer);
    rmSync(tmp, { recursive: true, force: true });
  };
  const output = (): string => lines.slice(-60).join("\n");

  const deadline = Date.now() + (opts.readyTimeoutMs ?? 60_000);
  for (;;) {
    if (announcedPort !== undefined && (await rpcReady(`http://127.0.0.1:${announcedPort}`))) break;
    if (hasExited || Date.now() > deadline) {
      const why = hasExited ? "it exited" : `not ready after ${opts.readyTimeoutMs ?? 60_000} ms`;
      await stop();
      throw new Error(`chopsticks (requested port ${requestedPort}) did not start: ${why}:\n${output()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const port = announcedPort;
  // Build one block before anyone signs: extrinsics sent while the chain is still at its genesis
  // block have been refused with `1010 badProof` (the signed payload's block hashes are not
  // settled yet); after a first block they pass.
  await fetch(`http://127.0.0.1:${port}`, {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "dev_newBlock", params: [{ count: 1 }] }),
  });
  return { wsUrl: `ws://127.0.0.1:${port}`, httpUrl: `http://127.0.0.1:${port}`, port, output, stop };
}
