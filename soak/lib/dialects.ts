/**
 * The five ways a client talks to the gateway, as the soak's client needs them: the request body,
 * the answer the reference miner's deterministic model must produce for it, and readers that
 * take a JSON answer or an event stream apart into its text and how it ended. A reader never
 * trusts shape: anything not in the dialect's form is reported as malformed.
 */
import { embed } from "../../miner/embeddings";
import { parseChatRequest, parseCompletionRequest } from "../../miner/requests";
import { answerChat, answerCompletion } from "../../miner/tiny-model";
import type { SseEvent } from "../../src/lib/sse";

export const DIALECTS = ["chat", "completions", "embeddings", "messages", "responses"] as const;
export type Dialect = (typeof DIALECTS)[number];

export const PATHS: Record<Dialect, string> = {
  chat: "/v1/chat/completions",
  completions: "/v1/completions",
  embeddings: "/v1/embeddings",
  messages: "/v1/messages",
  responses: "/v1/responses",
};

export const CHAT_MODEL = "demo/tiny-chat";
export const EMBED_MODEL = "demo/tiny-embed";
const EMBED_DIMENSIONS = 64;

export interface Ask {
  dialect: Dialect;
  model: string;
  prompt: string;
  maxTokens: number;
  stream: boolean;
}

export function requestBody(a: Ask): Record<string, unknown> {
  switch (a.dialect) {
    case "chat":
      return { model: a.model, messages: [{ role: "user", content: a.prompt }], max_tokens: a.maxTokens, stream: a.stream };
    case "completions":
      return { model: a.model, prompt: a.prompt, max_tokens: a.maxTokens, stream: a.stream };
    case "embeddings":
      return { model: a.model, input: a.prompt };
    case "messages":
      return { model: a.model, messages: [{ role: "user", content: a.prompt }], max_tokens: a.maxTokens, stream: a.stream };
    case "responses":
      return { model: a.model, input: a.prompt, max_output_tokens: a.maxTokens, stream: a.stream };
  }
}

/**
 * The whole text of the answer, from the same deterministic model the reference miners run (null
 * for embeddings, checked as vectors, and for models no reference miner serves). Messages and
 * Responses reach the miner as the same one-message chat.
 */
export function expectedText(a: Ask): string | null {
  if (a.model !== CHAT_MODEL) return null;
  if (a.dialect === "embeddings") return null;
  if (a.dialect === "completions") return answerCompletion(parseCompletionRequest({ model: a.model, prompt: a.prompt, max_tokens: a.maxTokens }), { garbage: false }).text;
  const answer = answerChat(parseChatRequest({ model: a.model, messages: [{ role: "user", content: a.prompt }], max_tokens: a.maxTokens }), { garbage: false });
  return answer.kind === "text" ? answer.text : null;
}

export function expectedEmbedding(prompt: string): Float32Array {
  return embed(prompt, EMBED_DIMENSIONS);
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

/** What a non-streamed answer held, or why it is malformed. */
export type JsonAnswer = { ok: true; text: string | null; vector: number[] | null } | { ok: false; detail: string };

export function readJsonAnswer(d: Dialect, body: unknown): JsonAnswer {
  const bad = (detail: string): JsonAnswer => ({ ok: false, detail });
  if (!isObj(body)) return bad("not a JSON object");
  switch (d) {
    case "chat": {
      const c = Array.isArray(body.choices) ? body.choices[0] : undefined;
      if (body.object !== "chat.completion" || !isObj(c) || !isObj(c.message) || typeof c.message.content !== "string") return bad("not a chat.completion");
      return { ok: true, text: c.message.content, vector: null };
    }
    case "completions": {
      const c = Array.isArray(body.choices) ? body.choices[0] : undefined;
      if (body.object !== "text_completion" || !isObj(c) || typeof c.text !== "string") return bad("not a text_completion");
      return { ok: true, text: c.text, vector: null };
    }
    case "embeddings": {
      const e = Array.isArray(body.data) ? body.data[0] : undefined;
      if (body.object !== "list" || !isObj(e) || !Array.isArray(e.embedding) || !e.embedding.every((x) => typeof x === "number")) return bad("not an embedding list");
      return { ok: true, text: null, vector: e.embedding as number[] };
    }
    case "messages": {
      if (body.type !== "message" || !Array.isArray(body.content)) return bad("not a message");
      const text = body.content.map((b: unknown) => (isObj(b) && b.type === "text" && typeof b.text === "string" ? b.text : "")).join("");
      return { ok: true, text, vector: null };
    }
    case "responses": {
      if (body.object !== "response" || !Array.isArray(body.output)) return bad("not a response");
      if (body.status !== "completed" && body.status !== "incomplete") return bad(`response status ${String(body.status)}`);
      let text = "";
      for (const item of body.output) {
        if (!isObj(item) || item.type !== "message" || !Array.isArray(item.content)) continue;
        for (const part of item.content) if (isObj(part) && part.type === "output_text" && typeof part.text === "string") text += part.text;
      }
      return { ok: true, text, vector: null };
    }
  }
}

/** How a stream ended: its dialect's end, its dialect's error event, or neither (yet). */
export type StreamEnd = "done" | "error" | null;

/** Reads one dialect's event stream: the text so far, how it ended, and the first thing wrong with it. */
export class StreamReader {
  text = "";
  /** Events that carried answer text. */
  contentEvents = 0;
  end: StreamEnd = null;
  malformed: string | null = null;
  /** A chunk said finish_reason "error" (relayed as the miner sent it where it cannot be continued). */
  private finishedInError = false;

  constructor(private readonly dialect: Dialect) {}

  push(events: readonly SseEvent[]): void {
    for (const ev of events) {
      if (this.malformed) return;
      if (this.end !== null) {
        this.malformed = `an event after the stream ended: ${ev.event} ${ev.data.slice(0, 80)}`;
        return;
      }
      this.one(ev);
    }
  }

  private one(ev: SseEvent): void {
    let data: unknown;
    if (this.dialect === "chat" || this.dialect === "completions") {
      if (ev.data === "[DONE]") {
        this.end = this.finishedInError ? "error" : "done";
        return;
      }
      data = parse(ev.data);
      if (!isObj(data)) return void (this.malformed = `not JSON: ${ev.data.slice(0, 80)}`);
      if (isObj(data.error)) return void (this.end = "error");
      if (!Array.isArray(data.choices)) return void (this.malformed = "a chunk without choices");
      const c = data.choices[0];
      if (isObj(c) && c.finish_reason === "error") this.finishedInError = true;
      const piece = isObj(c) ? (this.dialect === "chat" ? (isObj(c.delta) ? c.delta.content : undefined) : c.text) : undefined;
      this.add(piece);
      return;
    }
    data = parse(ev.data);
    if (!isObj(data)) return void (this.malformed = `not JSON: ${ev.event} ${ev.data.slice(0, 80)}`);
    if (data.type !== ev.event) return void (this.malformed = `event ${ev.event} carries type ${String(data.type)}`);
    if (this.dialect === "messages") {
      if (ev.event === "message_stop") this.end = "done";
      else if (ev.event === "error") this.end = "error";
      else if (ev.event === "content_block_delta" && isObj(data.delta) && data.delta.type === "text_delta") this.add(data.delta.text);
      return;
    }
    // responses
    if (ev.event === "response.completed") this.end = "done";
    else if (ev.event === "response.failed" || ev.event === "error") this.end = "error";
    else if (ev.event === "response.output_text.delta") this.add(data.delta);
  }

  private add(piece: unknown): void {
    if (typeof piece !== "string" || piece === "") return;
    this.text += piece;
    this.contentEvents++;
  }
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
