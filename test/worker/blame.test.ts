import { describe, expect, it } from "vitest";
import { requestIsToBlame, statusSignature, type AttemptFailure } from "../../src/pipeline/blame";

const status = (hotkey: string, code: number): AttemptFailure => ({ kind: "status", detail: `${hotkey} answered ${code}`, hotkey, signature: statusSignature(code) });
const connect = (hotkey: string): AttemptFailure => ({ kind: "connect", detail: "refused", hotkey, signature: null });
const bad = (hotkey: string, what: string): AttemptFailure => ({ kind: "bad_response", detail: what, hotkey, signature: what });

describe("requestIsToBlame", () => {
  it("blames the request when two or more miners fail it the same request-causable way", () => {
    expect(requestIsToBlame([status("a", 500), status("b", 500)])).toBe(true);
    expect(requestIsToBlame([status("a", 500), status("b", 500), status("c", 500)])).toBe(true);
    expect(requestIsToBlame([bad("a", "invalid JSON"), bad("b", "invalid JSON")])).toBe(true);
  });

  it("blames the miners otherwise", () => {
    expect(requestIsToBlame([status("a", 500)])).toBe(false); // one miner proves nothing
    expect(requestIsToBlame([status("a", 500), status("a", 500)])).toBe(false); // the same miner twice
    expect(requestIsToBlame([status("a", 500), status("b", 502)])).toBe(false);
    expect(requestIsToBlame([status("a", 500), connect("b")])).toBe(false);
    expect(requestIsToBlame([connect("a"), connect("b")])).toBe(false);
    expect(requestIsToBlame([status("a", 503), status("b", 503)])).toBe(false); // busy is not the request's doing
    expect(requestIsToBlame([status("a", 429), status("b", 429)])).toBe(false);
    expect(requestIsToBlame([bad("a", "invalid JSON"), bad("b", "malformed answer")])).toBe(false);
    expect(requestIsToBlame([])).toBe(false);
  });
});
