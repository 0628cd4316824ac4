/**
 * The soak's miners: reference miner processes (the same command the dev stack runs) in slots
 * that the fault schedule can SIGKILL, restart on the same hotkey and port (with or without
 * misbehaviour knobs), move to a new port and re-register, or hand to an impostor (a redirect or
 * junk server on the miner's address). The gateway knows them through PUT /admin/miners.
 */
import { ROOT } from "../../scripts/lib/dev-stack";
import { freePort, startProcess, waitForPort, type Managed } from "../../scripts/lib/processes";
import { keypairFromUri } from "../../src/protocol/keys";
import { registerMiners, type Admin, type MinerRegistration } from "./admin";
import { startImpostor, type ImpostorKind, type Listening } from "./impostors";

export type SlotMode = { kind: "healthy" } | { kind: "down" } | { kind: "knobs"; args: string[] } | { kind: "impostor"; impostor: ImpostorKind };

const PACING = ["--ttft-ms", "20", "--tokens-per-sec", "200"];

export class MinerSlot {
  readonly hotkey: string;
  private proc: Managed | null = null;
  private impostor: Listening | null = null;
  mode: SlotMode = { kind: "down" };
  /** Processes started in this slot so far (restarts included). */
  starts = 0;
  /** Processes of this slot SIGKILLed while running. */
  kills = 0;
  /** Requests the impostors on this slot's address got. */
  impostorRequests = 0;

  constructor(
    readonly name: string,
    readonly hotkeyUri: string,
    readonly uid: number,
    public port: number,
    readonly models: string[],
    /** Flags every process of this slot gets (the gate miner's --upstream). */
    private readonly baseArgs: string[] = PACING,
  ) {
    this.hotkey = keypairFromUri(hotkeyUri).ss58;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  registration(): MinerRegistration {
    return { hotkey: this.hotkey, uid: this.uid, axon_url: this.url, models: this.models };
  }

  pid(): number | null {
    return this.proc?.child.pid ?? null;
  }

  /** Starts a reference miner process on this slot's port (after stopping whatever is there). */
  async start(extraArgs: string[] = []): Promise<void> {
    await this.vacate();
    const args = ["--import", "tsx", "miner/main.ts", "--host", "127.0.0.1", "--port", String(this.port), "--hotkey", this.hotkeyUri];
    args.push("--models", this.models.join(","), ...this.baseArgs, ...extraArgs);
    const proc = startProcess(`${this.name}#${++this.starts}`, process.execPath, args, { cwd: ROOT, env: { ...process.env } });
    this.proc = proc;
    await waitForPort("127.0.0.1", this.port, 30_000, proc);
    this.mode = extraArgs.length === 0 ? { kind: "healthy" } : { kind: "knobs", args: extraArgs };
  }

  /** SIGKILL, as a crash: no shutdown, the kernel resets its connections. */
  async kill(): Promise<void> {
    const proc = this.proc;
    this.proc = null;
    this.mode = { kind: "down" };
    if (!proc || proc.child.exitCode !== null || proc.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => proc.child.once("exit", () => resolve()));
    this.kills++;
    try {
      process.kill(-(proc.child.pid as number), "SIGKILL");
    } catch {
      /* gone already */
    }
    await exited;
  }

  /** Kills the miner and puts an impostor on its address. */
  async impersonate(kind: ImpostorKind, internalUrl: string): Promise<void> {
    await this.vacate();
    this.impostor = await startImpostor(kind, this.port, internalUrl);
    this.mode = { kind: "impostor", impostor: kind };
  }

  /** Kills the miner, starts a healthy one on a new port and registers the new address. */
  async moveAndReregister(admin: Admin): Promise<void> {
    await this.vacate();
    this.port = await freePort();
    await this.start();
    await registerMiners(admin, [this.registration()]);
  }

  /** Whether the process the slot started has exited on its own (e.g. --exit-after-tokens). */
  exitedOnItsOwn(): boolean {
    return this.proc !== null && (this.proc.child.exitCode !== null || this.proc.child.signalCode !== null);
  }

  async stop(): Promise<void> {
    await this.vacate();
  }

  private async vacate(): Promise<void> {
    if (this.impostor) {
      this.impostorRequests += this.impostor.requests();
      await this.impostor.close();
      this.impostor = null;
    }
    await this.kill();
  }
}

export interface Fleet {
  miners: MinerSlot[];
  gate: MinerSlot;
  all(): MinerSlot[];
  stop(): Promise<void>;
}

/**
 * `count` reference miners serving the chat and embedding models, and one gate miner that proxies
 * `soak/gated` to the soak's gate (lib/gate.ts) for the concurrency probes.
 */
export async function startFleet(count: number, gateUpstream: string): Promise<Fleet> {
  const miners: MinerSlot[] = [];
  for (let i = 0; i < count; i++) {
    miners.push(new MinerSlot(`miner${i + 1}`, `//SoakMiner${i + 1}`, 1 + i, await freePort(), ["demo/tiny-chat", "demo/tiny-embed"]));
  }
  // uids as the dev stack registers its external miners: 1, 2, ... in this order.
  const gate = new MinerSlot("gate", "//SoakGate", count + 1, await freePort(), ["soak/gated"], ["--upstream", gateUpstream]);
  const all = () => [...miners, gate];
  try {
    await Promise.all(all().map((m) => m.start()));
  } catch (err) {
    await Promise.all(all().map((m) => m.stop()));
    throw err;
  }
  return { miners, gate, all, stop: async () => void (await Promise.all(all().map((m) => m.stop()))) };
}
