/**
 * Things that answer on a miner's address but are not miners: a redirect to an "internal" service
 * (a gateway that followed it would hand the miner's request, Epistula headers and all, to that
 * service: issue 15's SSRF) and a server answering junk. Each listens on a given port, so it can
 * take over the address of a miner the soak just killed.
 */
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Listening {
  url: string;
  port: number;
  /** Requests it got. */
  requests(): number;
  close(): Promise<void>;
}

export type ImpostorKind = "redirect-307" | "redirect-302" | "junk";

async function listen(server: Server, port: number): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, "127.0.0.1", () => {
      server.off("error", reject);
      resolve();
    });
  });
  return (server.address() as AddressInfo).port;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
}

async function body(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** The "internal" service a redirect points to; every request it gets is a redirect followed. */
export async function startInternalService(): Promise<Listening> {
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    req.resume();
    // An OpenAI-looking body, so a gateway that followed the redirect could pass it on as an answer.
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ internal: "secret", choices: [{ index: 0, message: { role: "assistant", content: "internal secret" }, finish_reason: "stop" }] }));
  });
  const port = await listen(server, 0);
  return { url: `http://127.0.0.1:${port}`, port, requests: () => hits, close: closer(server) };
}

/** An impostor on `port`: redirects to `internalUrl`, or junk (a 200 whose body is not what was asked for). */
export async function startImpostor(kind: ImpostorKind, port: number, internalUrl: string): Promise<Listening> {
  let requests = 0;
  const server = createServer((req, res) => {
    requests++;
    void body(req).then((text) => {
      if (kind !== "junk") {
        res.writeHead(kind === "redirect-307" ? 307 : 302, { location: `${internalUrl}/internal`, "content-type": "text/plain" });
        res.end("moved");
        return;
      }
      // Junk in the shape the request asked for: an event stream of broken events, or broken JSON.
      if (/"stream"\s*:\s*true/.test(text)) {
        res.writeHead(200, { "content-type": "text/event-stream" });
        res.end('data: {"id":"junk","choices":[{"delta":{"content":\n\ndata: \u0000\u0001 not json\n\n');
      } else {
        res.writeHead(200, { "content-type": "application/json" });
        res.end('{"id":"junk","object":"chat.completion","choices":[{"message":');
      }
    });
  });
  const bound = await listen(server, port);
  return { url: `http://127.0.0.1:${bound}`, port: bound, requests: () => requests, close: closer(server) };
}
