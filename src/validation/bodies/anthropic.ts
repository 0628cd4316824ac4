/**
 * Anthropic's Messages body (POST /v1/messages and /v1/messages/count_tokens): the fields and the
 * message envelope (role, content) as one definition, validated with Anthropic's wording and
 * `messages.0.content`-style params. Content blocks inside `content`, `system` blocks, tools and
 * tool_choice are read and checked by the translator as it converts them
 * (src/dialects/anthropic/request.ts): their rules are in the descriptions below.
 */
import { anyJson, arr, bool, int, num, obj, oneOf, opt, req, str } from "../schema";
import { MAX_OUTPUT_TOKENS } from "./openai";

const fieldRequired = (p: string) => `${p}: Field required.`;

const message = obj({
  role: req(
    str({
      enum: ["user", "assistant", "system"],
      refused: { message: (p, v) => `${p}: Input should be 'user' or 'assistant', got ${JSON.stringify(v)}.`, code: "invalid_value" },
      description: "user or assistant; a system entry is folded into the leading system prompt.",
    }),
    { missing: "refused" },
  ),
  content: req(
    oneOf([str(), arr(anyJson())], {
      expected: "a string or an array of content blocks",
      description:
        "A string or content blocks, each an object with a 'type': user turns text, image (source base64 or url), document (text source), tool_result; assistant turns text, thinking, redacted_thinking, tool_use.",
    }),
    { missing: fieldRequired },
  ),
});

export const MESSAGES_BODY = obj(
  {
    model: req(str({ nonEmpty: true, description: "Any id from GET /v1/models." })),
    stream: opt(bool()),
    max_tokens: opt(int(1, MAX_OUTPUT_TOKENS, { description: "Optional here: the plan's budget applies." })),
    messages: req(arr(message, { minItems: 1, invalid: () => "messages: at least one message is required." }), { missing: fieldRequired }),
    system: opt(oneOf([str(), arr(anyJson())], { expected: "a string or an array of text blocks", description: "A string or text blocks ({type:'text', text})." })),
    stop_sequences: opt(arr(str(), { expected: "an array of strings", description: "At most 4 non-empty sequences (what the miners support)." })),
    temperature: opt(num(0, 2)),
    top_p: opt(num(0, 1)),
    metadata: opt(obj({ user_id: opt(str()) })),
    tools: opt(arr(anyJson(), { description: "Custom tools ({name, input_schema?, description?}); Anthropic's typed server tools are dropped." })),
    tool_choice: opt(anyJson({ description: "{type: auto | any | tool (with name) | none, disable_parallel_tool_use?}; read when tools are given." })),
    thinking: opt(obj({})),
  },
  { description: "Anthropic Messages API. max_tokens is optional here (the plan's budget applies)." },
);
