/**
 * `npm run bench:render`: BENCHMARKS.md again from the last run's bench/results/latest.json and the
 * current bench/profile-notes.md, measuring nothing. The notes are written by hand after a run,
 * from its figures; this puts them beside those same figures.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ROOT } from "../scripts/lib/dev-stack";
import { renderReport } from "./lib/render";
import { opsAttributionOf, type RunSummary } from "./lib/summary";

const summary = JSON.parse(readFileSync(join(ROOT, "bench/results/latest.json"), "utf8")) as RunSummary;
// JSON has the run's start and end as strings.
summary.input.started = new Date(summary.input.started);
summary.input.finished = new Date(summary.input.finished);
// Derived figures are derived again, so a fix to how they are derived reaches a stored run.
summary.opsAttribution = opsAttributionOf(summary.input, summary.figures);
writeFileSync(join(ROOT, "BENCHMARKS.md"), renderReport(summary));
console.log(`wrote ${join(ROOT, "BENCHMARKS.md")} from the run of ${summary.input.started.toISOString()} (commit ${summary.input.machine.commit})`);
