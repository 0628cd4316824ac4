/**
 * OpenAI's request bodies: chat completions, completions, embeddings. Only the fields the gateway
 * relies on, or that a miner would certainly refuse, are defined; every other field passes through
 * untouched. One definition each: the routes validate with it (src/validation/requests.ts) and the
 * OpenAPI document describes it (src/api-spec/).
 */
import { anyJson, arr, asTypeError, bool, constant, int, num, obj, oneOf, opt, optStrict, readWhen, req, reqWhen, str } from "../schema";

/** Inputs in one embeddings request (OpenAI's own limit). */
export const MAX_EMBEDDING_INPUTS = 2048;
/**
 * Largest `dimensions` asked of an embeddings model (OpenAI's largest model has 3072). With
 * MAX_EMBEDDING_INPUTS it bounds what a request can make a miner produce; the answer itself is
 * read under MINER_MAX_ANSWER_BYTES (base64 answers are about a quarter of the size of floats).
 */
export const MAX_EMBEDDING_DIMENSIONS = 4096;
/** Largest max_tokens-like value accepted (a plan's budget lowers it further). */
export const MAX_OUTPUT_TOKENS = 10_000_000;

export const CHAT_ROLES = ["system", "developer", "user", "assistant", "tool", "function"] as const;

const model = req(str({ nonEmpty: true, description: "Any id from GET /v1/models." }));

/** The sampling and length fields chat and text completions share, in the order they are checked. */
const generation = {
  stream: opt(bool()),
  stream_options: opt(obj({ include_usage: opt(bool()) })),
  max_tokens: opt(int(1, MAX_OUTPUT_TOKENS)),
  max_completion_tokens: opt(int(1, MAX_OUTPUT_TOKENS)),
  temperature: opt(num(0, 2)),
  top_p: opt(num(0, 1)),
  presence_penalty: opt(num(-2, 2)),
  frequency_penalty: opt(num(-2, 2)),
  seed: opt(int(Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)),
  n: opt(int(1, 128)),
  user: opt(str()),
  stop: opt(
    oneOf([str(), arr(str(), { maxItems: 4, invalid: () => "'stop' may hold at most 4 sequences." })], {
      expected: "a string or an array of strings",
    }),
  ),
};

const contentPart = obj({ type: req(str()) }, { reportOwnFieldsAsSelf: true, expected: "a content part object with a 'type'" });

/** An assistant turn that calls tools may leave its content out. */
const callsTools = (m: Readonly<Record<string, unknown>>) => m.role === "assistant" && (m.tool_calls !== undefined || m.function_call !== undefined);

const chatMessage = obj({
  role: req(str({ enum: CHAT_ROLES, invalid: (p, v) => `'${p}' must be one of ${CHAT_ROLES.join(", ")}, got '${String(v)}'.` }), { missing: "type" }),
  content: {
    ...reqWhen(oneOf([str(), arr(contentPart)], { expected: "a string or an array of content parts" }), (m) => !callsTools(m), "unless the message is an assistant's that has tool_calls or function_call"),
    nullIsAbsent: true,
  },
  tool_call_id: readWhen(req(str(), { missing: "type" }), (m) => m.role === "tool", "only when role is tool"),
  tool_calls: optStrict(arr(anyJson())),
});

const chatTool = obj({
  type: req(constant("function", { refused: { message: (p) => `'${p}' must be 'function'.` } }), { missing: "refused" }),
  function: req(obj({ name: req(str({ nonEmpty: true })) }), { missing: "type" }),
});

export const CHAT_BODY = obj({
  model,
  messages: req(arr(chatMessage, { minItems: 1, invalid: () => "'messages' must contain at least one message." })),
  tools: opt(arr(chatTool)),
  tool_choice: opt(
    oneOf(
      [
        str({ enum: ["none", "auto", "required"], invalid: () => "'tool_choice' must be none, auto, required or a function choice." }),
        obj({ function: req(obj({ name: req(str({ nonEmpty: true })) })) }, { reportOwnFieldsAsSelf: true, expected: "a string or {type:'function', function:{name}}" }),
      ],
      { expected: "a string or {type:'function', function:{name}}" },
    ),
  ),
  response_format: opt(
    obj({ type: req(str({ nonEmpty: true, enum: ["text", "json_object", "json_schema"], invalid: () => "'response_format.type' must be one of text, json_object, json_schema." })) }),
  ),
  ...generation,
});

export const COMPLETION_BODY = obj({
  model,
  prompt: req(
    oneOf([str(), arr(oneOf([str(), num(-Infinity, Infinity), arr(undefined)]), { refused: asTypeError("a string or an array of strings or token arrays") })], {
      expected: "a string or an array of strings or token arrays",
      description: "A string, or an array of strings, token ids or token arrays.",
    }),
  ),
  ...generation,
});

export const EMBEDDINGS_BODY = obj({
  model,
  input: req(
    oneOf([str(), arr(undefined, { minItems: 1, tooFewIsTypeError: true, expected: "a string or a non-empty array", maxItems: MAX_EMBEDDING_INPUTS, invalid: () => `'input' may hold at most ${MAX_EMBEDDING_INPUTS} items.` })], {
      expected: "a string or a non-empty array",
    }),
  ),
  dimensions: opt(int(1, MAX_EMBEDDING_DIMENSIONS)),
  // Embeddings are never streamed: refuse rather than silently answer JSON to a client expecting SSE.
  stream: opt(bool({ only: false, invalid: () => "Embeddings cannot be streamed: remove 'stream' or set it to false." })),
  encoding_format: optStrict(str({ enum: ["float", "base64"], refused: { message: () => "'encoding_format' must be 'float' or 'base64'." } })),
});
