// A real D1 (miniflare's local implementation, the same SQLite engine wrangler dev uses) with the
// repository's migrations applied, for Node-side tests of code that writes the `miners` table.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { D1Database } from "@cloudflare/workers-types";
import { Miniflare } from "miniflare";
import { REPO_ROOT } from "../../../support/chopsticks";

export type TestD1 = {
  db: D1Database;
  /** Requests to the worker script (an empty one unless `script` was given). */
  dispatchFetch(url: string): Promise<{ status: number; json(): Promise<unknown> }>;
  dispose(): Promise<void>;
};

export type TestD1Options = {
  /** ES module Worker to run with the database bound as DB (default: an empty one). */
  script?: string;
  bindings?: Record<string, string>;
};

export async function createTestD1(opts: TestD1Options = {}): Promise<TestD1> {
  const mf = new Miniflare({
    modules: true,
    script: opts.script ?? "export default {}",
    // Same date and flags as wrangler.toml, so the runtime behaves like the deployed Worker.
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    d1Databases: ["DB"],
    bindings: opts.bindings ?? {},
  });
  const db: D1Database = await mf.getD1Database("DB");
  const dir = join(REPO_ROOT, "migrations");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) {
    for (const statement of readFileSync(join(dir, file), "utf8").split("--> statement-breakpoint")) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }
  return { db, dispatchFetch: (url) => mf.dispatchFetch(url), dispose: () => mf.dispose() };
}

export type MinerDbRow = {
  hotkey: string;
  uid: number;
  netuid: number | null;
  coldkey: string | null;
  axon_url: string;
  models: string;
  source: string;
  active: number;
  incentive: number;
  stake_rao: string;
  updated_at: number;
};

export async function allMiners(db: D1Database): Promise<MinerDbRow[]> {
  const { results } = await db.prepare("SELECT * FROM miners ORDER BY hotkey").all<MinerDbRow>();
  return results;
}
