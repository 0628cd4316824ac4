import { describe, expect, it } from "vitest";
import { MESSAGE_OVERHEAD_TOKENS, REPLY_PRIMING_TOKENS, countMessageTokens, countTokens, splitTokens } from "../../../src/lib/tokens";

// Small deterministic PRNG so the fuzz cases are reproducible.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("splitTokens", () => {
  it("splits like a GPT pre-tokenizer", () => {
    expect(splitTokens("Hello, world! It's 12345 ok")).toEqual(["Hello", ",", " world", "!", " It", "'s", " 123", "45", " ok"]);
    expect(splitTokens("a   b")).toEqual(["a", "  ", " b"]);
    expect(splitTokens("line1\n\nline2  ")).toEqual(["line", "1", "\n\n", "line", "2", "  "]);
    expect(splitTokens("héllo ✓ naïve")).toEqual(["héllo", " ✓", " naïve"]);
    expect(splitTokens("日本語です")).toEqual(["日", "本", "語", "で", "す"]);
    expect(splitTokens('{"a":1}')).toEqual(['{"', "a", '":', "1", "}"]);
  });

  it("caps letter and symbol runs so blobs are not one token", () => {
    expect(splitTokens("a".repeat(40))).toEqual(["a".repeat(16), "a".repeat(16), "a".repeat(8)]);
    expect(splitTokens("=".repeat(10))).toEqual(["=".repeat(8), "=="]);
  });

  it("always joins back to the input, and countTokens equals the piece count", () => {
    const rnd = mulberry32(7);
    const alphabet = ["a", "Z", "é", " ", "  ", "\n", "\t", "1", "42", ".", "'s", "'", "日", "😀", "\u0301", "\ud800", "\udc00", "—", "\r\n", "x y"];
    for (let i = 0; i < 2000; i++) {
      let s = "";
      const len = Math.floor(rnd() * 30);
      for (let j = 0; j < len; j++) s += alphabet[Math.floor(rnd() * alphabet.length)] ?? "";
      const pieces = splitTokens(s);
      expect(pieces.join("")).toBe(s);
      expect(pieces.every((p) => p.length > 0)).toBe(true);
      expect(countTokens(s)).toBe(pieces.length);
    }
  });

  it("is stable: re-splitting the joined pieces gives the same pieces", () => {
    const text = "The quick brown fox, it's 2024 — jumps  over\nthe lazy dog's 3.14159 tail!!";
    const pieces = splitTokens(text);
    expect(splitTokens(pieces.join(""))).toEqual(pieces);
    expect(countTokens("")).toBe(0);
    expect(splitTokens("")).toEqual([]);
  });

  it("is fast enough for every request (reported, loosely bounded)", () => {
    const text = "Lorem ipsum dolor sit amet, consectetur adipiscing elit 12345. ".repeat(2000); // ~128 KB
    countTokens(text);
    const t = performance.now();
    const n = countTokens(text);
    const ms = performance.now() - t;
    console.log(`[tokens perf] countTokens ${text.length} chars -> ${n} tokens in ${ms.toFixed(2)} ms`);
    expect(ms).toBeLessThan(500);
  });
});

describe("countMessageTokens", () => {
  const O = MESSAGE_OVERHEAD_TOKENS;
  it("counts role, content, names and the fixed overheads", () => {
    const messages = [
      { role: "system", content: "Be brief." },
      { role: "user", name: "bob", content: "Hello there" },
    ];
    const expected = REPLY_PRIMING_TOKENS + (O + 1 + 3) + (O + 1 + 1 + 2);
    expect(countMessageTokens(messages)).toBe(expected);
  });

  it("counts text parts, tool call names and arguments, and tool results", () => {
    const messages = [
      { role: "user", content: [{ type: "text", text: "What is the weather" }, { type: "image_url", image_url: { url: "https://x/y.png" } }] },
      { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "call_1", content: "sunny" },
    ];
    const expected =
      REPLY_PRIMING_TOKENS +
      (O + 1 + countTokens("What is the weather")) +
      (O + 1 + countTokens("get_weather") + countTokens('{"city":"Paris"}')) +
      (O + 1 + 1);
    expect(countMessageTokens(messages)).toBe(expected);
  });

  it("tolerates junk without throwing", () => {
    expect(countMessageTokens(undefined)).toBe(0);
    expect(countMessageTokens("hi")).toBe(0);
    expect(countMessageTokens([])).toBe(0);
    expect(countMessageTokens([null, 3, { role: 5, content: { x: 1 } }])).toBe(REPLY_PRIMING_TOKENS + O);
  });
});
