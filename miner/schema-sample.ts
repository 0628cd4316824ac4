// Builds a deterministic JSON value that satisfies a (practical subset of) JSON Schema, used for
// tool-call arguments and json_schema answers: strings get a word, numbers 42, booleans true,
// enums their first value, objects all their properties (so required ones are always present).
import type { Rng } from "./prng";
import { isObject } from "./requests";

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const MAX_DEPTH = 6;

export function sampleFromSchema(schema: unknown, rng: Rng, words: readonly string[], depth = 0): Json {
  if (!isObject(schema) || depth > MAX_DEPTH) return depth === 0 ? {} : null;
  if ("const" in schema) return toJson(schema.const);
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return toJson(schema.enum[0]);
  for (const key of ["anyOf", "oneOf", "allOf"] as const) {
    const alts = schema[key];
    if (Array.isArray(alts) && alts.length > 0) {
      // Prefer the first non-null alternative: "string or null" should produce a string.
      const pick = alts.find((a) => !(isObject(a) && a.type === "null")) ?? alts[0];
      return sampleFromSchema(pick, rng, words, depth + 1);
    }
  }
  let type = schema.type;
  if (Array.isArray(type)) type = type.find((t) => t !== "null") ?? type[0];
  if (type === undefined && isObject(schema.properties)) type = "object";
  switch (type) {
    case "string":
      return rng.pick(words);
    case "number":
    case "integer":
      return 42;
    case "boolean":
      return true;
    case "null":
      return null;
    case "array": {
      const minItems = typeof schema.minItems === "number" ? Math.min(schema.minItems, 8) : 1;
      return Array.from({ length: Math.max(1, minItems) }, () => sampleFromSchema(schema.items, rng, words, depth + 1));
    }
    case "object": {
      const out: { [key: string]: Json } = {};
      const props = isObject(schema.properties) ? schema.properties : {};
      for (const [name, sub] of Object.entries(props)) out[name] = sampleFromSchema(sub, rng, words, depth + 1);
      // Required names without a property schema still get a value.
      if (Array.isArray(schema.required)) {
        for (const name of schema.required) if (typeof name === "string" && !(name in out)) out[name] = rng.pick(words);
      }
      return out;
    }
    default:
      return rng.pick(words);
  }
}

function toJson(v: unknown): Json {
  if (v === null || typeof v === "boolean" || typeof v === "number" || typeof v === "string") return v;
  return JSON.parse(JSON.stringify(v ?? null)) as Json;
}
