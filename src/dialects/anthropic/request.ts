/**
 * Anthropic Messages request -> chat-completions request body for the miners.
 *
 * What maps where:
 * - `system` (string or text blocks, `cache_control` ignored) -> the leading system message. A
 *   `role:"system"` entry inside `messages` (Claude Code sends one after the first user turn for
 *   model names it does not know) is folded into that leading system message: Anthropic has no
 *   such role, many chat templates refuse a system message past the start, and folding spares
 *   Claude Code the documented 400-and-retry round trip.
 * - user blocks: text -> text part, image (base64 or url) -> image_url part, a text `document` ->
 *   text, `tool_result` -> a `tool` message (placed before the user's other content, as chat
 *   completions require tool answers right after the assistant's calls; `is_error` prefixes "Error: ").
 * - assistant blocks: text -> content, tool_use -> tool_calls, thinking -> reasoning_content,
 *   redacted_thinking dropped (miners cannot read Anthropic's encrypted reasoning).
 * - tools (custom ones) -> function tools; Anthropic's server tools (web_search, code execution,
 *   versioned bash/editor types) have no chat-completions equivalent and are dropped with a log.
 * - tool_choice auto/any/tool/none -> auto/required/function/none; disable_parallel_tool_use ->
 *   parallel_tool_calls:false. stop_sequences -> stop (at most 4), max_tokens, temperature,
 *   top_p pass; top_k is dropped; metadata.user_id -> user.
 * Everything else (betas, thinking, context_management, output_config, service_tier…) is
 * accepted and not forwarded: it means nothing to a chat-completions miner.
 */
import { invalidRequest } from "../../errors";
import type { JsonObject } from "../../lib/json";
import { MESSAGES_BODY } from "../../validation/bodies/anthropic";
import { parseBody } from "../../validation/check";
import { fail, isObject, optionalObject, optionalString, requiredString } from "../../validation/fields";

export interface MessagesTranslation {
  model: string;
  stream: boolean;
  stopSequences: string[];
  /** `thinking: {type:"disabled"}`: the client asked not to see reasoning. */
  hideThinking: boolean;
  /** The chat-completions body (validated again by validateChat before relaying). */
  chat: JsonObject;
  /** Tools dropped because they have no function equivalent (for the log). */
  droppedTools: string[];
}

type ChatPart = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string } };
type ChatMessage = Record<string, unknown>;

const MAX_STOP_SEQUENCES = 4;

export function messagesToChat(body: JsonObject, { forCounting = false } = {}): MessagesTranslation {
  // The fields and the message envelope, by the body's one definition (also what /openapi.json says).
  const b = parseBody(MESSAGES_BODY, body, { indexStyle: "dots" });
  const model = b.model;
  const stream = b.stream ?? false;
  const maxTokens = b.max_tokens ?? undefined;
  const raw = b.messages;
  const turns: ChatMessage[] = [];
  const systems: string[] = [];
  const system = systemText(body.system, "system");
  if (system !== null) systems.push(system);
  raw.forEach((m, i) => {
    for (const msg of translateMessage(m, `messages.${i}`)) {
      if (msg.role === "system") {
        if (typeof msg.content === "string" && msg.content !== "") systems.push(msg.content);
      } else turns.push(msg);
    }
  });
  const messages: ChatMessage[] = systems.length > 0 ? [{ role: "system", content: systems.join("\n\n") }, ...turns] : turns;

  const chat: JsonObject = { model, messages };
  if (!forCounting) {
    chat.stream = stream;
    if (stream) chat.stream_options = { include_usage: true };
  }
  if (maxTokens !== undefined) chat.max_tokens = maxTokens;

  const stopSequences = readStopSequences(b.stop_sequences);
  if (stopSequences.length > 0) chat.stop = stopSequences;
  if (b.temperature != null) chat.temperature = b.temperature;
  if (b.top_p != null) chat.top_p = b.top_p;
  const user = b.metadata?.user_id;
  if (user) chat.user = user;

  const droppedTools: string[] = [];
  const tools = translateTools(body.tools, droppedTools);
  if (tools.length > 0) {
    chat.tools = tools;
    const choice = translateToolChoice(body.tool_choice, chat);
    if (choice !== undefined) chat.tool_choice = choice;
  }

  return { model, stream, stopSequences, hideThinking: b.thinking?.type === "disabled", chat, droppedTools };
}

