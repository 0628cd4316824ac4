/**
 * Every request body the API documents: its definition (the one the route validates with,
 * src/validation/bodies/) and a minimal valid example. GET /openapi.json publishes each as
 * `components.schemas.<name>`; test/worker/openapi.test.ts checks the published schemas against
 * the routes' validators field by field.
 */
import type { JsonObject } from "../lib/json";
import { CHAIN_SCHEDULED, CREDIT_GRANT, NEW_KEY, NEW_SUBSCRIBER, PLAN_INPUT, PLAN_PATCH, PRICE_INPUT, PUT_MINERS, STATIC_MINER, SUBSCRIBER_PLAN } from "../validation/bodies/admin";
import { MESSAGES_BODY } from "../validation/bodies/anthropic";
import { CHAT_BODY, COMPLETION_BODY, EMBEDDINGS_BODY } from "../validation/bodies/openai";
import { RESPONSES_BODY } from "../validation/bodies/responses";
import type { ObjectNode } from "../validation/schema";

export interface RequestBody {
  definition: ObjectNode;
  example: JsonObject;
}

const MINER = { hotkey: "5FHneW46xGXgs5mUiveU4sbTyGBzmstUspZC92UhjJM694ty", uid: 1, axon_url: "http://127.0.0.2:8091", models: ["demo/tiny-chat"] };

export const REQUEST_BODIES = {
  ChatCompletionRequest: { definition: CHAT_BODY, example: { model: "demo/tiny-chat", messages: [{ role: "user", content: "Hello" }] } },
  CompletionRequest: { definition: COMPLETION_BODY, example: { model: "demo/tiny-chat", prompt: "Once upon a time" } },
  EmbeddingsRequest: { definition: EMBEDDINGS_BODY, example: { model: "demo/tiny-embed", input: "hello" } },
  MessagesRequest: { definition: MESSAGES_BODY, example: { model: "demo/tiny-chat", max_tokens: 16, messages: [{ role: "user", content: "Hello" }] } },
  // With a function tool, so the example shows one and every field of the body is read (tool_choice is read only with one).
  ResponsesRequest: {
    definition: RESPONSES_BODY,
    example: { model: "demo/tiny-chat", input: "Hello", tools: [{ type: "function", name: "get_time", parameters: { type: "object", properties: {} } }] },
  },
  PriceInput: {
    definition: PRICE_INPUT,
    example: { model: "demo/tiny-chat", input_micro_usd_per_mtok: 200000, output_micro_usd_per_mtok: 600000, cached_input_micro_usd_per_mtok: 50000 },
  },
  CreditGrantInput: { definition: CREDIT_GRANT, example: { amount_micro_usd: 1000000, note: "welcome" } },
  StaticMiner: { definition: STATIC_MINER, example: MINER },
  StaticMinersInput: { definition: PUT_MINERS, example: { miners: [MINER] } },
  NewSubscriber: { definition: NEW_SUBSCRIBER, example: { name: "Acme" } },
  NewKey: { definition: NEW_KEY, example: { name: "laptop" } },
  PlanInput: {
    definition: PLAN_INPUT,
    example: { id: "team", name: "Team", allowance_micro_usd: 50000000, requests_per_minute: 600, tokens_per_minute: 1000000, concurrent_requests: 20 },
  },
  PlanPatch: { definition: PLAN_PATCH, example: { requests_per_minute: 1200 } },
  SubscriberPlanInput: { definition: SUBSCRIBER_PLAN, example: { plan_id: "pro" } },
  ChainScheduledInput: { definition: CHAIN_SCHEDULED, example: { cron: "*/5 * * * *" } },
} satisfies Record<string, RequestBody>;

export type RequestBodyName = keyof typeof REQUEST_BODIES;

/** The error body of every refusal (OpenAI's shape). */
export const ERROR_SCHEMA: JsonObject = {
  type: "object",
  required: ["error"],
  properties: {
    error: {
      type: "object",
      required: ["message", "type", "code", "param"],
      properties: { message: { type: "string" }, type: { type: "string" }, code: { type: ["string", "null"] }, param: { type: ["string", "null"] } },
    },
  },
};
