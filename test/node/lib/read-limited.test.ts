import { describe, expect, it } from "vitest";
import { MAX_DRAIN_BYTES, readBytesLimited, readTextLimited } from "../../../src/lib/read-limited";

/** A stream of `count` chunks of `size` bytes that records how far it was read and whether it was cancelled. */
function source(count: number, size: number) {
  const seen = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (seen.pulled === count) return controller.close();
      seen.pulled++;
      controller.enqueue(new Uint8Array(size).fill(0x61));
    },
    cancel() {
      seen.cancelled = true;
    },
  }, { highWaterMark: 0 });
  return { stream, seen };
}

describe("readTextLimited / readBytesLimited", () => {
  it("reads a body under the limit", async () => {
    const { stream } = source(3, 10);
    expect(await readTextLimited(new Response(stream), 30)).toBe("a".repeat(30));
  });

  it("cancels an oversized miner answer as soon as it passes the limit", async () => {
    const { stream, seen } = source(100, 1024);
    expect(await readBytesLimited(stream, 4096)).toBeNull();
    expect(seen.cancelled).toBe(true);
    expect(seen.pulled).toBe(5);
  });

  it("drains an oversized client body to its end instead of cancelling it", async () => {
    const { stream, seen } = source(100, 1024);
    expect(await readBytesLimited(stream, 4096, "drain")).toBeNull();
    expect(seen).toEqual({ pulled: 100, cancelled: false });
  });

  it("stops draining past MAX_DRAIN_BYTES", async () => {
    const chunk = 1024 * 1024;
    const { stream, seen } = source(MAX_DRAIN_BYTES / chunk + 10, chunk);
    expect(await readBytesLimited(stream, 1024, "drain")).toBeNull();
    expect(seen.cancelled).toBe(true);
    expect(seen.pulled).toBeLessThanOrEqual(MAX_DRAIN_BYTES / chunk + 2);
  });

  it("refuses a declared Content-Length over the limit without reading", async () => {
    const { stream, seen } = source(1, 10);
    expect(await readTextLimited(new Response(stream, { headers: { "content-length": "100" } }), 50, "drain")).toBeNull();
    expect(seen.pulled).toBeLessThanOrEqual(1);
  });
});
