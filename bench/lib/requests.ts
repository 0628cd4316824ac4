/**
 * The bodies the benchmark sends: the same short prompt as OpenAI chat (also what `direct` and
 * Portkey get), Anthropic Messages and OpenAI Responses, with the same output cap, so every
 * endpoint asks the upstream for the same chat completion.
 */
const PROMPT = "Say something short about rivers.";

export interface Bodies {
  chat: string;
  messages: string;
  responses: string;
  stream: string;
}

export function requestBodies(model: string, maxTokens: number, streamModel: string, streamTokens: number): Bodies {
  return {
    chat: JSON.stringify({ model, messages: [{ role: "user", content: PROMPT }], max_tokens: maxTokens }),
    messages: JSON.stringify({ model, max_tokens: maxTokens, messages: [{ role: "user", content: PROMPT }] }),
    responses: JSON.stringify({ model, input: PROMPT, max_output_tokens: maxTokens, store: false }),
    stream: JSON.stringify({ model: streamModel, messages: [{ role: "user", content: PROMPT }], max_tokens: streamTokens, stream: true }),
  };
}
