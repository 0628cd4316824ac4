// End to end against the real Subtensor runtime (chopsticks), real reference miners on 127.0.0.2-4
// and a real local D1: one chopsticks per file, subnet and miners set up once, tests in order.
import { fileURLToPath } from "node:url";
import type { ApiPromise } from "@polkadot/api";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startMiner, type RunningMiner } from "../../../miner/server";
import { connectSubtensor, disconnectSubtensor } from "../../../src/chain/connection";
import { readMetagraph } from "../../../src/chain/metagraph";
import { ChainUnavailableError, syncMetagraph, type SyncEnv, type SyncReport } from "../../../src/chain/sync";
import { freePort, startChopsticks, type Chopsticks } from "../../support/chopsticks";
import { createSubnet, devKey, newBlocks, registerNeurons, serveAxon, type RegisteredNeuron } from "../../support/subnet";
import { allMiners, createTestD1, type MinerDbRow, type TestD1 } from "./helpers/d1";

const HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"] as const;
const MODELS = [["alpha-chat"], ["alpha-chat", "beta-embed"], ["gamma"]] as const;
const minerUri = (i: number): string => `//Miner${i + 1}`;

let chain: Chopsticks;
let api: ApiPromise;
let d1: TestD1;
let netuid = 0;
let ownerHotkey = "";
let registered: RegisteredNeuron[] = [];
const miners: RunningMiner[] = [];
const logs: Array<{ event: string; fields: Record<string, unknown> }> = [];
const timings: Record<string, number> = {};

function env(over: Partial<SyncEnv> = {}): SyncEnv {
  return {
    DB: d1.db,
    SUBTENSOR_URL: chain.wsUrl,
    NETUID: String(netuid),
    GATEWAY_HOTKEY_MNEMONIC: "//Gateway",
    ALLOW_PRIVATE_AXONS: "true",
    ...over,
  };
}

const sync = (over: Partial<SyncEnv> = {}, withApi = true): Promise<SyncReport> =>
  syncMetagraph(env(over), { ...(withApi ? { api } : {}), log: (event, fields) => logs.push({ event, fields }), probeTimeoutMs: 2_000 });

async function measure<T>(name: string, fn: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const value = await fn();
  timings[name] = Math.round(performance.now() - started);
  return value;
}

function startTestMiner(i: number, port = 0): Promise<RunningMiner> {
  return startMiner({ hotkey: minerUri(i), host: HOSTS[i], port, models: MODELS[i] });
}

beforeAll(async () => {
  const started = performance.now();
  [chain, d1] = await Promise.all([measure("chopsticks ready", () => startChopsticks()), createTestD1()]);
  api = await measure("connect ws (ApiPromise create)", () => connectSubtensor(chain.wsUrl));
  ({ netuid, ownerHotkey } = await measure("create subnet", () => createSubnet(api)));
  for (let i = 0; i < HOSTS.length; i++) miners.push(await startTestMiner(i));
  registered = await measure("register + serve 3 miners", () =>
    registerNeurons(
      api,
      netuid,
      miners.map((m, i) => ({ hotkey: devKey(minerUri(i)), coldkey: devKey(`${minerUri(i)}//cold`), axon: { ip: m.host, port: m.port } })),
    ),
  );
  timings["setup total"] = Math.round(performance.now() - started);
}, 150_000);

afterAll(async () => {
  await Promise.allSettled(miners.map((m) => m.close()));
  if (api) await disconnectSubtensor(api);
  await d1?.dispose();
  await chain?.stop();
  console.log(`chain timings (ms): ${JSON.stringify(timings, null, 1)}`);
}, 30_000);

const byHotkey = (rows: MinerDbRow[], hotkey: string): MinerDbRow | undefined => rows.find((r) => r.hotkey === hotkey);

