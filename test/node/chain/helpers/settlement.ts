// Shared by the settlement chain tests: usage metered into the test D1 by the consumer's writer, chain reads
// (weights, commits, balances), moving to the next epoch, and a controllable clock.
import type { D1Database } from "@cloudflare/workers-types";
import type { ApiPromise } from "@polkadot/api";
import { parseBatch } from "../../../../src/billing/usage-batch";
import type { UsageEvent } from "../../../../src/billing/usage-event";
import { writeUsageBatch } from "../../../../src/billing/usage-writer";
import { chainEpochIndex } from "../../../../src/chain/settlement/epoch";
import { newBlocks } from "../../../support/subnet";

export type UsageSpec = {
  miner: string;
  model?: string;
  kind?: "subscriber" | "canary";
  status?: "ok" | "miner_error" | "no_miner" | "client_cancelled" | "timeout" | "bad_response";
  httpStatus?: number;
  prompt: number;
  completion: number;
  /** Reported tokens; default: exactly the counted ones. null: the miner reported nothing. */
  reported?: { prompt: number; completion: number } | null;
  costMicroUsd?: number;
  createdAt: number;
};

let seq = 0;

/** The usage event a spec describes, as the gateway's meter emits it. */
export function usageEventOf(r: UsageSpec): UsageEvent {
  const reported = r.reported === undefined ? { prompt: r.prompt, completion: r.completion } : r.reported;
  const status = r.status ?? "ok";
  return {
    requestId: `req_settle_${++seq}`,
    kind: r.kind ?? "subscriber",
    subscriberId: r.kind === "canary" ? null : "sub_test",
    apiKeyId: null,
    endpoint: "chat.completions",
    model: r.model ?? "demo/tiny-chat",
    minerHotkey: r.miner,
    status,
    httpStatus: r.httpStatus ?? (status === "ok" ? 200 : status === "client_cancelled" ? 499 : 502),
    errorCode: null,
    streamed: false,
    attempts: 1,
    promptTokensReported: reported?.prompt ?? null,
    completionTokensReported: reported?.completion ?? null,
    promptTokensCounted: r.prompt,
    completionTokensCounted: r.completion,
    ttftMs: null,
    durationMs: 10,
    createdAt: r.createdAt,
    cachedPromptTokensReported: null,
    costMicroUsd: r.costMicroUsd ?? 0,
  };
}

/** Meters the specs the way the gateway's usage consumer does: one batch into the D1 rollups. */
export async function insertUsage(db: D1Database, rows: readonly UsageSpec[]): Promise<void> {
  if (rows.length === 0) return;
  const events = rows.map(usageEventOf);
  const batch = { id: `ub_settle_${seq}`, flushedAt: Date.now(), ndjson: events.map((e) => JSON.stringify(e)).join("\n") };
  await writeUsageBatch(db, batch, parseBatch(batch).events);
}

function palletQuery(api: ApiPromise, item: string) {
  const fn = api.query.subtensorModule?.[item];
  if (!fn) throw new Error(`no subtensorModule.${item}`);
  return fn;
}

export async function chainWeights(api: ApiPromise, netuid: number, uid: number): Promise<Array<[number, number]>> {
  return (await palletQuery(api, "weights")(netuid, uid)).toJSON() as Array<[number, number]>;
}

export async function chainCommits(api: ApiPromise, netuid: number, hotkey: string): Promise<string[]> {
  const value = (await palletQuery(api, "weightCommits")(netuid, hotkey)).toJSON() as Array<[string, number, number, number]> | null;
  return (value ?? []).map((c) => c[0]);
}

export async function freeOf(api: ApiPromise, address: string): Promise<bigint> {
  const info = (await api.query.system?.account?.(address))?.toJSON() as { data: { free: number | string } } | undefined;
  if (!info) throw new Error("no system.account");
  return BigInt(info.data.free);
}

export async function bestBlock(api: ApiPromise): Promise<number> {
  return (await api.rpc.chain.getHeader()).number.toNumber();
}

/** Builds blocks until the chain enters its next epoch (Subtensor's epoch index for `netuid`). */
export async function toNextEpoch(api: ApiPromise, netuid: number): Promise<number> {
  const tempo = Number((await palletQuery(api, "tempo")(netuid)).toPrimitive());
  const head = await bestBlock(api);
  const next = chainEpochIndex(netuid, tempo, head) + 1;
  const firstBlock = next * (tempo + 1) - (netuid + 1);
  await newBlocks(api, Math.max(1, firstBlock - head));
  return next;
}

/** Expected u16 weights from work, by the definition (largest 65535, others in proportion). */
export function expectedWeights(work: ReadonlyMap<number, number>): Array<[number, number]> {
  const max = Math.max(...work.values());
  return [...work.entries()].filter(([, w]) => w > 0).sort((a, b) => a[0] - b[0]).map(([uid, w]) => [uid, Math.round((w / max) * 65535)]);
}

/** Each pair within `tolerance` of the expected one, same uids. */
export function closeTo(actual: Array<[number, number]>, expected: Array<[number, number]>, tolerance = 1): boolean {
  if (actual.length !== expected.length) return false;
  const sorted = [...actual].sort((a, b) => a[0] - b[0]);
  return sorted.every(([uid, w], i) => uid === expected[i]?.[0] && Math.abs(w - (expected[i]?.[1] ?? -1e9)) <= tolerance);
}