/** `system`: a string or an array of text blocks; blocks are joined by blank lines. */
function systemText(v: unknown, param: string): string | null {
  if (v === undefined || v === null) return null;
  if (typeof v === "string") return v === "" ? null : v;
  if (!Array.isArray(v)) fail(param, "a string or an array of text blocks", v);
  const texts = v.map((b, i) => {
    if (!isObject(b) || b.type !== "text") throw invalidRequest(`${param}.${i}: only text blocks are allowed in system.`, `${param}.${i}`, "invalid_value");
    return requiredText(b, `${param}.${i}.text`);
  });
  const joined = texts.filter((t) => t !== "").join("\n\n");
  return joined === "" ? null : joined;
}

function requiredText(b: JsonObject, param: string): string {
  const t = b.text;
  if (typeof t !== "string") fail(param, "a string", t);
  return t;
}

/** One message whose envelope (role, content) the body's definition has checked; its blocks are checked here. */
function translateMessage(m: { role: string; content: string | unknown[] }, param: string): ChatMessage[] {
  const { role, content } = m;
  if (role === "system") return [{ role: "system", content: systemText(content, `${param}.content`) ?? "" }];
  if (typeof content === "string") return [{ role, content }];
  return role === "user" ? userMessages(content, param) : [assistantMessage(content, param)];
}

function blockType(b: unknown, param: string): { block: JsonObject; type: string } {
  if (!isObject(b) || typeof b.type !== "string") fail(param, "a content block object with a 'type'", b);
  return { block: b, type: b.type };
}

function userMessages(blocks: unknown[], param: string): ChatMessage[] {
  const toolMessages: ChatMessage[] = [];
  const parts: ChatPart[] = [];
  blocks.forEach((raw, j) => {
    const p = `${param}.content.${j}`;
    const { block, type } = blockType(raw, p);
    switch (type) {
      case "text":
        parts.push({ type: "text", text: requiredText(block, `${p}.text`) });
        return;
      case "image":
        parts.push(imagePart(block, p));
        return;
      case "document":
        parts.push({ type: "text", text: documentText(block, p) });
        return;
      case "tool_result": {
        const { text, images } = toolResultContent(block.content, `${p}.content`);
        const id = requiredString(block, "tool_use_id", `${p}.tool_use_id`);
        toolMessages.push({ role: "tool", tool_call_id: id, content: block.is_error === true ? `Error: ${text}` : text });
        // Chat tool messages carry text only; images a tool returned follow as user content.
        parts.push(...images);
        return;
      }
      default:
        throw invalidRequest(`${p}.type: '${type}' blocks are not supported in user messages.`, `${p}.type`, "invalid_value");
    }
  });
  if (parts.length === 0) return toolMessages;
  const onlyText = parts.every((x) => x.type === "text");
  const content = onlyText ? parts.map((x) => (x.type === "text" ? x.text : "")).join("\n") : parts;
  return [...toolMessages, { role: "user", content }];
}

function assistantMessage(blocks: unknown[], param: string): ChatMessage {
  const texts: string[] = [];
  const reasoning: string[] = [];
  const toolCalls: unknown[] = [];
  blocks.forEach((raw, j) => {
    const p = `${param}.content.${j}`;
    const { block, type } = blockType(raw, p);
    switch (type) {
      case "text":
        texts.push(requiredText(block, `${p}.text`));
        return;
      case "thinking":
        if (typeof block.thinking === "string" && block.thinking !== "") reasoning.push(block.thinking);
        return;
      case "redacted_thinking":
        return;
      case "tool_use": {
        const id = requiredString(block, "id", `${p}.id`);
        const name = requiredString(block, "name", `${p}.name`);
        toolCalls.push({ id, type: "function", function: { name, arguments: JSON.stringify(block.input ?? {}) } });
        return;
      }
      default:
        throw invalidRequest(`${p}.type: '${type}' blocks are not supported in assistant messages.`, `${p}.type`, "invalid_value");
    }
  });
  const msg: ChatMessage = { role: "assistant", content: texts.length > 0 ? texts.join("") : toolCalls.length > 0 ? null : "" };
  if (toolCalls.length > 0) msg.tool_calls = toolCalls;
  if (reasoning.length > 0) msg.reasoning_content = reasoning.join("\n");
  return msg;
}

