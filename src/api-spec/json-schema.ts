/**
 * JSON Schema (2020-12, as OpenAPI 3.1 uses it) of a request-body definition
 * (src/validation/schema.ts): the same definition the route validates with, so the document says
 * what the validator does. Objects stay open (no `additionalProperties: false`): unknown fields pass
 * through. A field required only in some cases is listed in the description, not in `required`.
 */
import type { JsonObject } from "../lib/json";
import type { Prop, SchemaNode } from "../validation/schema";

function described(out: JsonObject, node: SchemaNode): JsonObject {
  if (node.description) out.description = node.description;
  return out;
}

/** `null` where the validator takes it as "absent" (OpenAI's optional parameters). */
function orNull(schema: JsonObject): JsonObject {
  if (typeof schema.type === "string") return { ...schema, type: [schema.type, "null"] };
  if (Array.isArray(schema.oneOf)) return { ...schema, oneOf: [...schema.oneOf, { type: "null" }] };
  if ("const" in schema) return { oneOf: [schema, { type: "null" }] };
  return schema; // any JSON value: null included
}

function fieldSchema(prop: Prop): JsonObject {
  let schema = jsonSchema(prop.node);
  if (prop.nullIsAbsent && prop.required !== true) schema = orNull(schema);
  const notes = [prop.requiredWhen ? `Required ${prop.requiredWhen}.` : null, prop.onlyWhenText ? `Read ${prop.onlyWhenText}.` : null].filter((n) => n !== null);
  if (notes.length === 0) return schema;
  const note = notes.join(" ");
  return { ...schema, description: typeof schema.description === "string" ? `${schema.description} ${note}` : note };
}

export function jsonSchema(node: SchemaNode): JsonObject {
  switch (node.kind) {
    case "string": {
      const out: JsonObject = { type: "string" };
      if (node.nonEmpty) out.minLength = 1;
      if (node.enum) out.enum = [...node.enum];
      if (node.pattern) out.pattern = node.pattern.source;
      if (node.format) out.format = node.format;
      return described(out, node);
    }
    case "number": {
      const out: JsonObject = { type: node.integer ? "integer" : "number" };
      if (Number.isFinite(node.min)) out.minimum = node.min;
      if (Number.isFinite(node.max)) out.maximum = node.max;
      if (node.nonZero) out.not = { const: 0 };
      return described(out, node);
    }
    case "boolean":
      return described(node.only === undefined ? { type: "boolean" } : { type: "boolean", const: node.only }, node);
    case "const":
      return described({ const: node.value }, node);
    case "null":
      return described({ type: "null" }, node);
    case "any":
      return described({}, node);
    case "array": {
      const out: JsonObject = { type: "array" };
      if (node.items) out.items = jsonSchema(node.items);
      if (node.minItems !== undefined) out.minItems = node.minItems;
      if (node.maxItems !== undefined) out.maxItems = node.maxItems;
      return described(out, node);
    }
    case "object": {
      const out: JsonObject = { type: "object" };
      const entries = Object.entries(node.props);
      const required = entries.filter(([, p]) => p.required === true).map(([k]) => k);
      if (required.length > 0) out.required = required;
      if (entries.length > 0) out.properties = Object.fromEntries(entries.map(([k, p]) => [k, fieldSchema(p)]));
      return described(out, node);
    }
    case "union":
      return described({ oneOf: node.options.map(jsonSchema) }, node);
  }
}
