/**
 * JSON Schemas (2020-12, as OpenAPI 3.1 uses them) of the request bodies, next to the hand-written
 * validators they describe (requests.ts, the dialects' request translators, the admin parsers).
 * Each comes with a minimal valid example; test/worker/openapi.test.ts checks, for every body
 * here, that its validator accepts the example and refuses it without each `required` field, so
 * the schema and the validator cannot drift apart on what is required. Like the validators, the
 * schemas leave other fields open (`additionalProperties` is not false): unknown OpenAI parameters
 * pass through to the miners.
 */
import type { JsonObject } from "../lib/json";
import { MAX_EMBEDDING_DIMENSIONS, MAX_EMBEDDING_INPUTS } from "./requests";

export interface BodySchema {
  schema: JsonObject;
  example: JsonObject;
}

const str = { type: "string" };
const int = { type: "integer" };
const bool = { type: "boolean" };

const generation = {
  stream: bool,
  stream_options: { type: "object", properties: { include_usage: bool } },
  max_tokens: { type: "integer", minimum: 1 },
  max_completion_tokens: { type: "integer", minimum: 1 },
  temperature: { type: "number", minimum: 0, maximum: 2 },
  top_p: { type: "number", minimum: 0, maximum: 1 },
  stop: { oneOf: [str, { type: "array", items: str, maxItems: 4 }] },
};

