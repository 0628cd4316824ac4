/**
 * The validator every request-body definition (src/validation/schema.ts) gets: walks the body in
 * the definition's field order and throws the first failure as a 400 GatewayError whose `param`
 * names the field (`messages[2].content`, or Anthropic's `messages.2.content`), worded as each API
 * family always has. Fields the definition does not name are left alone and passed through.
 */
import { GatewayError, invalidRequest } from "../errors";
import { isObject, type JsonObject } from "../lib/json";
import { typeName } from "./fields";
import type { Infer, ObjectNode, Prop, SchemaNode } from "./schema";

export interface CheckOptions {
  /** `messages[0].role` (OpenAI, default) or `messages.0.role` (Anthropic). */
  indexStyle?: "brackets" | "dots";
  /** Param of the body itself when it is part of a larger one (`miners[3]`). */
  prefix?: string;
}

const DEFAULT_EXPECTED: Record<SchemaNode["kind"], string> = {
  string: "a string",
  number: "a number",
  boolean: "a boolean",
  const: "a string",
  null: "null",
  any: "a JSON value",
  array: "an array",
  object: "an object",
  union: "one of the documented shapes",
};

/** The JSON type a node accepts, to pick a union's option by the value's own type. */
function accepts(node: SchemaNode, value: unknown): boolean {
  switch (node.kind) {
    case "string":
    case "const":
      return typeof value === "string";
    case "number":
      return typeof value === "number";
    case "boolean":
      return typeof value === "boolean";
    case "null":
      return value === null;
    case "any":
      return true;
    case "array":
      return Array.isArray(value);
    case "object":
      return isObject(value);
    case "union":
      return node.options.some((o) => accepts(o, value));
  }
}

class Walker {
  constructor(private readonly opts: CheckOptions) {}

  child(param: string, key: string | number): string {
    if (typeof key === "number") return this.opts.indexStyle === "dots" ? `${param}.${key}` : `${param}[${key}]`;
    return param === "" ? key : `${param}.${key}`;
  }

  typeError(node: SchemaNode, param: string, value: unknown, expected = node.expected ?? DEFAULT_EXPECTED[node.kind]): GatewayError {
    return invalidRequest(`Invalid type for '${param}': expected ${expected}, but got ${typeName(value)}.`, param, "invalid_type");
  }

  invalid(node: SchemaNode, param: string, value: unknown, fallback: string): GatewayError {
    return invalidRequest(node.invalid ? node.invalid(param, value) : fallback, param, node.invalidCode ?? "invalid_value");
  }

  missing(prop: Prop, param: string): GatewayError {
    const how = prop.missing ?? "missing";
    if (how === "type") return this.typeError(prop.node, param, undefined);
    if (how === "refused" && prop.node.refused) return invalidRequest(prop.node.refused.message(param, undefined), param, prop.node.refused.code ?? "invalid_value");
    if (typeof how === "function") return invalidRequest(how(param), param, "missing_required_parameter");
    return invalidRequest(`Missing required parameter: '${param}'.`, param, "missing_required_parameter");
  }

  check(node: SchemaNode, value: unknown, param: string): void {
    if (!node.refused) return this.checkOwn(node, value, param);
    try {
      this.checkOwn(node, value, param);
    } catch (err) {
      if (!(err instanceof GatewayError)) throw err;
      throw invalidRequest(node.refused.message(param, value), param, node.refused.code ?? "invalid_value");
    }
  }

