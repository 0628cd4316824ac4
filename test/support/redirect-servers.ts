// Test helper: an "internal" HTTP service that counts every request it gets, and miners that answer
// every request with a redirect to it. A gateway that follows a miner's redirect shows up as a hit.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export type InternalService = {
  /** Base URL; GET {url}/__hits answers {"hits": n} without counting itself. */
  url: string;
  hits(): number;
  close(): Promise<void>;
};

export type RedirectingMiner = { url: string; requests(): number; close(): Promise<void> };

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

export async function startInternalService(): Promise<InternalService> {
  let hits = 0;
  const server = createServer((req, res) => {
    if (req.url === "/__hits") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ hits }));
      return;
    }
    hits++;
    req.resume();
    // Deliberately answer something a naive client would pass on: an OpenAI-looking body.
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ internal: "secret", object: "list", data: [{ id: "internal-model" }], choices: [{ message: { role: "assistant", content: "internal secret" }, finish_reason: "stop", index: 0 }] }));
  });
  const url = await listen(server);
  return { url, hits: () => hits, close: closer(server) };
}

/** A "miner" answering every request with `status` and `Location: {target}/internal`. */
export async function startRedirectingMiner(status: 301 | 302 | 303 | 307 | 308, target: string): Promise<RedirectingMiner> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    req.resume();
    res.writeHead(status, { location: `${target}/internal`, "content-type": "text/plain" });
    res.end("moved");
  });
  const url = await listen(server);
  return { url, requests: () => requests, close: closer(server) };
}
