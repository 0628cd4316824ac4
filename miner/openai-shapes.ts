// OpenAI wire shapes for chat.completion(.chunk) and text_completion, built from a model Answer.
import type { Answer, TextAnswer } from "./tiny-model";
import type { StreamPlan } from "./sse";

export type Usage = { prompt_tokens: number; completion_tokens: number; total_tokens: number };

export function usage(promptTokens: number, completionTokens: number, factor: number): Usage {
  // overReport knob: a dishonest miner inflates both numbers; 1 keeps them exact.
  const p = Math.round(promptTokens * factor);
  const c = Math.round(completionTokens * factor);
  return { prompt_tokens: p, completion_tokens: c, total_tokens: p + c };
}

type Meta = { id: string; created: number; model: string };
const FINGERPRINT = "fp_tiny_miner";

function toolCallMessage(a: Extract<Answer, { kind: "tool_call" }>) {
  return [{ id: a.id, type: "function" as const, function: { name: a.name, arguments: a.arguments } }];
}

export function chatCompletion(meta: Meta, a: Answer, u: Usage) {
  const message =
    a.kind === "text"
      ? { role: "assistant" as const, content: a.text, refusal: null }
      : { role: "assistant" as const, content: null, refusal: null, tool_calls: toolCallMessage(a) };
  return {
    id: meta.id,
    object: "chat.completion" as const,
    created: meta.created,
    model: meta.model,
    system_fingerprint: FINGERPRINT,
    choices: [{ index: 0, message, logprobs: null, finish_reason: a.finishReason }],
    usage: u,
  };
}

export function chatStreamPlan(meta: Meta, a: Answer, u: Usage, includeUsage: boolean): StreamPlan {
  // With include_usage, OpenAI puts `usage: null` on every chunk and the numbers on a last one.
  const extra = includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => ({
    id: meta.id,
    object: "chat.completion.chunk" as const,
    created: meta.created,
    model: meta.model,
    system_fingerprint: FINGERPRINT,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }],
    ...extra,
  });
  let head: unknown[];
  let units: unknown[];
  if (a.kind === "text") {
    head = [chunk({ role: "assistant", content: "", refusal: null })];
    units = a.pieces.map((p) => chunk({ content: p }));
  } else {
    // As OpenAI: the first tool delta carries index, id, type, name and empty arguments,
    // later deltas carry only argument fragments.
    head = [
      chunk({
        role: "assistant",
        content: null,
        tool_calls: [{ index: 0, id: a.id, type: "function", function: { name: a.name, arguments: "" } }],
      }),
    ];
    units = a.argPieces.map((p) => chunk({ tool_calls: [{ index: 0, function: { arguments: p } }] }));
  }
  const tail: unknown[] = [chunk({}, a.finishReason)];
  if (includeUsage) {
    tail.push({ id: meta.id, object: "chat.completion.chunk", created: meta.created, model: meta.model, system_fingerprint: FINGERPRINT, choices: [], usage: u });
  }
  return { head, units, tail, errorFinish: chunk({}, "error") };
}

export function textCompletion(meta: Meta, a: TextAnswer, u: Usage) {
  return {
    id: meta.id,
    object: "text_completion" as const,
    created: meta.created,
    model: meta.model,
    system_fingerprint: FINGERPRINT,
    choices: [{ text: a.text, index: 0, logprobs: null, finish_reason: a.finishReason }],
    usage: u,
  };
}

export function completionStreamPlan(meta: Meta, a: TextAnswer, u: Usage, includeUsage: boolean): StreamPlan {
  const extra = includeUsage ? { usage: null } : {};
  const chunk = (text: string, finish: string | null = null) => ({
    id: meta.id,
    object: "text_completion" as const,
    created: meta.created,
    model: meta.model,
    system_fingerprint: FINGERPRINT,
    choices: [{ text, index: 0, logprobs: null, finish_reason: finish }],
    ...extra,
  });
  const tail: unknown[] = [chunk("", a.finishReason)];
  if (includeUsage) {
    tail.push({ id: meta.id, object: "text_completion", created: meta.created, model: meta.model, system_fingerprint: FINGERPRINT, choices: [], usage: u });
  }
  return { head: [], units: a.pieces.map((p) => chunk(p)), tail, errorFinish: chunk("", "error") };
}
