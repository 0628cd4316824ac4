/**
 * Every API operation the gateway serves, in one list: what GET /openapi.json is built from.
 * Paths use Hono's syntax as the routes register them (`:id`, `:model{.+}`), so the test can match
 * this list against the app's registered routes exactly (test/worker/openapi.test.ts).
 */
import type { RequestBodyName } from "./request-bodies";

export type Security = "api_key" | "admin" | "none" | "stripe_signature";

export interface QueryParam {
  name: string;
  description: string;
  schema: { type: "string" | "integer"; enum?: string[] };
  required?: boolean;
}

export interface Operation {
  method: "get" | "post" | "put" | "patch" | "delete";
  path: string;
  id: string;
  tag: "Inference" | "Account" | "Public" | "Admin" | "Webhooks";
  summary: string;
  security: Security;
  body?: RequestBodyName;
  query?: QueryParam[];
  /** Streams Server-Sent Events when the body says `stream: true`. */
  streams?: boolean;
}

const since: QueryParam = { name: "since", description: "Start, inclusive (RFC 3339 or Unix ms).", schema: { type: "string" } };
const until: QueryParam = { name: "until", description: "End, exclusive (RFC 3339 or Unix ms).", schema: { type: "string" } };

export const OPERATIONS: Operation[] = [
  { method: "post", path: "/v1/chat/completions", id: "createChatCompletion", tag: "Inference", summary: "OpenAI chat completions, streamed or not.", security: "api_key", body: "ChatCompletionRequest", streams: true },
  { method: "post", path: "/v1/completions", id: "createCompletion", tag: "Inference", summary: "OpenAI legacy completions.", security: "api_key", body: "CompletionRequest", streams: true },
  { method: "post", path: "/v1/embeddings", id: "createEmbeddings", tag: "Inference", summary: "OpenAI embeddings.", security: "api_key", body: "EmbeddingsRequest" },
  { method: "post", path: "/v1/messages", id: "createMessage", tag: "Inference", summary: "Anthropic Messages API (also ?beta=true).", security: "api_key", body: "MessagesRequest", streams: true },
  { method: "post", path: "/v1/messages/count_tokens", id: "countMessageTokens", tag: "Inference", summary: "Anthropic token counting.", security: "api_key", body: "MessagesRequest" },
  { method: "post", path: "/v1/responses", id: "createResponse", tag: "Inference", summary: "OpenAI Responses API, stateless.", security: "api_key", body: "ResponsesRequest", streams: true },
  { method: "get", path: "/v1/models", id: "listModels", tag: "Inference", summary: "Models live miners serve now.", security: "api_key" },
  { method: "get", path: "/v1/models/:id{.+}", id: "retrieveModel", tag: "Inference", summary: "One model (ids contain '/').", security: "api_key" },
  { method: "get", path: "/v1/usage", id: "getUsage", tag: "Account", summary: "The caller's usage by model and day, and spend against the plan.", security: "api_key", query: [since, until] },
  {
    method: "get", path: "/v1/settlements", id: "listSettlements", tag: "Public", summary: "Settled epochs: work, weights, payouts, extrinsics (sealed during commit-reveal).", security: "none",
    query: [
      { name: "netuid", description: "Subnet.", schema: { type: "integer" } },
      { name: "before", description: "Epochs before this one (paging).", schema: { type: "integer" } },
      { name: "limit", description: "1-100, default 20.", schema: { type: "integer" } },
    ],
  },
  { method: "get", path: "/health", id: "health", tag: "Public", summary: "200 while the gateway can serve; metagraph staleness.", security: "none" },
  { method: "get", path: "/", id: "probeRoot", tag: "Public", summary: "Reachability probe (Claude Code).", security: "none" },
  { method: "get", path: "/api/hello", id: "probeHello", tag: "Public", summary: "Reachability probe (Claude Code).", security: "none" },
  { method: "get", path: "/openapi.json", id: "openapi", tag: "Public", summary: "This document.", security: "none" },
  { method: "post", path: "/webhooks/stripe", id: "stripeWebhook", tag: "Webhooks", summary: "Stripe subscription events, signed (Stripe-Signature).", security: "stripe_signature" },

  { method: "post", path: "/admin/subscribers", id: "adminCreateSubscriber", tag: "Admin", summary: "Create a subscriber.", security: "admin", body: "NewSubscriber" },
  { method: "get", path: "/admin/subscribers/:id", id: "adminGetSubscriber", tag: "Admin", summary: "A subscriber and its key prefixes.", security: "admin" },
  { method: "post", path: "/admin/subscribers/:id/keys", id: "adminIssueKey", tag: "Admin", summary: "Issue (or import) a key; the plain key is in this answer only.", security: "admin", body: "NewKey" },
  { method: "delete", path: "/admin/keys/:id", id: "adminRevokeKey", tag: "Admin", summary: "Revoke a key.", security: "admin" },
  {
    method: "get", path: "/admin/usage", id: "adminUsage", tag: "Admin", summary: "Usage report, optionally with raw rows.", security: "admin",
    query: [{ name: "subscriber_id", description: "One subscriber.", schema: { type: "string" } }, since, until, { name: "rows", description: "Raw rows to include (0-10000).", schema: { type: "integer" } }],
  },
  { method: "get", path: "/admin/miners", id: "adminListMiners", tag: "Admin", summary: "The miner list.", security: "admin" },
  { method: "put", path: "/admin/miners", id: "adminPutMiners", tag: "Admin", summary: "Upsert static miners.", security: "admin", body: "StaticMinersInput" },
  { method: "delete", path: "/admin/miners/:hotkey", id: "adminDeleteMiner", tag: "Admin", summary: "Remove a static miner.", security: "admin" },
  { method: "post", path: "/admin/chain/scheduled", id: "adminChainScheduled", tag: "Admin", summary: "Run what a cron trigger of the chain Worker runs.", security: "admin", body: "ChainScheduledInput" },
  { method: "post", path: "/admin/chain/sync", id: "adminChainSync", tag: "Admin", summary: "Run the metagraph sync now (chain Worker).", security: "admin" },
  {
    method: "get", path: "/admin/routing", id: "adminRouting", tag: "Admin", summary: "Miners serving a model with measurements, score components and circuit state.", security: "admin",
    query: [{ name: "model", description: "Model id.", schema: { type: "string" }, required: true }, { name: "hint", description: "Routing hint.", schema: { type: "string", enum: ["balanced", "latency", "throughput"] } }],
  },
  { method: "post", path: "/admin/canaries/run", id: "adminRunCanaries", tag: "Admin", summary: "Run the canary probes now.", security: "admin" },
  { method: "get", path: "/admin/plans", id: "adminListPlans", tag: "Admin", summary: "Plans.", security: "admin" },
  { method: "post", path: "/admin/plans", id: "adminCreatePlan", tag: "Admin", summary: "Create a plan.", security: "admin", body: "PlanInput" },
  { method: "get", path: "/admin/plans/:id", id: "adminGetPlan", tag: "Admin", summary: "One plan.", security: "admin" },
  { method: "patch", path: "/admin/plans/:id", id: "adminUpdatePlan", tag: "Admin", summary: "Edit any plan field.", security: "admin", body: "PlanPatch" },
  { method: "get", path: "/admin/prices", id: "adminListPrices", tag: "Admin", summary: "Prices per million tokens.", security: "admin" },
  { method: "put", path: "/admin/prices", id: "adminPutPrice", tag: "Admin", summary: "Set a model's price ('*' is the default).", security: "admin", body: "PriceInput" },
  { method: "delete", path: "/admin/prices/:model{.+}", id: "adminDeletePrice", tag: "Admin", summary: "Drop a model's price (back to '*').", security: "admin" },
  { method: "put", path: "/admin/subscribers/:id/plan", id: "adminSetSubscriberPlan", tag: "Admin", summary: "Move a subscriber to a plan (null: default).", security: "admin", body: "SubscriberPlanInput" },
  { method: "post", path: "/admin/subscribers/:id/credits", id: "adminGrantCredit", tag: "Admin", summary: "Grant (or take back) credit.", security: "admin", body: "CreditGrantInput" },
  { method: "get", path: "/admin/subscribers/:id/limits", id: "adminSubscriberLimits", tag: "Admin", summary: "Live counters from the subscriber's Durable Object.", security: "admin" },
  { method: "post", path: "/admin/settlements/run", id: "adminRunSettlement", tag: "Admin", summary: "Run one settlement now (chain Worker).", security: "admin" },
];
