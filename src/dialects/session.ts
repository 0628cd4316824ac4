/**
 * The session affinity key: turns of one conversation share it, so routing can send them to the
 * miner that served the previous turn and reuse its KV cache.
 *
 * Sources, first found wins:
 *  1. a session header the client sends: `x-session-affinity`, `x-session-id` (OpenCode),
 *     `session-id` (Codex), `x-claude-code-session-id` (Claude Code);
 *  2. `prompt_cache_key` in the body (Codex, OpenAI clients);
 *  3. a hash of the conversation's opening: its leading system/developer messages and first user
 *     message, which stay byte-identical as an agent's conversation grows. Only conversations
 *     that open with a system prompt count (every agent sends one): identical one-shot prompts
 *     without one are not a session and keep spreading over miners.
 * The key is hashed together with the subscriber, so two callers' sessions never share a key and
 * client-chosen values are not exposed to routing as they are.
 */
import { sha256Hex } from "../lib/crypto";
import { isObject } from "../lib/json";

export const SESSION_HEADERS = ["x-session-affinity", "x-session-id", "session-id", "x-claude-code-session-id"] as const;

/** A client-sent identifier is used only when it looks like one (not empty, not huge). */
const usable = (v: string | null | undefined): v is string => typeof v === "string" && v.trim() !== "" && v.length <= 512;

export type AffinitySource = { kind: "header" | "prompt_cache_key" | "prefix"; value: string };

/** Where this request's session identity comes from, or null when it has none. */
export function affinitySource(headers: Headers, body: Record<string, unknown>, chatMessages: unknown): AffinitySource | null {
  for (const name of SESSION_HEADERS) {
    const v = headers.get(name);
    if (usable(v)) return { kind: "header", value: v.trim() };
  }
  const cacheKey = body.prompt_cache_key;
  if (typeof cacheKey === "string" && usable(cacheKey)) return { kind: "prompt_cache_key", value: cacheKey };
  const prefix = conversationPrefix(chatMessages);
  return prefix === null ? null : { kind: "prefix", value: prefix };
}

/** Leading system/developer messages plus the first user message, serialised; null without both. */
export function conversationPrefix(messages: unknown): string | null {
  if (!Array.isArray(messages)) return null;
  const head: unknown[] = [];
  for (const m of messages) {
    if (!isObject(m)) return null;
    if (m.role === "user") return head.length === 0 ? null : JSON.stringify([...head, [m.role, m.content]]);
    if (m.role !== "system" && m.role !== "developer") return null;
    head.push([m.role, m.content]);
  }
  return null;
}

export async function affinityKey(subscriberId: string, source: AffinitySource | null): Promise<string | undefined> {
  if (source === null) return undefined;
  const hex = await sha256Hex(`${subscriberId}\u0000${source.kind}\u0000${source.value}`);
  return `aff_${hex.slice(0, 32)}`;
}
