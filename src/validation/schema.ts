/**
 * A small declarative schema for request bodies: one definition per body, from which both the
 * route's validator (src/validation/check.ts, `parseBody`) and the OpenAPI document's JSON Schema
 * (src/api-spec/json-schema.ts) are derived, so the two cannot drift apart. No dependency: only the
 * few shapes the API's bodies use, and the error wording each API family has always used.
 *
 * Objects are open: fields a definition does not name pass through untouched (newer OpenAI
 * parameters reach the miners without a gateway release). Nothing here runs any check itself.
 */

import { typeName } from "./fields";

/** How a failure of a value reads. Defaults give OpenAI's wording (fields.ts). */
export interface Wording {
  /** "Invalid type for 'p': expected <expected>, but got <type>." */
  expected?: string;
  /** A value rule (enum, bounds, pattern, length, item count) failed: this message, code invalid_value. */
  invalid?: (param: string, value: unknown) => string;
  /** The code of an `invalid` failure (default invalid_value). */
  invalidCode?: string;
  /** Every failure of this value, its type too, reads as this one message (the admin bodies' style). */
  refused?: { message: (param: string, value: unknown) => string; code?: string };
  description?: string;
}

export interface StringNode extends Wording {
  kind: "string";
  /** "" is refused ("'p' must not be empty."). */
  nonEmpty?: boolean;
  enum?: readonly string[];
  pattern?: RegExp;
  format?: "uri";
}
export interface NumberNode extends Wording {
  kind: "number";
  integer: boolean;
  /** Inclusive bounds; ±Infinity for none. */
  min: number;
  max: number;
  /** 0 is refused. */
  nonZero?: boolean;
}
export interface BooleanNode extends Wording {
  kind: "boolean";
  /** The one value accepted (embeddings' `stream` may only be false). */
  only?: boolean;
}
/** Exactly this string. */
export interface ConstNode extends Wording {
  kind: "const";
  value: string;
}
export interface NullNode extends Wording {
  kind: "null";
}
/** Any JSON value (a tool's input, a JSON Schema, metadata): only its nesting is bounded (json-bounds.ts). */
export interface AnyNode extends Wording {
  kind: "any";
}
export interface ArrayNode extends Wording {
  kind: "array";
  items?: SchemaNode;
  minItems?: number;
  maxItems?: number;
  /** Fewer than minItems reads as a type error ("expected a non-empty array"), not a value error. */
  tooFewIsTypeError?: boolean;
}
export interface ObjectNode extends Wording {
  kind: "object";
  props: Readonly<Record<string, Prop>>;
  /**
   * A missing or mistyped field of this object is reported as a type error of the object itself
   * (a content part without a string `type` is "not a content part"), with this node's `expected`.
   */
  reportOwnFieldsAsSelf?: boolean;
}
/** One of several shapes, told apart by the value's JSON type (string, number, boolean, array, object, null). */
export interface UnionNode extends Wording {
  kind: "union";
  options: readonly SchemaNode[];
}

export type SchemaNode = StringNode | NumberNode | BooleanNode | ConstNode | NullNode | AnyNode | ArrayNode | ObjectNode | UnionNode;

export interface Prop {
  node: SchemaNode;
  /** Required always, or when the containing object satisfies the predicate (described in `requiredWhen`). */
  required?: boolean | ((parent: Readonly<Record<string, unknown>>) => boolean);
  /** When `required` is a predicate: the condition in words, for the document. */
  requiredWhen?: string;
  /** A field that is required but absent reads as: "missing" (default), a type error, or this message. */
  missing?: "missing" | "type" | "refused" | ((param: string) => string);
  /** `null` counts as absent (OpenAI's optional fields); otherwise it is checked like any value. */
  nullIsAbsent?: boolean;
  /** The field is read (and so checked) only when the object it is in satisfies this; told in words in `onlyWhenText`. */
  onlyWhen?: (parent: Readonly<Record<string, unknown>>) => boolean;
  onlyWhenText?: string;
}

/** A `refused` wording that reads as a type error of the whole value (code invalid_type). */
export const asTypeError = (expected: string): NonNullable<Wording["refused"]> => ({
  message: (param, value) => `Invalid type for '${param}': expected ${expected}, but got ${typeName(value)}.`,
  code: "invalid_type",
});

// ---- constructors (generic, so `Infer` sees the exact fields, items, options and constants) ----

type Opts<N> = Partial<Omit<N, "kind">>;

