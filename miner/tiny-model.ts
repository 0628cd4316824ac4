// The built-in "model": deterministic, instant, and honest about tokens. Its tokens are the
// pieces of the shared estimator (src/lib/tokens.ts), so usage equals what the gateway counts.
// Known answers let canary probes check correctness: "Repeat exactly: X" -> X, "What is A+B?" -> A+B.
import { countTokens, splitTokens } from "../src/lib/tokens";
import { rngFromText, sha256Hex, type Rng } from "./prng";
import type { ChatMessage, ChatRequest, CompletionRequest, ToolDef } from "./requests";
import { sampleFromSchema } from "./schema-sample";

export type FinishReason = "stop" | "length" | "tool_calls";
export type TextAnswer = { kind: "text"; text: string; pieces: string[]; finishReason: "stop" | "length" };
export type ToolCallAnswer = {
  kind: "tool_call";
  id: string;
  name: string;
  arguments: string;
  argPieces: string[];
  finishReason: "tool_calls" | "length";
};
export type Answer = TextAnswer | ToolCallAnswer;
export type ModelKnobs = { garbage: boolean };

// prettier-ignore
export const WORDS: readonly string[] = [
  "the", "a", "model", "answer", "question", "network", "miner", "token", "signal", "value", "river", "stone",
  "light", "quiet", "simple", "bright", "green", "system", "small", "large", "open", "careful", "reason", "time",
  "place", "idea", "story", "garden", "window", "morning", "evening", "paper", "number", "letter", "bridge", "cloud",
  "field", "friend", "plan", "road", "house", "music", "water", "forest", "city", "engine", "vector", "pattern",
  "is", "was", "can", "will", "makes", "finds", "keeps", "shows", "brings", "holds", "moves", "turns", "grows", "helps",
  "and", "but", "with", "from", "into", "over", "under", "near", "about", "through", "because", "while", "then", "often",
];
const MIN_TOKENS = 16;
const MAX_TOKENS = 48;

/** Text of a message's content: a string or the text parts of an array. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((p: unknown) => (typeof p === "object" && p !== null && "text" in p && typeof p.text === "string" ? p.text : ""))
    .join("");
}

/** English-ish filler of exactly `tokens` pieces: words, commas, capitalised sentences, final period. */
export function babble(rng: Rng, tokens: number): string {
  const out: string[] = [];
  let sinceStop = 0;
  let capitalise = true;
  while (out.length < tokens - 1) {
    const word = rng.pick(WORDS);
    const w = capitalise ? word[0]?.toUpperCase() + word.slice(1) : word;
    out.push(out.length === 0 ? w : ` ${w}`);
    capitalise = false;
    sinceStop++;
    if (out.length < tokens - 2 && sinceStop >= 5 && rng.next() < 0.25) {
      const end = rng.next() < 0.6;
      out.push(end ? "." : ",");
      capitalise = end;
      sinceStop = 0;
    }
  }
  out.push(".");
  return out.join("");
}

/** Applies stop sequences and the token cap the way a sampler would see them. */
export function limitText(full: string, maxTokens: number | undefined, stops: readonly string[]): TextAnswer {
  let pieces = splitTokens(full);
  let truncated = false;
  if (maxTokens !== undefined && pieces.length > maxTokens) {
    pieces = pieces.slice(0, maxTokens);
    truncated = true;
  }
  let text = pieces.join("");
  // A stop string only counts if it was fully generated within the cap; output ends before it.
  let cut = -1;
  for (const s of stops) {
    const at = text.indexOf(s);
    if (at >= 0 && (cut < 0 || at < cut)) cut = at;
  }
  if (cut >= 0) {
    text = text.slice(0, cut);
    truncated = false;
  }
  // Re-split the final text so streamed pieces and usage are exactly splitTokens(text).
  return { kind: "text", text, pieces: splitTokens(text), finishReason: truncated ? "length" : "stop" };
}

const REPEAT_RE = /^\s*Repeat exactly:[ \t]?([\s\S]*)$/;
const SUM_RE = /^\s*What is\s+(-?\d{1,12})\s*\+\s*(-?\d{1,12})\s*\?\s*$/i;

/** Known-answer prompts (canaries). Garbage mode answers them wrongly on purpose. */
function knownAnswer(prompt: string, rng: Rng, knobs: ModelKnobs): string | undefined {
  const repeat = REPEAT_RE.exec(prompt);
  if (repeat) return knobs.garbage ? babble(rng, 8) : (repeat[1] ?? "");
  const sum = SUM_RE.exec(prompt);
  if (sum) {
    const value = Number(sum[1]) + Number(sum[2]);
    return String(knobs.garbage ? value + 1 + rng.int(9) : value);
  }
  return undefined;
}

function freeText(rng: Rng): string {
  return babble(rng, MIN_TOKENS + rng.int(MAX_TOKENS - MIN_TOKENS + 1));
}

