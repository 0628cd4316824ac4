/**
 * OpenAI Responses request -> chat-completions request body for the miners.
 *
 * - `instructions` -> a leading system message; `input` as a string -> one user message.
 * - input items: `message` (roles user/system/developer/assistant; developer becomes system,
 *   which every chat template knows; parts input_text/output_text/refusal -> text, input_image
 *   with a URL -> image_url), `function_call` -> the assistant's tool_calls (consecutive calls and
 *   a preceding assistant message merge into one assistant turn), `function_call_output` -> a tool
 *   message, `reasoning` -> reasoning_content of the next assistant turn.
 * - `tools`: function tools map 1:1. Other types (namespace, web_search, file_search, custom,
 *   local_shell, mcp…) are hosted or grammar tools a chat-completions miner cannot run: they are
 *   dropped with a log rather than refused, so Codex, which always sends some, keeps working.
 * - tool_choice, parallel_tool_calls, max_output_tokens -> max_tokens, temperature, top_p,
 *   text.format -> response_format, user / safety_identifier -> user.
 * - Accepted and not forwarded: reasoning (effort), store, include, prompt_cache_key (used for
 *   session affinity), metadata, truncation, service_tier.
 * - `previous_response_id` and `conversation` need stored responses: this gateway stores none,
 *   so they are refused with a 400 that says to send the whole conversation in `input`.
 */
import { invalidRequest } from "../../errors";
import type { JsonObject } from "../../lib/json";
import { RESPONSES_BODY } from "../../validation/bodies/responses";
import { parseBody } from "../../validation/check";
import { fail, isObject, optionalObject, optionalString, requiredString } from "../../validation/fields";

export interface ResponsesTranslation {
  model: string;
  stream: boolean;
  chat: JsonObject;
  /** What the response object echoes back from the request. */
  echo: RequestEcho;
  droppedTools: string[];
}

export interface RequestEcho {
  instructions: string | null;
  maxOutputTokens: number | null;
  parallelToolCalls: boolean;
  reasoning: unknown;
  temperature: number | null;
  topP: number | null;
  text: unknown;
  toolChoice: unknown;
  tools: unknown[];
  user: string | null;
  metadata: Record<string, unknown>;
}

type ChatPart = { type: "text"; text: string } | { type: "image_url"; image_url: { url: string; detail?: string } };
type ChatMessage = Record<string, unknown>;

export function responsesToChat(body: JsonObject): ResponsesTranslation {
  // The fields and the shape of `input`, by the body's one definition (also what /openapi.json says).
  const b = parseBody(RESPONSES_BODY, body);
  const model = b.model;
  if (body.background === true) throw invalidRequest("'background' responses are not supported: they need stored responses.", "background", "unsupported_parameter");
  const stream = b.stream ?? false;

  const messages: ChatMessage[] = [];
  const instructions = b.instructions ?? null;
  if (instructions) messages.push({ role: "system", content: instructions });
  if (typeof b.input === "string") messages.push({ role: "user", content: b.input });
  else translateItems(b.input, messages);
  // Items can all translate to nothing (reasoning only).
  if (messages.length === 0) throw invalidRequest("'input' must contain at least one item.", "input", "invalid_value");

  const chat: JsonObject = { model, messages, stream };
  if (stream) chat.stream_options = { include_usage: true };
  const maxOutputTokens = b.max_output_tokens ?? null;
  if (maxOutputTokens !== null) chat.max_tokens = maxOutputTokens;
  const temperature = b.temperature ?? null;
  if (temperature !== null) chat.temperature = temperature;
  const topP = b.top_p ?? null;
  if (topP !== null) chat.top_p = topP;
  const user = b.user ?? b.safety_identifier ?? null;
  if (user) chat.user = user;
  const parallel = b.parallel_tool_calls ?? undefined;
  const format = responseFormat(b.text?.format);
  if (format) chat.response_format = format;

  const droppedTools: string[] = [];
  const { chatTools, echoTools } = translateTools(body.tools, droppedTools);
  if (chatTools.length > 0) {
    chat.tools = chatTools;
    const choice = translateToolChoice(body.tool_choice);
    if (choice !== undefined) chat.tool_choice = choice;
    if (parallel !== undefined) chat.parallel_tool_calls = parallel;
  }

  const metadata = b.metadata ?? {};
  return {
    model,
    stream,
    chat,
    droppedTools,
    echo: {
      instructions,
      maxOutputTokens,
      parallelToolCalls: parallel ?? true,
      reasoning: body.reasoning ?? { effort: null, summary: null },
      temperature,
      topP,
      text: body.text ?? { format: { type: "text" } },
      toolChoice: body.tool_choice ?? "auto",
      tools: echoTools,
      user,
      metadata,
    },
  };
}