export const REQUEST_SCHEMAS = {
  ChatCompletionRequest: {
    schema: {
      type: "object",
      required: ["model", "messages"],
      properties: {
        model: { type: "string", minLength: 1, description: "Any id from GET /v1/models." },
        messages: {
          type: "array",
          minItems: 1,
          items: {
            type: "object",
            required: ["role"],
            properties: {
              role: { enum: ["system", "developer", "user", "assistant", "tool", "function"] },
              content: { oneOf: [str, { type: "array", items: { type: "object", required: ["type"] } }, { type: "null" }] },
              tool_call_id: str,
              tool_calls: { type: "array" },
            },
          },
        },
        tools: { type: "array", items: { type: "object", required: ["type", "function"], properties: { type: { const: "function" }, function: { type: "object", required: ["name"], properties: { name: str } } } } },
        tool_choice: { oneOf: [{ enum: ["none", "auto", "required"] }, { type: "object", required: ["function"] }] },
        response_format: { type: "object", required: ["type"], properties: { type: { enum: ["text", "json_object", "json_schema"] } } },
        ...generation,
      },
    },
    example: { model: "demo/tiny-chat", messages: [{ role: "user", content: "Hello" }] },
  },
  CompletionRequest: {
    schema: {
      type: "object",
      required: ["model", "prompt"],
      properties: { model: { type: "string", minLength: 1 }, prompt: { oneOf: [str, { type: "array" }] }, ...generation },
    },
    example: { model: "demo/tiny-chat", prompt: "Once upon a time" },
  },
  EmbeddingsRequest: {
    schema: {
      type: "object",
      required: ["model", "input"],
      properties: {
        model: { type: "string", minLength: 1 },
        input: { oneOf: [str, { type: "array", minItems: 1, maxItems: MAX_EMBEDDING_INPUTS }] },
        encoding_format: { enum: ["float", "base64"] },
        dimensions: { type: "integer", minimum: 1, maximum: MAX_EMBEDDING_DIMENSIONS },
      },
    },
    example: { model: "demo/tiny-embed", input: "hello" },
  },
  MessagesRequest: {
    schema: {
      type: "object",
      required: ["model", "messages"],
      description: "Anthropic Messages API. max_tokens is optional here (the plan's budget applies).",
      properties: {
        model: { type: "string", minLength: 1 },
        max_tokens: { type: "integer", minimum: 1 },
        system: { oneOf: [str, { type: "array" }] },
        messages: { type: "array", minItems: 1, items: { type: "object", required: ["role", "content"], properties: { role: { enum: ["user", "assistant", "system"] } } } },
        tools: { type: "array" },
        tool_choice: { type: "object" },
        stream: bool,
        stop_sequences: { type: "array", items: str },
        temperature: { type: "number" },
      },
    },
    example: { model: "demo/tiny-chat", max_tokens: 16, messages: [{ role: "user", content: "Hello" }] },
  },
  ResponsesRequest: {
    schema: {
      type: "object",
      required: ["model", "input"],
      description: "OpenAI Responses API, stateless: previous_response_id, background and stored conversations are refused.",
      properties: {
        model: { type: "string", minLength: 1 },
        input: { oneOf: [str, { type: "array", minItems: 1 }] },
        instructions: str,
        tools: { type: "array" },
        stream: bool,
        max_output_tokens: { type: "integer", minimum: 1 },
        store: bool,
      },
    },
    example: { model: "demo/tiny-chat", input: "Hello" },
  },
  PriceInput: {
    schema: {
      type: "object",
      required: ["model", "input_micro_usd_per_mtok", "output_micro_usd_per_mtok", "cached_input_micro_usd_per_mtok"],
      properties: { model: str, input_micro_usd_per_mtok: { ...int, minimum: 0 }, output_micro_usd_per_mtok: { ...int, minimum: 0 }, cached_input_micro_usd_per_mtok: { ...int, minimum: 0 } },
    },
    example: { model: "demo/tiny-chat", input_micro_usd_per_mtok: 200000, output_micro_usd_per_mtok: 600000, cached_input_micro_usd_per_mtok: 50000 },
  },
  CreditGrantInput: {
    schema: { type: "object", required: ["amount_micro_usd"], properties: { amount_micro_usd: { ...int, not: { const: 0 } }, note: str } },
    example: { amount_micro_usd: 1000000, note: "welcome" },
  },
  StaticMiner: {
    schema: {
      type: "object",
      required: ["hotkey", "uid", "axon_url", "models"],
      properties: { hotkey: { type: "string", description: "SS58 address" }, uid: { ...int, minimum: 0 }, axon_url: { type: "string", format: "uri" }, models: { type: "array", items: str } },
    },
    example: { hotkey: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", uid: 1, axon_url: "http://127.0.0.2:8091", models: ["demo/tiny-chat"] },
  },
  NewSubscriber: {
    schema: { type: "object", required: ["name"], properties: { name: str, email: str, external_id: { type: "string", description: "The JWT `sub`." }, id: str, plan_id: str } },
    example: { name: "Acme" },
  },
  NewKey: {
    schema: { type: "object", properties: { name: str, key: { type: "string", pattern: "^sk-\\S{5,}$", description: "Import an existing key." } } },
    example: { name: "laptop" },
  },
  PlanInput: {
    schema: {
      type: "object",
      required: ["id", "name", "allowance_micro_usd", "requests_per_minute", "tokens_per_minute", "concurrent_requests"],
      properties: {
        id: { type: "string", pattern: "^[a-z0-9][a-z0-9_-]{0,63}$" },
        name: str,
        price_micro_usd: { ...int, minimum: 0 },
        allowance_micro_usd: { ...int, minimum: 0 },
        requests_per_minute: { ...int, minimum: 0 },
        tokens_per_minute: { ...int, minimum: 0 },
        concurrent_requests: { ...int, minimum: 0 },
        models: { oneOf: [{ type: "null" }, { type: "array", items: str }] },
        stripe_price_id: { oneOf: [{ type: "null" }, str] },
      },
    },
    example: { id: "team", name: "Team", allowance_micro_usd: 50000000, requests_per_minute: 600, tokens_per_minute: 1000000, concurrent_requests: 20 },
  },
  SubscriberPlanInput: {
    schema: { type: "object", required: ["plan_id"], properties: { plan_id: { oneOf: [str, { type: "null" }] } } },
    example: { plan_id: "pro" },
  },
} satisfies Record<string, BodySchema>;

export type RequestSchemaName = keyof typeof REQUEST_SCHEMAS;

/** The error body of every refusal (OpenAI's shape). */
export const ERROR_SCHEMA: JsonObject = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["message", "type", "code", "param"],
      properties: { message: str, type: str, code: { type: ["string", "null"] }, param: { type: ["string", "null"] } },
    },
  },
};
