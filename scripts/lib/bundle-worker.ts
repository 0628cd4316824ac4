/**
 * Bundles a Worker entry with esbuild the way wrangler does for deploy (ES module, workerd
 * conditions, `node:*` and `cloudflare:*` left to the runtime, JSX and paths from tsconfig.json,
 * `.wasm` copied beside the bundle as wrangler uploads it). For tools that run a Worker in
 * Miniflare without wrangler: the cold-start measurement and the workerd suite's web Worker.
 */
import { join } from "node:path";
import { build } from "esbuild";

export async function bundleWorker(root: string, entry: string, outfile: string, opts: { minify?: boolean } = {}): Promise<string> {
  await build({
    entryPoints: [join(root, entry)],
    absWorkingDir: root,
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    external: ["node:*", "cloudflare:*"],
    outfile,
    loader: { ".wasm": "copy" },
    minify: opts.minify ?? false,
    logLevel: "error",
  });
  return outfile;
}
