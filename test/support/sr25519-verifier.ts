/**
 * A loopback server for the workerd tests' cross-verification: signatures made inside workerd
 * (with the gateway's WebAssembly signer) are checked here, in Node, by @polkadot/util-crypto,
 * an implementation independent of both signers in this repository. It also hands out the shared
 * Epistula v2 vectors, which workerd cannot read from disk.
 *   GET  /vectors  -> ../shared/protocol/epistula-v2-vectors.json
 *   POST /verify   {message (UTF-8 text), signature (0x hex), address (SS58)} -> {isValid}
 */
import { createServer, type IncomingMessage } from "node:http";
import { cryptoWaitReady, signatureVerify } from "@polkadot/util-crypto";
import { loadEpistulaVectors } from "../node/protocol/shared";

export interface Sr25519Verifier {
  url: string;
  close(): Promise<void>;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return JSON.parse(Buffer.concat(chunks).toString("utf8"));
}

function field(body: unknown, name: string): string {
  const value = typeof body === "object" && body !== null ? Reflect.get(body, name) : undefined;
  if (typeof value !== "string") throw new Error(`missing string field ${name}`);
  return value;
}

export async function startSr25519Verifier(): Promise<Sr25519Verifier> {
  await cryptoWaitReady();
  const vectors = JSON.stringify(loadEpistulaVectors());
  const server = createServer((req, res) => {
    const reply = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    if (req.method === "GET" && req.url === "/vectors") return reply(200, JSON.parse(vectors));
    if (req.method !== "POST" || req.url !== "/verify") return reply(404, { error: "not found" });
    readJson(req)
      .then((body) => {
        const { isValid } = signatureVerify(new TextEncoder().encode(field(body, "message")), field(body, "signature"), field(body, "address"));
        reply(200, { isValid });
      })
      .catch((err: unknown) => reply(400, { error: err instanceof Error ? err.message : String(err) }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const addr = server.address();
  const port = typeof addr === "object" && addr ? addr.port : 0;
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
