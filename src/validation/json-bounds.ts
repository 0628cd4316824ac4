/**
 * Bounds on the shape of a parsed request body: nesting depth and number of values. The byte
 * limit (MAX_BODY_BYTES) bounds the text, not its shape, and a few hundred KiB of `[[[[...` is
 * enough to make JSON.stringify (ours, on the way to a miner) or a miner's parser overflow its
 * stack. A request every miner fails on would otherwise look like every miner failing.
 *
 * The walk recurses at most MAX_JSON_DEPTH levels (it stops at the first value too deep), so it
 * cannot overflow the stack itself.
 */

/** Objects and arrays nested deeper than this are refused (generous for real JSON Schemas). */
export const MAX_JSON_DEPTH = 64;
/** Values (of any type) in one body: a 1 MiB body of `0,` has ~500k; real requests have far fewer. */
export const MAX_JSON_VALUES = 200_000;

export type JsonBoundsViolation = { kind: "depth" | "values"; path: string; limit: number };

/** The first violation found, or null. `path` is like `tools[0].function.parameters.properties`. */
export function checkJsonBounds(value: unknown, maxDepth = MAX_JSON_DEPTH, maxValues = MAX_JSON_VALUES): JsonBoundsViolation | null {
  const path: (string | number)[] = [];
  let values = 0;
  const walk = (v: unknown, depth: number): JsonBoundsViolation | null => {
    values++;
    if (values > maxValues) return { kind: "values", path: formatPath(path), limit: maxValues };
    if (v === null || typeof v !== "object") return null;
    if (depth > maxDepth) return { kind: "depth", path: formatPath(path), limit: maxDepth };
    const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((x, i) => [i, x]) : Object.entries(v);
    for (const [key, child] of entries) {
      path.push(key);
      const found = walk(child, depth + 1);
      path.pop();
      if (found) return found;
    }
    return null;
  };
  return walk(value, 0);
}

/** `a.b[0].c`; the top-level object itself is the empty path. */
export function formatPath(path: readonly (string | number)[]): string {
  let out = "";
  for (const seg of path) out += typeof seg === "number" ? `[${seg}]` : out === "" ? seg : `.${seg}`;
  return out;
}

/** Keys whose values are free-form JSON Schemas: the field to name when nesting runs away inside one. */
const SCHEMA_KEYS = new Set(["parameters", "input_schema", "schema"]);

/**
 * The field a client should look at, rather than 64 levels of `properties.a`: the path up to the
 * first JSON Schema it crosses (`tools[0].function.parameters`, `text.format.schema`), else the
 * top-level field (with its index when it is an array element, `messages[3]`, for depth).
 */
export function fieldOf(violation: JsonBoundsViolation): string {
  const segs: (string | number)[] = (violation.path.match(/[^.[\]]+|\[\d+\]/g) ?? []).map((p) => (p.startsWith("[") ? Number(p.slice(1, -1)) : p));
  const schemaAt = segs.findIndex((s) => typeof s === "string" && SCHEMA_KEYS.has(s));
  if (schemaAt >= 0) return formatPath(segs.slice(0, schemaAt + 1));
  const keep = violation.kind === "depth" && typeof segs[1] === "number" ? 2 : 1;
  return formatPath(segs.slice(0, keep));
}