export const str = (o: Opts<StringNode> = {}): StringNode => ({ kind: "string", ...o });
export const bool = (o: Opts<BooleanNode> = {}): BooleanNode => ({ kind: "boolean", ...o });
export const num = (min: number, max: number, o: Opts<NumberNode> = {}): NumberNode => ({ kind: "number", ...o, integer: false, min, max });
export const int = (min: number, max: number, o: Opts<NumberNode> = {}): NumberNode => ({ kind: "number", ...o, integer: true, min, max });
export const constant = <V extends string>(value: V, o: Opts<ConstNode> = {}): Omit<ConstNode, "value"> & { value: V } => ({ kind: "const", ...o, value });
export const nul = (o: Opts<NullNode> = {}): NullNode => ({ kind: "null", ...o });
export const anyJson = (o: Opts<AnyNode> = {}): AnyNode => ({ kind: "any", ...o });
// The general field type (e.g. ObjectNode's `props` index signature) is left out of the result, so
// `Infer` sees only the definition's own fields.
export const arr = <I extends SchemaNode | undefined>(items: I, o: Opts<ArrayNode> = {}): Omit<ArrayNode, "items"> & { items: I } => ({ kind: "array", ...o, items });
export const obj = <P extends Record<string, Prop>>(props: P, o: Opts<ObjectNode> = {}): Omit<ObjectNode, "props"> & { props: P } => ({ kind: "object", ...o, props });
export const oneOf = <O extends SchemaNode[]>(options: [...O], o: Opts<UnionNode> = {}): Omit<UnionNode, "options"> & { options: O } => ({ kind: "union", ...o, options });

/** A required field. */
export const req = <N extends SchemaNode>(node: N, o: Omit<Prop, "node" | "required"> = {}): { node: N; required: true } & Omit<Prop, "node" | "required"> => ({ ...o, node, required: true });
/** An optional field; `null` counts as absent (OpenAI's optional parameters). */
export const opt = <N extends SchemaNode>(node: N): { node: N; nullIsAbsent: true } => ({ node, nullIsAbsent: true });
/** An optional field where `null` is a value like any other (checked, so refused unless the node allows it). */
export const optStrict = <N extends SchemaNode>(node: N): { node: N } => ({ node });
/** Read only when the object it is in satisfies `when` (told in words for the document); ignored otherwise. */
export const readWhen = <F extends Prop>(prop: F, when: (parent: Readonly<Record<string, unknown>>) => boolean, onlyWhenText: string): F & { onlyWhen: typeof when; onlyWhenText: string } => ({
  ...prop,
  onlyWhen: when,
  onlyWhenText,
});
/** Required when the object it is in satisfies `when` (told in words for the document); optional otherwise. */
export const reqWhen = <N extends SchemaNode>(node: N, when: (parent: Readonly<Record<string, unknown>>) => boolean, requiredWhen: string, o: Omit<Prop, "node" | "required" | "requiredWhen"> = {}): { node: N } & Prop => ({
  ...o,
  node,
  required: when,
  requiredWhen,
});

// ---- the TypeScript type a definition validates to ----

type Simplify<T> = { [K in keyof T]: T[K] };
/** Levels typed exactly; deeper values are `unknown` (readers of deep parts narrow them themselves), which keeps the type cheap to compute. */
type Depth = [unknown, unknown, unknown, unknown, unknown, unknown];

export type Infer<N, D extends unknown[] = []> = D["length"] extends Depth["length"]
  ? unknown
  : N extends { kind: "string" }
    ? string
    : N extends { kind: "number" }
      ? number
      : N extends { kind: "boolean" }
        ? boolean
        : N extends { kind: "null" }
          ? null
          : N extends { kind: "const"; value: infer V }
            ? V
            : N extends { kind: "array"; items: infer I }
              ? (I extends { kind: string } ? Infer<I, [...D, unknown]> : unknown)[]
              : N extends { kind: "object"; props: infer P }
                ? InferObject<P, [...D, unknown]>
                : N extends { kind: "union"; options: readonly (infer O)[] }
                  ? Infer<O, D>
                  : unknown;

type Predicate = (parent: Readonly<Record<string, unknown>>) => boolean;
/** Always present after validation: required, and read in every case. */
type RequiredKeys<P> = { [K in keyof P]: P[K] extends { required: true } ? (P[K] extends { onlyWhen: Predicate } ? never : K) : never }[keyof P];
type Absent<F> = F extends { nullIsAbsent: true } ? null | undefined : undefined;
type FieldValue<F, D extends unknown[]> = F extends { node: infer N }
  ? Infer<N, D> | (F extends { required: true } ? (F extends { onlyWhen: Predicate } ? Absent<F> : never) : Absent<F>)
  : never;

/** An object definition's fields, plus whatever else the body carried (passed through). */
export type InferObject<P, D extends unknown[] = []> = Simplify<{ [K in RequiredKeys<P>]: FieldValue<P[K], D> } & { [K in Exclude<keyof P, RequiredKeys<P>>]?: FieldValue<P[K], D> }> & {
  readonly [other: string]: unknown;
};
