/**
 * Emits the sr25519 WebAssembly module the gateway Worker imports (src/routing/signer.ts):
 * schnorrkel 0.11 as built by @polkadot-labs/schnorrkel-wasm (MIT), copied byte for byte from
 * the pinned package to src/protocol/wasm/schnorrkel.wasm, beside its licence. The package's
 * own loaders read the file from disk or compile it from bytes; workerd does neither (no
 * WebAssembly.compile/instantiate of bytes at run time), so the Worker imports the `.wasm` file
 * and wrangler bundles it as a precompiled module (its default rule for `**\/*.wasm` is
 * CompiledWasm); src/protocol/sr25519-wasm.ts is the glue.
 *
 * The output is committed (docs/signing.md says why): every path that bundles the Worker
 * (wrangler dev/deploy, vitest-pool-workers, the benchmark's `git archive` snapshot,
 * scripts/cold-start.ts) has it without a build step. A Node test checks that the committed
 * files are the package's, so a dependency bump without re-running this fails.
 * Idempotent. Run: `npm run build:wasm`.
 */
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const PACKAGE = "@polkadot-labs/schnorrkel-wasm";
const OUT_DIR = join(ROOT, "src/protocol/wasm");

/** Where each emitted file comes from inside the package. */
export const SR25519_WASM_FILES: readonly { from: string; to: string }[] = [
  { from: "dist/nodejs/schnorrkel_bg.wasm", to: join(OUT_DIR, "schnorrkel.wasm") },
  { from: "LICENSE", to: join(OUT_DIR, "schnorrkel.LICENSE") },
];

export function packageDir(): string {
  // The package's exports map hides package.json; resolve its entry and walk up.
  const entry = createRequire(import.meta.url).resolve(PACKAGE);
  return resolve(dirname(entry), "../..");
}

export function packageVersion(): string {
  const meta: unknown = JSON.parse(readFileSync(join(packageDir(), "package.json"), "utf8"));
  const version = typeof meta === "object" && meta !== null ? Reflect.get(meta, "version") : undefined;
  if (typeof version !== "string") throw new Error(`${PACKAGE}: no version in package.json`);
  return version;
}

/** Writes the files that are missing or differ; returns the paths written. */
export function buildSr25519Wasm(): string[] {
  const dir = packageDir();
  const written: string[] = [];
  for (const { from, to } of SR25519_WASM_FILES) {
    const bytes = readFileSync(join(dir, from));
    if (to.endsWith(".wasm") && !WebAssembly.validate(new Uint8Array(bytes))) throw new Error(`${PACKAGE}/${from} is not valid WebAssembly`);
    let current: Buffer | null = null;
    try {
      current = readFileSync(to);
    } catch {
      current = null;
    }
    if (current && current.equals(bytes)) continue;
    mkdirSync(dirname(to), { recursive: true });
    writeFileSync(to, bytes);
    written.push(to);
  }
  return written;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const written = buildSr25519Wasm();
  const what = written.length > 0 ? `wrote ${written.map((p) => relative(ROOT, p)).join(", ")}` : "up to date";
  console.log(`build:wasm: ${PACKAGE} ${packageVersion()}: ${what}`);
}
