/**
 * The text a client receives in a miner's answer, for the gateway's own token count: message or
 * delta content, reasoning, tool-call names and arguments (chat), or `text` (completions).
 */
import type { Endpoint } from "../billing/usage-event";

import { isObject, type JsonObject } from "../lib/json";

function partText(v: unknown): string {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.map((p) => (isObject(p) && typeof p.text === "string" ? p.text : "")).join("");
  return "";
}

function messageText(m: unknown): string {
  if (!isObject(m)) return "";
  let out = partText(m.content);
  if (typeof m.reasoning_content === "string") out += m.reasoning_content;
  if (typeof m.reasoning === "string") out += m.reasoning;
  if (Array.isArray(m.tool_calls)) {
    for (const call of m.tool_calls) {
      if (!isObject(call) || !isObject(call.function)) continue;
      if (typeof call.function.name === "string") out += call.function.name;
      if (typeof call.function.arguments === "string") out += call.function.arguments;
    }
  }
  return out;
}

/** Text of every choice in a non-streamed answer or in one streamed chunk. */
export function answerText(endpoint: Endpoint, payload: JsonObject): string {
  const choices = payload.choices;
  if (!Array.isArray(choices)) return "";
  let out = "";
  for (const c of choices) {
    if (!isObject(c)) continue;
    if (endpoint === "completions") out += typeof c.text === "string" ? c.text : "";
    else out += messageText(c.delta ?? c.message);
  }
  return out;
}

/** Is this a well-formed answer for the endpoint? A malformed one is a miner failure. */
export function isWellFormedAnswer(endpoint: Endpoint, payload: unknown): payload is JsonObject {
  if (!isObject(payload)) return false;
  if (endpoint === "embeddings") return Array.isArray(payload.data);
  return Array.isArray(payload.choices);
}
