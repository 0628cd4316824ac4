/**
 * Copies the web app's browser libraries from node_modules into the static assets directory
 * (public/static/vendor, not committed): Chart.js for the usage charts. Run by `npm run dev`,
 * the end-to-end set-up and before `wrangler deploy`.
 */
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join, resolve } from "node:path";

const ROOT = resolve(import.meta.dirname, "..");
const FILES: [from: string, to: string][] = [["node_modules/chart.js/dist/chart.umd.min.js", "public/static/vendor/chart.umd.js"]];

export function buildWebAssets(): void {
  for (const [from, to] of FILES) {
    mkdirSync(dirname(join(ROOT, to)), { recursive: true });
    copyFileSync(join(ROOT, from), join(ROOT, to));
  }
}

if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) buildWebAssets();