function lastUserText(messages: readonly ChatMessage[]): string | undefined {
  const last = messages.at(-1);
  return last?.role === "user" ? contentText(last.content) : undefined;
}

/** Whole-identifier match, so a tool called "get" is not triggered by "forget". */
function mentions(text: string, name: string): boolean {
  let at = text.indexOf(name);
  while (at >= 0) {
    const before = text[at - 1];
    const after = text[at + name.length];
    if (!(before && /[\w-]/.test(before)) && !(after && /[\w-]/.test(after))) return true;
    at = text.indexOf(name, at + 1);
  }
  return false;
}

function chooseTool(req: ChatRequest): ToolDef | undefined {
  const choice = req.toolChoice;
  if (req.tools.length === 0 || choice.mode === "none") return undefined;
  if (choice.mode === "named") return req.tools.find((t) => t.name === choice.name);
  const userText = lastUserText(req.messages);
  const mentioned = userText === undefined ? undefined : req.tools.find((t) => mentions(userText, t.name));
  if (choice.mode === "required") return mentioned ?? req.tools[0];
  return mentioned; // auto: call only when the user's last message names the function
}

function toolCall(req: ChatRequest, tool: ToolDef, seedText: string, rng: Rng): ToolCallAnswer {
  const full = JSON.stringify(sampleFromSchema(tool.parameters, rng, WORDS));
  let argPieces = splitTokens(full);
  const truncated = req.maxTokens !== undefined && argPieces.length > req.maxTokens;
  if (truncated) argPieces = argPieces.slice(0, req.maxTokens);
  const args = argPieces.join("");
  return {
    kind: "tool_call",
    id: `call_${sha256Hex(`${seedText}\u0000${tool.name}`).slice(0, 24)}`,
    name: tool.name,
    arguments: args,
    argPieces: splitTokens(args),
    finishReason: truncated ? "length" : "tool_calls",
  };
}

function chatText(req: ChatRequest, rng: Rng, knobs: ModelKnobs): string {
  const last = req.messages.at(-1);
  if (last?.role === "tool") return `The tool returned: ${contentText(last.content)}`;
  if (req.responseFormat.type === "json_object") return JSON.stringify({ answer: babble(rng, 6).slice(0, -1), confidence: 42 });
  if (req.responseFormat.type === "json_schema") return JSON.stringify(sampleFromSchema(req.responseFormat.schema, rng, WORDS));
  const prompt = lastUserText(req.messages);
  return (prompt !== undefined ? knownAnswer(prompt, rng, knobs) : undefined) ?? freeText(rng);
}

export function answerChat(req: ChatRequest, knobs: ModelKnobs): Answer {
  if (req.continueFinalMessage) return continueChat(req, knobs);
  // Same request (and seed) -> same answer; anything else in the body (temperature...) is ignored.
  const seedText = JSON.stringify([req.model, req.messages, req.tools, req.seed ?? null]);
  const rng = rngFromText(seedText);
  const tool = chooseTool(req);
  if (tool) return toolCall(req, tool, seedText, rng);
  return limitText(chatText(req, rng, knobs), req.maxTokens, req.stop);
}

/**
 * Continuation (`continue_final_message`): the answer to the conversation before the partial
 * assistant message, from where that message ends. Deterministic, so a stream broken on one miner
 * and continued on another gives exactly the text an unbroken stream gives. A partial message
 * that is not the start of this model's answer (another model wrote it) is taken as complete:
 * the continuation is empty. Continuing a tool call is not offered (the gateway never asks).
 */
function continueChat(req: ChatRequest, knobs: ModelKnobs): TextAnswer {
  const partial = contentText(req.messages.at(-1)?.content);
  const base: ChatRequest = { ...req, messages: req.messages.slice(0, -1), continueFinalMessage: false };
  const rng = rngFromText(JSON.stringify([base.model, base.messages, base.tools, base.seed ?? null]));
  const full = chatText(base, rng, knobs);
  return limitText(full.startsWith(partial) ? full.slice(partial.length) : "", req.maxTokens, req.stop);
}

export function answerCompletion(req: CompletionRequest, knobs: ModelKnobs): TextAnswer {
  const rng = rngFromText(JSON.stringify([req.model, req.prompt, req.seed ?? null]));
  return limitText(knownAnswer(req.prompt, rng, knobs) ?? freeText(rng), req.maxTokens, req.stop);
}

/** Completion tokens of an answer: text pieces, or tool name + argument pieces. */
export function completionTokens(a: Answer): number {
  return a.kind === "text" ? a.pieces.length : countTokens(a.name) + a.argPieces.length;
}

/** Number of streamed units (for pacing): text pieces, or argument fragments of a tool call. */
export function streamUnits(a: Answer): number {
  return a.kind === "text" ? a.pieces.length : a.argPieces.length;
}
