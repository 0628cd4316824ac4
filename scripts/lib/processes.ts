/**
 * Child processes for the dev stack and tests: each in its own process group so stopping it also
 * stops what it started (wrangler starts workerd), and all of them stopped when this process exits.
 */
import { spawn, type ChildProcess, type SpawnOptions } from "node:child_process";
import { createServer, connect } from "node:net";

const running = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

process.once("exit", () => {
  for (const child of running) killGroup(child, "SIGKILL");
});

export interface Managed {
  child: ChildProcess;
  /** Everything the process printed so far (for error messages). */
  output(): string;
  stop(): Promise<void>;
}

export function startProcess(name: string, command: string, args: string[], options: SpawnOptions & { echo?: boolean } = {}): Managed {
  const child = spawn(command, args, { ...options, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  running.add(child);
  let log = "";
  const onData = (chunk: Buffer) => {
    const text = chunk.toString();
    log = (log + text).slice(-20_000);
    if (options.echo) for (const line of text.split("\n")) if (line.trim()) process.stdout.write(`[${name}] ${line}\n`);
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.once("exit", () => running.delete(child));
  return {
    child,
    output: () => log,
    async stop() {
      killGroup(child, "SIGTERM");
      const timer = setTimeout(() => killGroup(child, "SIGKILL"), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(host = "127.0.0.1"): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once("error", reject);
    srv.listen(0, host, () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export async function waitForPort(host: string, port: number, timeoutMs: number, proc?: Managed): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (proc && proc.child.exitCode !== null) throw new Error(`process exited early:\n${proc.output()}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = connect(port, host);
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listened on ${host}:${port} within ${timeoutMs} ms${proc ? `:\n${proc.output()}` : ""}`);
}

/** Polls `url` until `ready` accepts an answer (default: any 2xx). */
export async function waitForHttp(url: string, timeoutMs: number, proc?: Managed, ready: (res: Response) => boolean = (res) => res.ok): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last = "";
  while (Date.now() < until) {
    if (proc && proc.child.exitCode !== null) throw new Error(`process exited early:\n${proc.output()}`);
    try {
      const res = await fetch(url);
      if (ready(res)) return;
      last = `status ${res.status}: ${await res.text()}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${url} not ready within ${timeoutMs} ms (${last})${proc ? `:\n${proc.output()}` : ""}`);
}
