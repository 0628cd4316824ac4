/**
 * The OpenAPI 3.1 document of the public and admin API, built from OPERATIONS and the request-body
 * definitions the routes validate with (request-bodies.ts, turned into JSON Schema by json-schema.ts).
 */
import type { JsonObject } from "../lib/json";
import { jsonSchema } from "./json-schema";
import { OPERATIONS, type Operation } from "./operations";
import { ERROR_SCHEMA, REQUEST_BODIES } from "./request-bodies";

/** Hono's `/v1/models/:id{.+}` -> OpenAPI's `/v1/models/{id}`. */
export function openApiPath(honoPath: string): string {
  return honoPath.replace(/:(\w+)(\{[^}]*\})?/g, "{$1}");
}

const SECURITY: Record<Operation["security"], JsonObject[] | undefined> = {
  api_key: [{ apiKey: [] }, { apiKeyHeader: [] }],
  admin: [{ adminToken: [] }],
  none: [],
  stripe_signature: [],
};

function errorResponse(description: string): JsonObject {
  return { description, content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } } };
}

function operationObject(op: Operation): JsonObject {
  const params = [...op.path.matchAll(/:(\w+)/g)].map((m) => ({ name: m[1], in: "path", required: true, schema: { type: "string" } }));
  const query = (op.query ?? []).map((q) => ({ name: q.name, in: "query", required: q.required ?? false, description: q.description, schema: q.schema }));
  const ok: JsonObject = { description: "OK", content: { "application/json": { schema: { type: "object" } } } };
  if (op.streams) (ok.content as JsonObject)["text/event-stream"] = { schema: { type: "string", description: "Server-Sent Events when the body has stream: true." } };
  const out: JsonObject = {
    operationId: op.id,
    tags: [op.tag],
    summary: op.summary,
    parameters: [...params, ...query],
    responses: {
      "200": ok,
      ...(op.security === "none" ? {} : { "401": errorResponse("Missing or invalid credentials.") }),
      "400": errorResponse("Invalid request; `param` names the field."),
      "404": errorResponse("Not found."),
    },
  };
  if (op.security === "stripe_signature") out.parameters = [{ name: "Stripe-Signature", in: "header", required: true, schema: { type: "string" } }];
  const security = SECURITY[op.security];
  if (security) out.security = security;
  if (op.body) {
    out.requestBody = {
      required: true,
      content: { "application/json": { schema: { $ref: `#/components/schemas/${op.body}` }, example: REQUEST_BODIES[op.body].example } },
    };
  }
  return out;
}

export function openApiDocument(serverUrl: string | null): JsonObject {
  const paths: Record<string, JsonObject> = {};
  for (const op of OPERATIONS) (paths[openApiPath(op.path)] ??= {})[op.method] = operationObject(op);
  const schemas: JsonObject = { Error: ERROR_SCHEMA };
  for (const [name, b] of Object.entries(REQUEST_BODIES)) schemas[name] = jsonSchema(b.definition);
  return {
    openapi: "3.1.0",
    info: {
      title: "Bittensor inference gateway",
      version: "0.1.0",
      description: "OpenAI- and Anthropic-compatible inference backed by Bittensor miners. Errors have OpenAI's shape (Anthropic's on /v1/messages*).",
    },
    servers: serverUrl ? [{ url: serverUrl }] : [],
    tags: ["Inference", "Account", "Public", "Admin", "Webhooks"].map((name) => ({ name })),
    paths,
    components: {
      schemas,
      securitySchemes: {
        apiKey: { type: "http", scheme: "bearer", description: "An API key (sk-...) or a JWT." },
        apiKeyHeader: { type: "apiKey", in: "header", name: "x-api-key" },
        adminToken: { type: "http", scheme: "bearer", description: "ADMIN_TOKEN." },
      },
    },
  };
}
