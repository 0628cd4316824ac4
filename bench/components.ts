/**
 * `npm run bench:components [-- name ...]`: only the request-path components inside workerd
 * (bench/workerd/components.ts), without the load phases of `npm run bench`. With names, only
 * those components (e.g. `sign sign-js sr25519-wasm sr25519-js`); `--n` scales the calls per
 * measurement, `--rounds` (default 5) repeats them. Prints median CPU µs per call and, when both
 * signers ran, the pure-TS / WebAssembly ratios.
 */
import { parseArgs } from "node:util";
import { measureWorkerdComponents } from "./lib/workerd-components";

process.env.WRANGLER_SEND_METRICS = "false";
process.env.CLOUDFLARE_CF_FETCH_ENABLED = "false";

const { values, positionals } = parseArgs({ options: { n: { type: "string", default: "300" }, rounds: { type: "string", default: "5" } }, allowPositionals: true });
const result = await measureWorkerdComponents(Number(values.n), (line) => console.log(line), positionals.length > 0 ? positionals : undefined, Number(values.rounds));
for (const c of result.components) console.log(`${c.name}: ${c.cpuUsPerOp.toFixed(1)} µs (${c.iterations} calls)`);
for (const r of result.ratios) console.log(`${r.what}: ${r.ratio.toFixed(2)}x`);
