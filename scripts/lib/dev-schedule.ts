/**
 * The chain Worker's cron triggers under `wrangler dev`. wrangler fires cron triggers for no Worker
 * in dev, and a secondary Worker (the chain Worker) has no `/__scheduled` endpoint of its own, so
 * the dev stack runs each trigger on its schedule through the gateway's admin API:
 * `POST /admin/chain/scheduled {cron}` calls ChainService.runCron(cron), the very jobs the
 * production trigger runs (metagraph sync, settlement).
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";

/** The cron triggers listed in a wrangler config's [triggers] table. */
export function cronTriggers(root: string, file = "wrangler.chain.toml"): string[] {
  const toml = readFileSync(join(root, file), "utf8");
  const line = /^\s*crons\s*=\s*\[(.*)\]\s*$/m.exec(toml.slice(toml.search(/^\[triggers\]\s*$/m)));
  if (!line?.[1]) return [];
  return [...line[1].matchAll(/"([^"]*)"/g)].map((m) => m[1] ?? "").filter((c) => c !== "");
}

/**
 * How often a trigger fires, for the shapes wrangler.chain.toml uses ("* * * * *", "*\/N * * * *").
 * Anything else needs an explicit interval (DEV_CHAIN_SCHEDULE_MS).
 */
export function cronIntervalMs(cron: string): number {
  const [minute, ...rest] = cron.trim().split(/\s+/);
  if (rest.length !== 4 || rest.some((f) => f !== "*")) throw new Error(`dev schedule: cannot run cron "${cron}" by itself; set DEV_CHAIN_SCHEDULE_MS`);
  if (minute === "*") return 60_000;
  const every = /^\*\/([1-9][0-9]*)$/.exec(minute ?? "");
  if (!every?.[1]) throw new Error(`dev schedule: cannot run cron "${cron}" by itself; set DEV_CHAIN_SCHEDULE_MS`);
  return Number(every[1]) * 60_000;
}

export type ScheduledRun = { cron: string; status: number; body: unknown };

export interface ChainSchedule {
  /** Runs every trigger now (in order) and resolves with what each answered. */
  runAll(): Promise<ScheduledRun[]>;
  stop(): void;
}

/** Starts one timer per trigger; a run still going when its next one is due is not started twice. */
export function startChainSchedule(opts: {
  gatewayUrl: string;
  adminToken: string;
  crons: string[];
  /** One interval for every trigger (tests, DEV_CHAIN_SCHEDULE_MS); default: each cron's own. */
  intervalMs?: number;
  onRun?: (run: ScheduledRun) => void;
}): ChainSchedule {
  const busy = new Set<string>();
  const run = async (cron: string): Promise<ScheduledRun> => {
    const res = await fetch(`${opts.gatewayUrl}/admin/chain/scheduled`, {
      method: "POST",
      headers: { authorization: `Bearer ${opts.adminToken}`, "content-type": "application/json" },
      body: JSON.stringify({ cron }),
    });
    const body: unknown = await res.json().catch(() => null);
    const result = { cron, status: res.status, body };
    opts.onRun?.(result);
    return result;
  };
  const tick = (cron: string) => {
    if (busy.has(cron)) return;
    busy.add(cron);
    run(cron)
      .catch((err: unknown) => opts.onRun?.({ cron, status: 0, body: String(err) }))
      .finally(() => busy.delete(cron));
  };
  const timers = opts.crons.map((cron) => setInterval(() => tick(cron), opts.intervalMs ?? cronIntervalMs(cron)));
  return {
    async runAll() {
      const out: ScheduledRun[] = [];
      for (const cron of opts.crons) out.push(await run(cron));
      return out;
    },
    stop() {
      for (const t of timers) clearInterval(t);
    },
  };
}
