/**
 * GET /openapi.json against the app itself: every route the app registers is in the document and
 * every documented operation is a registered route; every request-body schema matches its
 * validator on what is required (the example passes; without any one required field it is
 * refused naming that field). The API reference page renders the document. Field by field, with
 * generated cases: test/worker/openapi-drift.test.ts.
 */
import { describe, expect, it } from "vitest";
import { openApiPath } from "../../src/api-spec/openapi";
import { messagesToChat } from "../../src/dialects/anthropic/request";
import { responsesToChat } from "../../src/dialects/responses/request";
import { parseGrant } from "../../src/billing/credits";
import { parsePriceInput } from "../../src/billing/pricing";
import { GatewayError } from "../../src/errors";
import { createApp } from "../../src/http/app";
import { WEB_PATHS } from "../../src/http/routes/web-forward";
import type { JsonObject } from "../../src/lib/json";
import { parseStaticMiner } from "../../src/routing/static-miners";
import { validateChat, validateCompletion, validateEmbeddings } from "../../src/validation/requests";
import { jsonSchema } from "../../src/api-spec/json-schema";
import { REQUEST_BODIES, type RequestBodyName as RequestSchemaName } from "../../src/api-spec/request-bodies";
import { ADMIN, call, newSubscriber } from "./helpers";

type Doc = { openapi: string; paths: Record<string, Record<string, { operationId: string; requestBody?: unknown }>>; components: { schemas: Record<string, unknown> } };

async function document(): Promise<Doc> {
  const res = await call("/openapi.json");
  expect(res.status).toBe(200);
  return res.json();
}

const without = (o: JsonObject, key: string): JsonObject => Object.fromEntries(Object.entries(o).filter(([k]) => k !== key));

/** Validators called directly with the body (the param they name may carry a prefix). */
const DIRECT: Partial<Record<RequestSchemaName, (body: JsonObject) => unknown>> = {
  ChatCompletionRequest: validateChat,
  CompletionRequest: validateCompletion,
  EmbeddingsRequest: validateEmbeddings,
  MessagesRequest: (b) => messagesToChat(b),
  ResponsesRequest: responsesToChat,
  PriceInput: parsePriceInput,
  CreditGrantInput: parseGrant,
  StaticMiner: (b) => parseStaticMiner(b, "miners[0]"),
};

/** Bodies validated inside an admin route: checked over HTTP. */
const OVER_HTTP: Partial<Record<RequestSchemaName, (subscriberId: string) => [method: string, path: string]>> = {
  NewSubscriber: () => ["POST", "/admin/subscribers"],
  PlanInput: () => ["POST", "/admin/plans"],
  SubscriberPlanInput: (id) => ["PUT", `/admin/subscribers/${id}/plan`],
  NewKey: (id) => ["POST", `/admin/subscribers/${id}/keys`],
  StaticMinersInput: () => ["PUT", "/admin/miners"],
  PlanPatch: () => ["PATCH", "/admin/plans/free"],
  ChainScheduledInput: () => ["POST", "/admin/chain/scheduled"],
};

describe("OpenAPI document", () => {
  it("is OpenAPI 3.1 and lists exactly the routes the app registers", async () => {
    const doc = await document();
    expect(doc.openapi).toBe("3.1.0");
    const web = new Set<string>(WEB_PATHS);
    // /admin/dev/* is the soak suite's dev-only fault injection (docs/soak.md): a 404 everywhere
    // but a dev stack that turns it on, so not part of the API.
    const registered = new Set(
      createApp()
        .routes.filter((r) => r.method !== "ALL" && !web.has(r.path) && r.path !== "/docs/api" && !r.path.startsWith("/admin/dev/"))
        .map((r) => `${r.method.toLowerCase()} ${openApiPath(r.path)}`),
    );
    const documented = new Set(Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m} ${path}`)));
    expect([...registered].filter((r) => !documented.has(r)), "registered but not documented").toEqual([]);
    expect([...documented].filter((d) => !registered.has(d)), "documented but not registered").toEqual([]);
    expect(registered.size).toBeGreaterThan(30);
  });

  it("has a schema, checked against its validator, for every request body", async () => {
    const doc = await document();
    const { subscriberId } = await newSubscriber("openapi");
    for (const [name, { definition, example }] of Object.entries(REQUEST_BODIES) as [RequestSchemaName, (typeof REQUEST_BODIES)[RequestSchemaName]][]) {
      const schema = jsonSchema(definition) as { required?: string[] };
      expect(doc.components.schemas[name], name).toEqual(JSON.parse(JSON.stringify(schema)));
      const required: string[] = [...(schema.required ?? [])];
      const direct = DIRECT[name];
      const http = OVER_HTTP[name];
      expect(direct ?? http, `${name} has a validator in this test`).toBeDefined();
      if (direct) {
        expect(() => direct(example), `${name} accepts its example`).not.toThrow();
        for (const field of required) {
          let err: unknown = null;
          try {
            direct(without(example, field));
          } catch (e) {
            err = e;
          }
          expect(err, `${name} without '${field}'`).toBeInstanceOf(GatewayError);
          expect((err as GatewayError).status).toBe(400);
          expect((err as GatewayError).param ?? "", `${name} without '${field}' names it`).toMatch(new RegExp(`(^|\\.)${field}$`));
        }
      } else if (http) {
        const [method, path] = http(subscriberId);
        for (const field of required) {
          const res = await call(path, { method, headers: ADMIN, body: JSON.stringify(without(example, field)) });
          expect(res.status, `${name} without '${field}'`).toBe(400);
          expect(((await res.json()) as { error: { param: string } }).error.param).toBe(field);
        }
      }
    }
  });

  it("renders the reference page from the document", async () => {
    const res = await call("/docs/api");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    const html = await res.text();
    const doc = await document();
    for (const item of Object.values(doc.paths)) for (const op of Object.values(item)) expect(html).toContain(`data-operation="${op.operationId}"`);
  });
});