  private checkOwn(node: SchemaNode, value: unknown, param: string): void {
    switch (node.kind) {
      case "string":
        if (typeof value !== "string") throw this.typeError(node, param, value);
        if (node.nonEmpty && value === "") throw this.invalid(node, param, value, `'${param}' must not be empty.`);
        if (node.enum && !node.enum.includes(value)) throw this.invalid(node, param, value, `'${param}' must be one of ${node.enum.join(", ")}.`);
        if (node.pattern && !node.pattern.test(value)) throw this.invalid(node, param, value, `'${param}' does not have the expected form.`);
        return;
      case "number":
        if (typeof value !== "number" || !Number.isFinite(value)) throw this.typeError(node, param, value);
        if (value < node.min || value > node.max) throw this.invalid(node, param, value, `'${param}' must be between ${node.min} and ${node.max}, got ${value}.`);
        if (node.integer && !Number.isInteger(value)) throw this.typeError(node, param, value, "an integer");
        if (node.nonZero && value === 0) throw this.invalid(node, param, value, `'${param}' must not be 0.`);
        return;
      case "boolean":
        if (typeof value !== "boolean") throw this.typeError(node, param, value);
        if (node.only !== undefined && value !== node.only) throw this.invalid(node, param, value, `'${param}' must be ${node.only}.`);
        return;
      case "const":
        if (value !== node.value) throw this.invalid(node, param, value, `'${param}' must be '${node.value}'.`);
        return;
      case "null":
        if (value !== null) throw this.typeError(node, param, value);
        return;
      case "any":
        return;
      case "array":
        if (!Array.isArray(value)) throw this.typeError(node, param, value);
        if (node.minItems !== undefined && value.length < node.minItems) {
          if (node.tooFewIsTypeError) throw this.typeError(node, param, value);
          throw this.invalid(node, param, value, `'${param}' must hold at least ${node.minItems} items.`);
        }
        if (node.maxItems !== undefined && value.length > node.maxItems) throw this.invalid(node, param, value, `'${param}' may hold at most ${node.maxItems} items.`);
        if (node.items) {
          const items = node.items;
          value.forEach((v, i) => this.check(items, v, this.child(param, i)));
        }
        return;
      case "object":
        if (!isObject(value)) throw this.typeError(node, param, value);
        return this.fields(node, value, param);
      case "union": {
        const option = node.options.find((o) => accepts(o, value));
        if (!option) throw this.typeError(node, param, value);
        return this.check(option, value, param);
      }
    }
  }

  private fields(node: ObjectNode, value: JsonObject, param: string): void {
    for (const [key, prop] of Object.entries(node.props)) {
      if (prop.onlyWhen && !prop.onlyWhen(value)) continue;
      const v = value[key];
      const p = this.child(param, key);
      const absent = v === undefined || (prop.nullIsAbsent === true && v === null);
      const required = prop.required === true || (typeof prop.required === "function" && prop.required(value));
      if (absent) {
        if (!required) continue;
        // A part without its own tag is "not a part" (reported on the object, as the dialects always have).
        if (node.reportOwnFieldsAsSelf) throw this.typeError(node, param, value);
        throw this.missing(prop, p);
      }
      if (node.reportOwnFieldsAsSelf && !accepts(prop.node, v)) throw this.typeError(node, param, value);
      this.check(prop.node, v, p);
    }
  }
}

/** Throws the first failure of `value` against `node`, naming the field; `param` is the value's own name. */
export function checkValue(node: SchemaNode, value: unknown, param: string, opts: CheckOptions = {}): void {
  new Walker(opts).check(node, value, param);
}

/**
 * Validates a request body against its definition and returns it, typed by the definition (the
 * same object: unknown fields still in it). Throws a 400 GatewayError naming the first bad field.
 */
export function parseBody<N extends { kind: "object" }>(node: N, body: JsonObject, opts: CheckOptions = {}): Parsed<N> {
  // `obj()` typed the definition when it was made; comparing its full type with ObjectNode again at
  // every call is more than TypeScript's instantiation depth allows, so the constraint is its tag.
  new Walker(opts).check(node as unknown as ObjectNode, body, opts.prefix ?? "");
  // Checked above against exactly the shape Infer<N> describes.
  return body as unknown as Parsed<N>;
}

/** A body as its definition's validator returns it: the definition's fields typed, any other field still there. */
export type Parsed<N> = Infer<N> & JsonObject;
