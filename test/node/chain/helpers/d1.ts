// A real D1 (miniflare's local implementation, the same SQLite engine wrangler dev uses) with the
// repository's migrations applied, for Node-side tests of code that writes the `miners` table.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import type { D1Database } from "@cloudflare/workers-types";
import { Miniflare } from "miniflare";
import { REPO_ROOT } from "../../../support/chopsticks";

export type TestD1 = { db: D1Database; dispose(): Promise<void> };

export async function createTestD1(): Promise<TestD1> {
  const mf = new Miniflare({ modules: true, script: "export default {}", d1Databases: ["DB"] });
  const db: D1Database = await mf.getD1Database("DB");
  const dir = join(REPO_ROOT, "migrations");
  for (const file of readdirSync(dir).filter((f) => f.endsWith(".sql")).sort()) {
    for (const statement of readFileSync(join(dir, file), "utf8").split("--> statement-breakpoint")) {
      if (statement.trim()) await db.prepare(statement).run();
    }
  }
  return { db, dispose: () => mf.dispose() };
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
  updated_at: number;
};

export async function allMiners(db: D1Database): Promise<MinerDbRow[]> {
  const { results } = await db.prepare("SELECT * FROM miners ORDER BY hotkey").all<MinerDbRow>();
  return results;
}
