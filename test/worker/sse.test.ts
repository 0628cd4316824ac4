import { describe, expect, it } from "vitest";
import { LineDecoder, SseDecoder, type SseEvent } from "../../src/lib/sse";

const enc = new TextEncoder();

/** Feeds `bytes` split at every given offset and returns all events. */
function decodeSplit(bytes: Uint8Array, cuts: number[]): SseEvent[] {
  const d = new SseDecoder();
  const out: SseEvent[] = [];
  let prev = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(...d.push(bytes.slice(prev, cut)));
    prev = cut;
  }
  out.push(...d.end());
  return out;
}

describe("SSE decoding", () => {
  const stream = 'data: {"a":"héllo ✓"}\r\n\r\n: comment\n\nevent: ping\ndata: x\ndata: y\n\ndata: [DONE]\n\n';
  const bytes = enc.encode(stream);
  const expected: SseEvent[] = [
    { event: "message", data: '{"a":"héllo ✓"}', id: null },
    { event: "ping", data: "x\ny", id: null },
    { event: "message", data: "[DONE]", id: null },
  ];

  it("decodes a whole buffer", () => {
    expect(decodeSplit(bytes, [])).toEqual(expected);
  });

  it("gives the same events for every single split point (multi-byte chars and CRLF cut)", () => {
    for (let i = 1; i < bytes.length; i++) expect(decodeSplit(bytes, [i])).toEqual(expected);
  });

  it("gives the same events when fed one byte at a time", () => {
    expect(decodeSplit(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1))).toEqual(expected);
  });

  it("treats a lone CR as a line end, even at a chunk boundary", () => {
    const d = new LineDecoder();
    expect(d.push(enc.encode("a\r"))).toEqual(["a"]);
    expect(d.push(enc.encode("\nb\rc\n"))).toEqual(["b", "c"]);
    expect(d.end()).toEqual([]);
  });

  it("flushes a final event that lacks its blank line", () => {
    const d = new SseDecoder();
    expect(d.push(enc.encode("data: tail"))).toEqual([]);
    expect(d.end()).toEqual([{ event: "message", data: "tail", id: null }]);
  });

  it("handles a field without a space after the colon and a field with no colon", () => {
    const d = new SseDecoder();
    expect(d.push(enc.encode("data:x\ndata\n\n"))).toEqual([{ event: "message", data: "x\n", id: null }]);
  });
});