function imagePart(block: JsonObject, param: string): ChatPart {
  const source = optionalObject(block, "source", `${param}.source`);
  if (!source) throw invalidRequest(`${param}.source: Field required.`, `${param}.source`, "missing_required_parameter");
  if (source.type === "base64") {
    const media = requiredString(source, "media_type", `${param}.source.media_type`);
    const data = requiredString(source, "data", `${param}.source.data`);
    return { type: "image_url", image_url: { url: `data:${media};base64,${data}` } };
  }
  if (source.type === "url") return { type: "image_url", image_url: { url: requiredString(source, "url", `${param}.source.url`) } };
  throw invalidRequest(`${param}.source.type: image sources must be 'base64' or 'url'.`, `${param}.source.type`, "invalid_value");
}

/** Plain-text documents become text; PDFs and files need a model that reads them, which miners do not promise. */
function documentText(block: JsonObject, param: string): string {
  const source = optionalObject(block, "source", `${param}.source`);
  if (source?.type === "text") return requiredString(source, "data", `${param}.source.data`);
  throw invalidRequest(`${param}: only documents with a 'text' source are supported.`, `${param}.source`, "invalid_value");
}

function toolResultContent(v: unknown, param: string): { text: string; images: ChatPart[] } {
  if (v === undefined || v === null) return { text: "", images: [] };
  if (typeof v === "string") return { text: v, images: [] };
  if (!Array.isArray(v)) fail(param, "a string or an array of content blocks", v);
  const texts: string[] = [];
  const images: ChatPart[] = [];
  v.forEach((raw, k) => {
    const { block, type } = blockType(raw, `${param}.${k}`);
    if (type === "text") texts.push(requiredText(block, `${param}.${k}.text`));
    else if (type === "image") images.push(imagePart(block, `${param}.${k}`));
    else if (type === "document") texts.push(documentText(block, `${param}.${k}`));
    else throw invalidRequest(`${param}.${k}.type: '${type}' is not supported in tool results.`, `${param}.${k}.type`, "invalid_value");
  });
  return { text: texts.join("\n"), images };
}

/** Non-empty stop sequences (types checked by the body's definition), at most what the miners support. */
function readStopSequences(v: readonly string[] | null | undefined): string[] {
  const stops = (v ?? []).filter((s) => s !== "");
  if (stops.length > MAX_STOP_SEQUENCES) {
    throw invalidRequest(`stop_sequences: at most ${MAX_STOP_SEQUENCES} are supported by the miners, got ${stops.length}.`, "stop_sequences", "invalid_value");
  }
  return stops;
}

function translateTools(v: unknown, dropped: string[]): unknown[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) fail("tools", "an array", v);
  const out: unknown[] = [];
  v.forEach((t, i) => {
    if (!isObject(t)) fail(`tools.${i}`, "an object", t);
    // Custom (client) tools have no type or type "custom"; typed ones are Anthropic's own tools.
    if (t.type !== undefined && t.type !== null && t.type !== "custom") {
      dropped.push(typeof t.type === "string" ? t.type : "unknown");
      return;
    }
    const name = requiredString(t, "name", `tools.${i}.name`);
    const fn: JsonObject = { name, parameters: optionalObject(t, "input_schema", `tools.${i}.input_schema`) ?? { type: "object", properties: {} } };
    const description = optionalString(t, "description", `tools.${i}.description`);
    if (description) fn.description = description;
    out.push({ type: "function", function: fn });
  });
  return out;
}

/** Returns the chat `tool_choice`; sets `parallel_tool_calls` on `chat` when the client disabled it. */
function translateToolChoice(v: unknown, chat: JsonObject): unknown {
  if (v === undefined || v === null) return undefined;
  if (!isObject(v)) fail("tool_choice", "an object", v);
  if (v.disable_parallel_tool_use === true) chat.parallel_tool_calls = false;
  switch (v.type) {
    case "auto":
      return "auto";
    case "any":
      return "required";
    case "none":
      return "none";
    case "tool":
      return { type: "function", function: { name: requiredString(v, "name", "tool_choice.name") } };
    default:
      throw invalidRequest("tool_choice.type: must be one of auto, any, tool, none.", "tool_choice.type", "invalid_value");
  }
}
