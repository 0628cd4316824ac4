/**
 * The published document cannot drift from what the routes enforce: for every request body in
 * GET /openapi.json, cases are generated from the document's own schema, field by field (a value of
 * each JSON type the field does not allow, one past each bound, a value outside its enum or
 * pattern, an empty string where minLength is 1, one item too few or too many), and each is sent
 * to the route's validator, which must refuse it with a 400 naming that field. The values at the
 * bounds, each enum value and an unknown extra field must be accepted. Bodies validated inside an
 * admin route are checked over HTTP, refusals only (an accepted body would create things).
 */
import { describe, expect, it } from "vitest";
import { messagesToChat } from "../../src/dialects/anthropic/request";
import { responsesToChat } from "../../src/dialects/responses/request";
import { parseGrant } from "../../src/billing/credits";
import { parsePlanFields } from "../../src/billing/plans";
import { parsePriceInput } from "../../src/billing/pricing";
import { REQUEST_BODIES, type RequestBodyName } from "../../src/api-spec/request-bodies";
import { GatewayError } from "../../src/errors";
import type { JsonObject } from "../../src/lib/json";
import { parseStaticMiner } from "../../src/routing/static-miners";
import { validateChat, validateCompletion, validateEmbeddings } from "../../src/validation/requests";
import { ADMIN, call, newSubscriber } from "./helpers";

interface Schema {
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  oneOf?: Schema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  minItems?: number;
  maxItems?: number;
  pattern?: string;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  not?: unknown;
}

const DIRECT: Partial<Record<RequestBodyName, (body: JsonObject) => unknown>> = {
  ChatCompletionRequest: validateChat,
  CompletionRequest: validateCompletion,
  EmbeddingsRequest: validateEmbeddings,
  MessagesRequest: (b) => messagesToChat(b),
  ResponsesRequest: responsesToChat,
  PriceInput: parsePriceInput,
  CreditGrantInput: parseGrant,
  StaticMiner: (b) => parseStaticMiner(b, "miners[0]"),
  PlanPatch: (b) => parsePlanFields(b, false),
};

const OVER_HTTP: Partial<Record<RequestBodyName, (subscriberId: string) => [method: string, path: string]>> = {
  NewSubscriber: () => ["POST", "/admin/subscribers"],
  PlanInput: () => ["POST", "/admin/plans"],
  SubscriberPlanInput: (id) => ["PUT", `/admin/subscribers/${id}/plan`],
  NewKey: (id) => ["POST", `/admin/subscribers/${id}/keys`],
  StaticMinersInput: () => ["PUT", "/admin/miners"],
  ChainScheduledInput: () => ["POST", "/admin/chain/scheduled"],
};

const SAMPLES: Record<string, unknown> = { string: "some text", integer: 7, number: 0.5, boolean: true, array: [], object: {}, null: null };

/** The JSON types a schema lets through (null: any). */
function allowedTypes(s: Schema): Set<string> | null {
  if (s.oneOf) {
    const all = new Set<string>();
    for (const o of s.oneOf) {
      const t = allowedTypes(o);
      if (t === null) return null;
      for (const x of t) all.add(x);
    }
    return all;
  }
  if (s.type === undefined) return s.const !== undefined ? new Set([typeof s.const]) : null;
  const types = new Set(Array.isArray(s.type) ? s.type : [s.type]);
  if (types.has("number")) types.add("integer");
  return types;
}

interface Case {
  why: string;
  value: unknown;
}

