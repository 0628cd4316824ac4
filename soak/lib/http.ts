/**
 * The soak client's HTTP: node:http, not fetch. A soak must be able to
 * blame what fails; under fetch (undici) a few answers whose headers had arrived never finished,
 * even after the client aborted them, while the gateway had metered them answered in the usual
 * time (docs/soak.md). node:http gives the raw socket's events, and an abort destroys it.
 */
import { Agent, request, type IncomingMessage } from "node:http";

/**
 * One connection per request. With keep-alive, a request sent on an idle connection at the moment
 * the server closes it fails with ECONNRESET before any answer: a race of the client's pool that
 * the gateway cannot see or prevent, and a soak must not count it against the gateway.
 */
const agent = new Agent({ keepAlive: false, maxSockets: 512 });

export interface Answer {
  status: number;
  header(name: string): string | null;
  /** The body as it arrives; iterating it throws once the request is aborted or the connection breaks. */
  body: AsyncIterable<Buffer>;
}

export function post(url: string, headers: Record<string, string>, body: string, signal: AbortSignal): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: "POST", agent, signal, headers: { ...headers, "content-length": Buffer.byteLength(body).toString() } }, (res: IncomingMessage) =>
      resolve({
        status: res.statusCode ?? 0,
        header: (name) => {
          const v = res.headers[name.toLowerCase()];
          return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
        },
        body: res,
      }),
    );
    req.once("error", reject);
    req.end(body);
  });
}

export async function readAll(body: AsyncIterable<Buffer>): Promise<string> {
  const parts: Buffer[] = [];
  for await (const chunk of body) parts.push(chunk);
  return Buffer.concat(parts).toString("utf8");
}
