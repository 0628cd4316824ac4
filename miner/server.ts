// startMiner: the reference miner as a library (tests, dev scripts). node:http only.
// Per request: bounded body read -> Epistula check -> route -> backend; errors are mapped to
// OpenAI-shaped JSON in exactly one place.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { keypairFromUri } from "../src/protocol/keys";
import { createBuiltinBackend } from "./builtin";
import { emptyStats, type Backend, type MinerStats } from "./context";
import { createEpistulaGuard } from "./epistula-guard";
import { HttpError, readBody, sendError } from "./http";
import {
  DEFAULT_BEHAVIOUR,
  DEFAULT_MAX_BODY_BYTES,
  DEFAULT_MODELS,
  checkBehaviour,
  pickBehaviour,
  type MinerBehaviour,
  type MinerOptions,
} from "./options";
import { rngFromSeed } from "./prng";
import { route } from "./routes";
import { createSlots } from "./slots";
import { createUpstreamBackend } from "./upstream";

export type { MinerBehaviour, MinerOptions } from "./options";
export type { MinerStats } from "./context";

export type RunningMiner = {
  /** Base URL, e.g. http://127.0.0.1:39123 (paths start with /v1). */
  url: string;
  /** The miner's hotkey, SS58: what the gateway must put in Epistula-Signed-For. */
  hotkey: string;
  host: string;
  port: number;
  close(): Promise<void>;
  /** Changes misbehaviour knobs for requests that arrive from now on. */
  setBehaviour(partial: Partial<MinerBehaviour>): void;
  behaviour(): MinerBehaviour;
  stats(): MinerStats;
};

export async function startMiner(opts: MinerOptions): Promise<RunningMiner> {
  const keypair = typeof opts.hotkey === "string" ? keypairFromUri(opts.hotkey) : opts.hotkey;
  const log = opts.log ?? (() => {});
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  let behaviour = checkBehaviour({ ...DEFAULT_BEHAVIOUR, ...pickBehaviour(opts) });
  const backend: Backend = opts.upstream
    ? createUpstreamBackend({ baseUrl: opts.upstream, apiKey: opts.upstreamKey, models: opts.models })
    : createBuiltinBackend(opts.models ?? DEFAULT_MODELS);
  const guard =
    opts.epistula === false
      ? undefined
      : createEpistulaGuard({ ownHotkey: keypair.ss58, skewMs: opts.skewMs ?? 8000, validators: opts.validators });
  const failRng = rngFromSeed(opts.seed ?? 1);
  const stats = emptyStats();
  const slots = createSlots(() => behaviour.maxConcurrency);
  let exiting = false;
  // exitAfterTokens: the miner dies. A library miner cuts every connection and stops listening;
  // the CLI passes onExit to end the process itself.
  const exit = (): void => {
    if (exiting) return;
    exiting = true;
    log(`miner ${keypair.ss58}: exiting (exitAfterTokens)`);
    if (opts.onExit) return opts.onExit();
    server.close();
    server.closeAllConnections();
  };

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const arrivedAt = performance.now();
    stats.requests++;
    const disconnected = new AbortController();
    // "close" after a complete response is normal; before it, the client went away.
    res.on("close", () => {
      if (!res.writableFinished) disconnected.abort();
    });
    try {
      const body = await readBody(req, maxBodyBytes);
      const path = new URL(req.url ?? "/", "http://miner").pathname;
      if (guard) {
        try {
          stats.lastSignedBy = (await guard(req.headers, body)).signedBy;
        } catch (err) {
          stats.rejected++;
          throw err;
        }
      }
      await route({ req, res, body, signal: disconnected.signal, behaviour: { ...behaviour }, stats, arrivedAt, exit }, path, backend, failRng, slots);
    } catch (err) {
      if (!(err instanceof HttpError)) {
        stats.errors++;
        log(`miner: internal error on ${req.method} ${req.url}: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
        sendError(res, new HttpError(500, "The miner had an internal error.", "server_error", "internal_error"));
        return;
      }
      if (err.code === null || !err.code.startsWith("epistula_")) stats.errors++;
      if (err.cause !== undefined) log(`miner: ${err.code}: ${String(err.cause)}`);
      if (err.status === 413) {
        // The rest of the oversized body is never read: answer, then drop the connection.
        sendError(res, err, { connection: "close" });
        res.on("finish", () => req.destroy());
        return;
      }
      sendError(res, err);
    }
  }

  const server = createServer((req, res) => void handle(req, res));
  server.on("connection", (socket) => socket.setNoDelay(true)); // one token per packet, no Nagle delay
  const host = opts.host ?? "127.0.0.1";
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  log(`miner ${keypair.ss58} listening on ${url} (${opts.upstream ? `upstream ${opts.upstream}` : "built-in model"})`);

  return {
    url,
    hotkey: keypair.ss58,
    host,
    port,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err && !exiting ? reject(err) : resolve()));
        // Also end keep-alive and in-flight streams; their "close" events clear pacing timers.
        server.closeAllConnections();
      }),
    setBehaviour(partial) {
      behaviour = checkBehaviour({ ...behaviour, ...pickBehaviour(partial) });
    },
    behaviour: () => ({ ...behaviour }),
    stats: () => ({ ...stats, byEndpoint: { ...stats.byEndpoint }, firstTokenMs: [...stats.firstTokenMs] }),
  };
}