function translateItems(items: unknown[], out: ChatMessage[]): void {
  let pendingReasoning: string[] = [];
  /** The assistant turn function calls may still join (none once anything else intervenes). */
  let openAssistant: ChatMessage | null = null;

  const assistantTurn = (): ChatMessage => {
    if (openAssistant) return openAssistant;
    const msg: ChatMessage = { role: "assistant", content: null };
    if (pendingReasoning.length > 0) msg.reasoning_content = pendingReasoning.join("\n");
    pendingReasoning = [];
    out.push(msg);
    openAssistant = msg;
    return msg;
  };

  items.forEach((raw, i) => {
    const p = `input[${i}]`;
    if (!isObject(raw)) fail(p, "an input item object", raw);
    const type = raw.type ?? (raw.role !== undefined ? "message" : undefined);
    switch (type) {
      case "message": {
        const role = raw.role;
        if (role === "assistant") {
          const msg = assistantTurn();
          const text = assistantText(raw.content, `${p}.content`);
          msg.content = typeof msg.content === "string" ? msg.content + text : text;
          return;
        }
        if (role !== "user" && role !== "system" && role !== "developer") {
          throw invalidRequest(`'${p}.role' must be one of user, assistant, system, developer.`, `${p}.role`, "invalid_value");
        }
        openAssistant = null;
        pendingReasoning = [];
        out.push({ role: role === "developer" ? "system" : role, content: inputContent(raw.content, `${p}.content`) });
        return;
      }
      case "function_call": {
        const msg = assistantTurn();
        const calls: unknown[] = Array.isArray(msg.tool_calls) ? msg.tool_calls : [];
        calls.push({
          id: requiredString(raw, "call_id", `${p}.call_id`),
          type: "function",
          function: { name: requiredString(raw, "name", `${p}.name`), arguments: optionalString(raw, "arguments", `${p}.arguments`) ?? "{}" },
        });
        msg.tool_calls = calls;
        return;
      }
      case "function_call_output": {
        openAssistant = null;
        out.push({ role: "tool", tool_call_id: requiredString(raw, "call_id", `${p}.call_id`), content: outputText(raw.output, `${p}.output`) });
        return;
      }
      case "reasoning": {
        const text = reasoningText(raw);
        if (text !== "") pendingReasoning.push(text);
        return;
      }
      case "item_reference":
        throw invalidRequest(`'${p}': item references need stored responses, which this gateway does not keep. Send the item itself.`, p, "unsupported_parameter");
      default:
        throw invalidRequest(`'${p}.type' ${JSON.stringify(type)} is not supported; use message, function_call, function_call_output or reasoning items.`, `${p}.type`, "invalid_value");
    }
  });
}

function inputContent(v: unknown, param: string): string | ChatPart[] {
  if (typeof v === "string") return v;
  if (!Array.isArray(v)) fail(param, "a string or an array of content parts", v);
  const parts = v.map((raw, j) => inputPart(raw, `${param}[${j}]`));
  return parts.every((x) => x.type === "text") ? parts.map((x) => (x.type === "text" ? x.text : "")).join("") : parts;
}

