// The one token estimator shared by the gateway (its own count of what it relays) and the reference
// miner's built-in model (whose honest `usage` must equal the gateway's count exactly).
//
// It is a GPT-style pre-tokenizer, not a BPE: each piece counts as one token. Pieces, in priority order:
//   - English contractions: 's 't 'm 'd 'll 've 're
//   - one CJK ideograph / kana / hangul syllable (BPE spends >= 1 token on each; a run would undercount)
//   - an optional space + a run of other letters, at most 16 (long words/blobs are several BPE tokens)
//   - an optional space + 1-3 digits (numbers split like cl100k)
//   - an optional space + a run of other symbols, at most 8
//   - whitespace ending in line breaks, as one piece (like cl100k)
//   - a whitespace run, leaving its last space to the next word (`\s+(?!\S)`), or trailing whitespace
// Every character falls in exactly one class, so the pieces always join back to the input.
// Runtime-neutral (no node: imports); one regex pass, no per-piece allocation in countTokens.
import { isObject } from "./json";

const CJK = String.raw`\p{sc=Han}\p{sc=Hiragana}\p{sc=Katakana}\p{sc=Hangul}`;
const PIECE_SOURCE = [
  String.raw`'(?:[sdmtSDMT]|ll|ve|re|LL|VE|RE)`,
  `[${CJK}]`,
  String.raw` ?[^\P{L}${CJK}]{1,16}`,
  String.raw` ?\p{N}{1,3}`,
  String.raw` ?[^\s\p{L}\p{N}]{1,8}`,
  String.raw`\s*[\r\n]+`,
  String.raw`\s+(?!\S)`,
  String.raw`\s+`,
].join("|");

// Shared sticky-free global regex; safe because every use runs synchronously to completion
// and resets lastIndex first.
const PIECE_RE = new RegExp(PIECE_SOURCE, "gu");

/**
 * Fixed overhead per chat message, in tokens: OpenAI's chat format wraps each message in
 * role/separator tokens (~3-4 per message for cl100k models); 4 is used, plus the role string
 * itself is counted as text. Also `name` (if any) is counted as text.
 */
export const MESSAGE_OVERHEAD_TOKENS = 4;
/** Tokens that prime the assistant's reply (OpenAI adds 3 per request). */
export const REPLY_PRIMING_TOKENS = 3;

/** Splits text into pre-tokenizer pieces; `splitTokens(t).join("") === t` always. */
export function splitTokens(text: string): string[] {
  const out: string[] = [];
  PIECE_RE.lastIndex = 0;
  let last = 0;
  for (let m = PIECE_RE.exec(text); m !== null; m = PIECE_RE.exec(text)) {
    // Cannot happen with the classes above (they cover every code point); kept so the join
    // invariant holds even for lone surrogates or future edits to the pattern.
    if (m.index > last) out.push(text.slice(last, m.index));
    out.push(m[0]);
    last = PIECE_RE.lastIndex;
  }
  if (last < text.length) out.push(text.slice(last));
  return out;
}

/** Number of pieces `splitTokens` would return, without building the array. */
export function countTokens(text: string): number {
  if (text.length === 0) return 0;
  PIECE_RE.lastIndex = 0;
  let n = 0;
  let last = 0;
  for (let m = PIECE_RE.exec(text); m !== null; m = PIECE_RE.exec(text)) {
    if (m.index > last) n++;
    n++;
    last = PIECE_RE.lastIndex;
  }
  if (last < text.length) n++;
  return n;
}

function countText(v: unknown): number {
  return typeof v === "string" ? countTokens(v) : 0;
}

/** Content may be a string or an array of parts; only text parts carry countable text. */
function countContent(content: unknown): number {
  if (typeof content === "string") return countTokens(content);
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const part of content) {
    if (typeof part === "string") n += countTokens(part);
    else if (isObject(part)) n += countText(part.text) + countText(part.refusal);
  }
  return n;
}

function countToolCalls(toolCalls: unknown): number {
  if (!Array.isArray(toolCalls)) return 0;
  let n = 0;
  for (const call of toolCalls) {
    if (!isObject(call) || !isObject(call.function)) continue;
    n += countText(call.function.name) + countText(call.function.arguments);
  }
  return n;
}

/**
 * Prompt tokens of an OpenAI chat `messages` array: per message MESSAGE_OVERHEAD_TOKENS + role +
 * name + content text (string or text parts) + tool call names/arguments (+ legacy function_call),
 * then REPLY_PRIMING_TOKENS once. Images, audio and other non-text parts are not counted. Returns 0
 * for anything that is not an array (the caller validates shapes).
 */
export function countMessageTokens(messages: unknown): number {
  if (!Array.isArray(messages) || messages.length === 0) return 0;
  let n = REPLY_PRIMING_TOKENS;
  for (const msg of messages) {
    if (!isObject(msg)) continue;
    n += MESSAGE_OVERHEAD_TOKENS;
    n += countText(msg.role) + countText(msg.name);
    n += countContent(msg.content);
    n += countToolCalls(msg.tool_calls);
    if (isObject(msg.function_call)) n += countText(msg.function_call.name) + countText(msg.function_call.arguments);
  }
  return n;
}
