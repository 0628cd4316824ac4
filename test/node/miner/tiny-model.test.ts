// Unit tests of the built-in model, without HTTP.
import { describe, expect, it } from "vitest";
import { countTokens, splitTokens } from "../../../src/lib/tokens";
import { rngFromText } from "../../../miner/prng";
import { parseChatRequest } from "../../../miner/requests";
import { answerChat, babble, limitText } from "../../../miner/tiny-model";

const tool = (name: string) => ({ type: "function", function: { name, parameters: { type: "object", properties: { q: { type: "string" } } } } });

describe("tiny model", () => {
  it("babble produces exactly the requested number of estimator tokens", () => {
    for (let n = 2; n <= 60; n++) {
      const text = babble(rngFromText(`t${n}`), n);
      expect(countTokens(text), text).toBe(n);
      expect(text.endsWith(".")).toBe(true);
    }
  });

  it("default answers are 16..48 tokens and deterministic", () => {
    for (let i = 0; i < 50; i++) {
      const req = parseChatRequest({ model: "m", messages: [{ role: "user", content: `q${i}` }] });
      const a = answerChat(req, { garbage: false });
      const b = answerChat(req, { garbage: false });
      expect(a).toEqual(b);
      if (a.kind !== "text") throw new Error("expected text");
      expect(a.pieces.length).toBeGreaterThanOrEqual(16);
      expect(a.pieces.length).toBeLessThanOrEqual(48);
      expect(a.pieces).toEqual(splitTokens(a.text));
    }
  });

  it("limitText: earliest stop wins, cap applies first, pieces re-split", () => {
    expect(limitText("a b c", 10, ["c", "b"])).toMatchObject({ text: "a ", finishReason: "stop", pieces: ["a", " "] });
    expect(limitText("a b c", 2, ["c"])).toMatchObject({ text: "a b", finishReason: "length" });
    expect(limitText("a b c", 3, [])).toMatchObject({ text: "a b c", finishReason: "stop" });
  });

  it("auto tool choice needs the whole function name, not a substring", () => {
    const mk = (content: string) => parseChatRequest({ model: "m", tools: [tool("get")], messages: [{ role: "user", content }] });
    expect(answerChat(mk("don't forget it"), { garbage: false }).kind).toBe("text");
    expect(answerChat(mk("please get it"), { garbage: false }).kind).toBe("tool_call");
    expect(answerChat(mk("call `get`"), { garbage: false }).kind).toBe("tool_call");
  });
});