function inputPart(raw: unknown, param: string): ChatPart {
  if (!isObject(raw) || typeof raw.type !== "string") fail(param, "a content part object with a 'type'", raw);
  switch (raw.type) {
    case "input_text":
    case "output_text":
    case "text":
      return { type: "text", text: requiredString(raw, "text", `${param}.text`) };
    case "refusal":
      return { type: "text", text: requiredString(raw, "refusal", `${param}.refusal`) };
    case "input_image": {
      const url = optionalString(raw, "image_url", `${param}.image_url`);
      if (!url) throw invalidRequest(`'${param}': images need an 'image_url' (uploaded files are not supported).`, `${param}.image_url`, "invalid_value");
      const detail = optionalString(raw, "detail", `${param}.detail`);
      return { type: "image_url", image_url: detail ? { url, detail } : { url } };
    }
    default:
      throw invalidRequest(`'${param}.type' '${raw.type}' is not supported; use input_text or input_image.`, `${param}.type`, "invalid_value");
  }
}

function assistantText(v: unknown, param: string): string {
  const content = inputContent(v, param);
  if (typeof content === "string") return content;
  throw invalidRequest(`'${param}': assistant messages carry text only.`, param, "invalid_value");
}

function outputText(v: unknown, param: string): string {
  if (typeof v === "string") return v;
  if (!Array.isArray(v)) fail(param, "a string or an array of content parts", v);
  return v.map((raw, j) => {
    const part = inputPart(raw, `${param}[${j}]`);
    return part.type === "text" ? part.text : "";
  }).join("");
}

function reasoningText(item: JsonObject): string {
  const texts: string[] = [];
  for (const key of ["content", "summary"] as const) {
    const v = item[key];
    if (!Array.isArray(v)) continue;
    for (const part of v) if (isObject(part) && typeof part.text === "string") texts.push(part.text);
    if (texts.length > 0) break; // full reasoning text when present, else its summary
  }
  return texts.join("\n");
}

function translateTools(v: unknown, dropped: string[]): { chatTools: unknown[]; echoTools: unknown[] } {
  if (v === undefined || v === null) return { chatTools: [], echoTools: [] };
  if (!Array.isArray(v)) fail("tools", "an array", v);
  const chatTools: unknown[] = [];
  const echoTools: unknown[] = [];
  v.forEach((t, i) => {
    if (!isObject(t)) fail(`tools[${i}]`, "an object", t);
    if (t.type !== "function") {
      dropped.push(typeof t.type === "string" ? t.type : "unknown");
      return;
    }
    const name = requiredString(t, "name", `tools[${i}].name`);
    const fn: JsonObject = { name, parameters: optionalObject(t, "parameters", `tools[${i}].parameters`) ?? { type: "object", properties: {} } };
    const description = optionalString(t, "description", `tools[${i}].description`);
    if (description) fn.description = description;
    chatTools.push({ type: "function", function: fn });
    echoTools.push(t);
  });
  return { chatTools, echoTools };
}

function translateToolChoice(v: unknown): unknown {
  if (v === undefined || v === null) return undefined;
  if (v === "auto" || v === "none" || v === "required") return v;
  if (!isObject(v)) throw invalidRequest("'tool_choice' must be auto, none, required or a tool choice object.", "tool_choice", "invalid_value");
  if (v.type === "function") return { type: "function", function: { name: requiredString(v, "name", "tool_choice.name") } };
  if (v.type === "allowed_tools") return v.mode === "required" ? "required" : "auto";
  // A hosted tool choice (web_search…): those tools were dropped, so let the model decide.
  return "auto";
}

/** `text.format` (checked by the body's definition) as chat's response_format. */
function responseFormat(format: { type: string; name?: string; schema?: JsonObject | null; [other: string]: unknown } | null | undefined): JsonObject | undefined {
  switch (format?.type) {
    case "json_object":
      return { type: "json_object" };
    case "json_schema": {
      const schema: JsonObject = { name: format.name ?? "", schema: format.schema ?? {} };
      if (typeof format.strict === "boolean") schema.strict = format.strict;
      return { type: "json_schema", json_schema: schema };
    }
    default:
      return undefined; // absent, or "text"
  }
}
