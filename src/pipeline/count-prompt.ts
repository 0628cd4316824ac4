/**
 * The gateway's own count of a request's prompt. The pipeline computes it once; budget,
 * admission, metering and the dialects' usage fallbacks all use that one number.
 */
import { countMessageTokens, countTokens } from "../lib/tokens";
import type { InferenceRequest } from "../validation/requests";

export function countPrompt(req: InferenceRequest): number {
  const b = req.body;
  switch (req.endpoint) {
    case "chat.completions":
      return countMessageTokens(b.messages);
    case "completions":
      return countTokens(textOf(b.prompt));
    case "embeddings":
      return countTokens(textOf(b.input));
  }
}

function textOf(v: unknown): string {
  if (typeof v === "string") return v;
  if (Array.isArray(v)) return v.filter((x): x is string => typeof x === "string").join("\n");
  return "";
}
