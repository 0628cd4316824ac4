/**
 * The source tree's boundaries (issue #11, "Boundaries that hold"), checked on the files
 * themselves so a change that crosses one fails here rather than in review:
 * - only src/http/ imports Hono;
 * - the gateway Worker (src/index.ts and everything it loads, dynamic imports included) never
 *   loads src/chain/: @polkadot/api and the settlement code belong to the chain Worker's bundle;
 * - nor the web app (src/web/, src/http/web/, src/api-spec/, hono/jsx): that is the web Worker's;
 * - dialects encode the relay's typed outcomes: they never decode its SSE or JSON a second time;
 * - one object guard: `isObject`/`JsonObject` from src/lib/json.ts, no local copies.
 * Type-only imports are erased by the bundler and do not count as loading a module.
 */
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const SRC = join(ROOT, "src");

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return /\.tsx?$/.test(name) && !name.endsWith(".d.ts") ? [path] : [];
  });
}

const rel = (file: string) => relative(ROOT, file);

/** Module specifiers a file loads at run time: static imports and re-exports that are not type-only, and dynamic imports. */
function runtimeImports(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/^\s*(import|export)\s+(type\s+)?([^;]*?)\s+from\s+"([^"]+)"/gms)) {
    if (m[2]) continue; // `import type` / `export type`
    const clause = m[3] ?? "";
    // `import { type A, type B } from` loads nothing either.
    const names = /^\{([^}]*)\}$/.exec(clause.trim())?.[1];
    if (names !== undefined && names.split(",").every((n) => n.trim() === "" || n.trim().startsWith("type "))) continue;
    out.push(m[4] ?? "");
  }
  for (const m of text.matchAll(/^\s*import\s+"([^"]+)"/gm)) out.push(m[1] ?? "");
  for (const m of text.matchAll(/\bimport\(\s*"([^"]+)"\s*\)/g)) out.push(m[1] ?? "");
  return out;
}

function resolveLocal(from: string, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  const base = resolve(dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.tsx`, join(base, "index.ts")]) {
    if (existsSync(candidate) && statSync(candidate).isFile()) return candidate;
  }
  return null;
}

/** Every source file reachable from `entry` through run-time imports. */
function loadedBy(entry: string): Set<string> {
  const seen = new Set<string>();
  const stack = [entry];
  while (stack.length > 0) {
    const file = stack.pop()!;
    if (seen.has(file)) continue;
    seen.add(file);
    if (!/\.tsx?$/.test(file)) continue; // .wasm and other assets
    for (const spec of runtimeImports(readFileSync(file, "utf8"))) {
      const target = resolveLocal(file, spec);
      if (target) stack.push(target);
    }
  }
  return seen;
}

describe("source boundaries", () => {
  it("only src/http/ imports Hono", () => {
    const offenders = sourceFiles(SRC)
      .filter((f) => !rel(f).startsWith("src/http/"))
      .filter((f) => /from\s+"hono(\/[^"]*)?"/.test(readFileSync(f, "utf8")));
    expect(offenders.map(rel)).toEqual([]);
  });

  it("the gateway Worker never loads src/chain/", () => {
    const loaded = [...loadedBy(join(SRC, "index.ts"))].map(rel);
    expect(loaded.length).toBeGreaterThan(50); // the walk followed the imports
    expect(loaded).toContain("src/pipeline/serve.ts");
    expect(loaded.filter((f) => f.startsWith("src/chain/") || f === "src/chain-worker.ts")).toEqual([]);
  });

  it("the gateway Worker never loads the web app, its pages or the OpenAPI document", () => {
    const loaded = [...loadedBy(join(SRC, "index.ts"))];
    const web = loaded.map(rel).filter((f) => /^src\/(web\/|http\/web\/|api-spec\/|web-worker\.ts)/.test(f) || f.endsWith(".tsx"));
    expect(web).toEqual([]);
    const jsx = loaded.filter((f) => /\.tsx?$/.test(f) && /from\s+"hono\/(jsx|html|cookie)"/.test(readFileSync(f, "utf8"))).map(rel);
    expect(jsx).toEqual([]);
  });

  it("the web Worker loads the web app and the OpenAPI document (the walk follows it)", () => {
    const loaded = [...loadedBy(join(SRC, "web-worker.ts"))].map(rel);
    expect(loaded).toContain("src/http/web/console-prices.tsx");
    expect(loaded).toContain("src/api-spec/openapi.ts");
    expect(loaded.filter((f) => f.startsWith("src/chain/"))).toEqual([]);
  });

  it("the chain Worker does load src/chain/ (the walk sees dynamic imports)", () => {
    const loaded = [...loadedBy(join(SRC, "chain-worker.ts"))].map(rel);
    expect(loaded).toContain("src/chain/sync.ts");
    expect(loaded).toContain("src/chain/settlement/runner.ts");
  });

  it("dialects never decode the relay's output again (no SSE decoder, no Response.json())", () => {
    const offenders = sourceFiles(join(SRC, "dialects")).filter((f) => /\b(SseDecoder|LineDecoder)\b|\.json\(\)/.test(readFileSync(f, "utf8")));
    expect(offenders.map(rel)).toEqual([]);
  });

  it("has one JSON object guard (src/lib/json.ts)", () => {
    const copies = sourceFiles(SRC)
      .filter((f) => rel(f) !== "src/lib/json.ts")
      .filter((f) => /function\s+\w+\s*\(\s*\w+\s*:\s*unknown\s*\)\s*:\s*\w+\s+is\s+(Record<string,\s*unknown>|JsonObject)/.test(readFileSync(f, "utf8")));
    expect(copies.map(rel)).toEqual([]);
  });
});