/** Values the schema refuses, each for one reason. */
function refusals(s: Schema): Case[] {
  const out: Case[] = [];
  const allowed = allowedTypes(s);
  if (allowed) for (const [type, value] of Object.entries(SAMPLES)) if (!allowed.has(type)) out.push({ why: `a ${type}`, value });
  const only = s.oneOf ? null : s; // bounds of a single-shape field
  const integerOnly = only !== null && (only.type === "integer" || (Array.isArray(only.type) && only.type.includes("integer")));
  // A fraction inside the bounds, and small enough to stay a fraction in floating point.
  if (integerOnly) out.push({ why: "a fraction", value: Math.max(only.minimum ?? 0, Math.min(only.maximum ?? 0, 0)) + 0.5 });
  if (only && only.minimum !== undefined && only.minimum - 1 !== only.minimum) out.push({ why: "below minimum", value: only.minimum - 1 });
  if (only && only.maximum !== undefined && only.maximum + 1 !== only.maximum) out.push({ why: "above maximum", value: only.maximum + 1 });
  if (only?.not !== undefined) out.push({ why: "the excluded value", value: (only.not as { const: unknown }).const });
  if (s.enum) out.push({ why: "outside the enum", value: "not-one-of-them" });
  if (typeof s.const === "string") out.push({ why: "not the constant", value: `${s.const}-other` });
  if (typeof s.const === "boolean") out.push({ why: "not the constant", value: !s.const });
  if (s.minLength === 1) out.push({ why: "empty", value: "" });
  if (s.pattern) out.push({ why: "not the pattern", value: "does not match" });
  for (const option of [s, ...(s.oneOf ?? [])]) {
    if (option.type !== "array") continue;
    if (option.minItems) out.push({ why: "too few items", value: [] });
    if (option.maxItems !== undefined) out.push({ why: "too many items", value: Array.from({ length: option.maxItems + 1 }, () => "x") });
  }
  return out;
}

/** Values the schema accepts at its edges. */
function acceptances(s: Schema): Case[] {
  const out: Case[] = [];
  if (s.enum) for (const v of s.enum) out.push({ why: `enum ${String(v)}`, value: v });
  if (!s.oneOf && s.minimum !== undefined && Number.isFinite(s.minimum)) out.push({ why: "at minimum", value: s.minimum });
  if (!s.oneOf && s.maximum !== undefined && Number.isFinite(s.maximum)) out.push({ why: "at maximum", value: s.maximum });
  return out;
}

function outcome(run: () => unknown): GatewayError | null {
  try {
    run();
    return null;
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
}

type Doc = { components: { schemas: Record<string, Schema> } };

describe("the OpenAPI document and the validators", () => {
  it("refuse and accept the same values, field by field", async () => {
    const doc = (await (await call("/openapi.json")).json()) as Doc;
    const { subscriberId } = await newSubscriber("drift");
    let checked = 0;
    for (const [name, { example }] of Object.entries(REQUEST_BODIES) as [RequestBodyName, { example: JsonObject }][]) {
      const schema = doc.components.schemas[name]!;
      const direct = DIRECT[name];
      const http = OVER_HTTP[name];
      expect(direct ?? http, `${name} has a validator in this test`).toBeDefined();
      const refuse = async (body: JsonObject, field: string, why: string) => {
        if (direct) {
          const err = outcome(() => direct(body));
          expect(err, `${name}.${field} ${why} is refused`).toBeInstanceOf(GatewayError);
          expect(err!.status).toBe(400);
          expect(err!.param ?? "", `${name}.${field} ${why}: names the field`).toMatch(new RegExp(`(^|[.\\]])${field.replace(/[.[\]]/g, "\\$&")}$`));
        } else {
          const [method, path] = http!(subscriberId);
          const res = await call(path, { method, headers: ADMIN, body: JSON.stringify(body) });
          expect(res.status, `${name}.${field} ${why} is refused`).toBe(400);
          expect(((await res.json()) as { error: { param: string } }).error.param, `${name}.${field} ${why}`).toMatch(new RegExp(`(^|[.\\]])${field.replace(/[.[\]]/g, "\\$&")}$`));
        }
        checked++;
      };
      for (const [field, fieldSchema] of Object.entries(schema.properties ?? {})) {
        for (const c of refusals(fieldSchema)) await refuse({ ...example, [field]: c.value }, field, c.why);
        if (!direct) continue;
        for (const c of acceptances(fieldSchema)) {
          expect(outcome(() => direct({ ...example, [field]: c.value })), `${name}.${field} ${c.why} is accepted`).toBeNull();
        }
      }
      if (direct) expect(outcome(() => direct({ ...example, x_not_a_documented_field: { any: ["thing"] } })), `${name} passes unknown fields through`).toBeNull();
    }
    expect(checked).toBeGreaterThan(150);
  });
});
