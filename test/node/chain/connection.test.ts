import { createServer, type Server, type Socket } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { connectSubtensor } from "../../../src/chain/connection";
import { ChainConfigError, ChainUnavailableError } from "../../../src/chain/errors";
import { freePort } from "../../support/chopsticks";

// A TCP server that accepts and then never says a word: the worst case for a connect deadline.
let silent: Server;
let silentPort = 0;
const sockets = new Set<Socket>();
beforeAll(async () => {
  silent = createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const address = silent.address();
  silentPort = typeof address === "object" && address ? address.port : 0;
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise<void>((resolve) => silent.close(() => resolve()));
});

async function expectUnavailable(url: string, timeoutMs: number): Promise<number> {
  const started = Date.now();
  const error: unknown = await connectSubtensor(url, { timeoutMs }).then(
    () => null,
    (err: unknown) => err,
  );
  expect(error).toBeInstanceOf(ChainUnavailableError);
  return Date.now() - started;
}

describe("connectSubtensor", () => {
  it("fails fast with ChainUnavailableError when nothing listens (ws and http)", async () => {
    const port = await freePort();
    expect(await expectUnavailable(`ws://127.0.0.1:${port}`, 5_000)).toBeLessThan(3_000);
    expect(await expectUnavailable(`http://127.0.0.1:${port}`, 5_000)).toBeLessThan(3_000);
  });

  it("gives up at the deadline when the node never answers (ws and http)", async () => {
    const wsTook = await expectUnavailable(`ws://127.0.0.1:${silentPort}`, 500);
    expect(wsTook).toBeGreaterThanOrEqual(450);
    expect(wsTook).toBeLessThan(2_000);
    const httpTook = await expectUnavailable(`http://127.0.0.1:${silentPort}`, 500);
    expect(httpTook).toBeGreaterThanOrEqual(450);
    expect(httpTook).toBeLessThan(2_000);
  });

  it("refuses URLs it cannot use", async () => {
    await expect(connectSubtensor("ftp://example.com", { timeoutMs: 100 })).rejects.toThrow(/unsupported Subtensor URL scheme/);
    await expect(connectSubtensor("not a url", { timeoutMs: 100 })).rejects.toBeInstanceOf(ChainConfigError);
  });
});