describe("metagraph sync against a local Subtensor (spec 218)", () => {
  it("reads the metagraph: the owner plus three miners with their axons", async () => {
    const metagraph = await readMetagraph(api, netuid);
    expect(metagraph.neurons.map((n) => [n.uid, n.hotkey, n.axon?.ip ?? null, n.axon?.port ?? null])).toEqual([
      [0, ownerHotkey, null, null],
      ...registered.map((r, i) => [r.uid, r.hotkey, HOSTS[i], miners[i]?.port]),
    ]);
    expect(metagraph.neurons.slice(1).map((n) => n.coldkey)).toEqual(registered.map((r) => r.coldkey));
  });

  it("refuses loopback axons unless ALLOW_PRIVATE_AXONS", async () => {
    const other = await createTestD1();
    try {
      const report = await syncMetagraph(env({ DB: other.db, ALLOW_PRIVATE_AXONS: "" }), { api, log: () => {} });
      expect(report.kept).toBe(0);
      expect(report.skipped.filter((s) => s.reason.includes("loopback"))).toHaveLength(3);
      expect(await allMiners(other.db)).toEqual([]);
    } finally {
      await other.dispose();
    }
  });

  it("finds exactly the three miners with hotkeys, uids, addresses and models", async () => {
    // A static row (admin API) and a chain row of a miner that is no longer registered.
    await d1.db
      .prepare("INSERT INTO miners (hotkey, uid, axon_url, models, source, active, updated_at) VALUES ('static-1', 0, 'http://static:1', '[\"s\"]', 'static', 1, 1)")
      .run();
    await d1.db
      .prepare("INSERT INTO miners (hotkey, uid, netuid, axon_url, source, active, updated_at) VALUES ('gone-1', 9, ?, 'http://8.8.8.8:1', 'chain', 1, 1)")
      .bind(netuid)
      .run();

    const report = await sync();
    expect(report).toMatchObject({ netuid, found: 4, kept: 3, deactivated: ["gone-1"] });
    expect(report.block).toBeGreaterThan(0);
    expect(report.skipped).toEqual([{ hotkey: ownerHotkey, uid: 0, reason: "no axon served" }]);
    expect(logs.some((l) => l.event === "metagraph_sync_skip" && l.fields.hotkey === ownerHotkey)).toBe(true);

    const rows = await allMiners(d1.db);
    const chainRows = rows.filter((r) => r.source === "chain" && r.active === 1);
    expect(chainRows.map((r) => r.hotkey).sort()).toEqual(registered.map((r) => r.hotkey).sort());
    registered.forEach((r, i) => {
      expect(byHotkey(rows, r.hotkey)).toEqual({
        hotkey: r.hotkey,
        uid: r.uid,
        netuid,
        coldkey: r.coldkey,
        axon_url: `http://${HOSTS[i]}:${miners[i]?.port}`,
        models: JSON.stringify([...(MODELS[i] ?? [])].sort()),
        source: "chain",
        active: 1,
        // Freshly burned-registered neurons: no incentive or stake yet.
        incentive: 0,
        stake_rao: "0",
        updated_at: report.syncedAt,
      });
    });
    expect(byHotkey(rows, "static-1")).toMatchObject({ source: "static", active: 1, updated_at: 1 });
    expect(byHotkey(rows, "gone-1")).toMatchObject({ active: 0 });
    // The miners saw signed requests from the gateway's hotkey.
    expect(miners.every((m) => m.stats().lastSignedBy === devKey("//Gateway").address)).toBe(true);
  });

  it("follows a miner that re-serves its axon on a new port", async () => {
    const old = miners[0];
    if (!old) throw new Error("miner 1 missing");
    const moved = await startTestMiner(0);
    await serveAxon(api, netuid, devKey(minerUri(0)), { ip: moved.host, port: moved.port });
    await old.close();
    miners[0] = moved;

    const report = await sync();
    expect(report).toMatchObject({ kept: 3, deactivated: [] });
    const row = byHotkey(await allMiners(d1.db), moved.hotkey);
    expect(row).toMatchObject({ axon_url: `http://${HOSTS[0]}:${moved.port}`, active: 1 });
  });

  it("drops a miner whose axon became unreachable (over an HTTP RPC connection of its own)", async () => {
    const stopped = miners[1];
    if (!stopped) throw new Error("miner 2 missing");
    await stopped.close();

    const report = await sync({ SUBTENSOR_URL: chain.httpUrl }, false);
    expect(report).toMatchObject({ kept: 2, deactivated: [stopped.hotkey] });
    expect(report.skipped.find((s) => s.hotkey === stopped.hotkey)?.reason).toMatch(/GET \/v1\/models failed/);
    const rows = await allMiners(d1.db);
    expect(byHotkey(rows, stopped.hotkey)).toMatchObject({ active: 0, source: "chain" });
    expect(rows.filter((r) => r.source === "chain" && r.active === 1)).toHaveLength(2);
  });

  it("throws ChainUnavailableError and leaves the rows as they were when the chain is unreachable", async () => {
    const before = await allMiners(d1.db);
    const deadPort = await freePort();
    for (const url of [`ws://127.0.0.1:${deadPort}`, `http://127.0.0.1:${deadPort}`]) {
      const error: unknown = await syncMetagraph(env({ SUBTENSOR_URL: url }), { connectTimeoutMs: 3_000, log: () => {} }).then(
        () => null,
        (err: unknown) => err,
      );
      expect(error).toBeInstanceOf(ChainUnavailableError);
    }
    expect(await allMiners(d1.db)).toEqual(before);
  });

  it("runs inside workerd (Miniflare): ws and http, and ChainUnavailableError", async () => {
    // Bundled like wrangler would (workerd/browser export conditions), node: builtins left to nodejs_compat.
    const { build } = await import("esbuild");
    const bundled = await build({
      entryPoints: [fileURLToPath(new URL("./helpers/sync-worker.ts", import.meta.url))],
      bundle: true,
      write: false,
      format: "esm",
      platform: "browser",
      conditions: ["workerd", "worker", "browser"],
      external: ["node:*", "cloudflare:*"],
      logLevel: "silent",
    });
    const script = bundled.outputFiles[0]?.text ?? "";
    const worker = await createTestD1({ script, bindings: { NETUID: String(netuid) } });
    try {
      const activeChainRows = (await allMiners(d1.db)).filter((r) => r.source === "chain" && r.active === 1);
      for (const [name, url] of [["ws, first (module load)", chain.wsUrl], ["http", chain.httpUrl], ["ws", chain.wsUrl]] as const) {
        const res = await measure(`workerd syncMetagraph ${name}`, () => worker.dispatchFetch(`http://worker/?chain=${encodeURIComponent(url)}`));
        const body = (await res.json()) as { report?: SyncReport };
        expect(res.status).toBe(200);
        expect(body.report).toMatchObject({ netuid, found: 4, kept: activeChainRows.length });
      }
      const res = await worker.dispatchFetch(`http://worker/?chain=${encodeURIComponent(`ws://127.0.0.1:${await freePort()}`)}`);
      expect(res.status).toBe(500);
      expect(await res.json()).toMatchObject({ error: "ChainUnavailableError" });
      expect((await allMiners(worker.db)).filter((r) => r.active === 1)).toHaveLength(activeChainRows.length);
    } finally {
      await worker.dispose();
    }
  });

  it("measures connect + getNeuronsLite", async () => {
    // A new block before each sample: the WebSocket provider caches answers for the same block hash.
    const samples = async (name: string, n: number, fn: () => Promise<unknown>): Promise<void> => {
      const took: number[] = [];
      for (let i = 0; i < n; i++) {
        await newBlocks(api, 1);
        const started = performance.now();
        await fn();
        took.push(performance.now() - started);
      }
      took.sort((a, b) => a - b);
      timings[`${name} median of ${n}`] = Math.round(took[Math.floor(n / 2)] ?? 0);
    };
    const getNeuronsLite = api.call.neuronInfoRuntimeApi?.getNeuronsLite;
    if (!getNeuronsLite) throw new Error("no getNeuronsLite");
    await samples("getNeuronsLite call (ws)", 3, () => getNeuronsLite(netuid));
    await samples("readMetagraph (ws, finalized head + api.at + decode)", 3, () => readMetagraph(api, netuid));
    await samples("connect ws + readMetagraph + disconnect", 3, async () => {
      const fresh = await connectSubtensor(chain.wsUrl);
      await readMetagraph(fresh, netuid);
      await disconnectSubtensor(fresh);
    });
    await samples("connect http + readMetagraph + disconnect", 3, async () => {
      const fresh = await connectSubtensor(chain.httpUrl);
      await readMetagraph(fresh, netuid);
      await disconnectSubtensor(fresh);
    });
    await samples("full syncMetagraph (own ws connection)", 3, () => sync({}, false));
  }, 120_000);
});
