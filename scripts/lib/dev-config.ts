/**
 * How the dev stack hands configuration to `wrangler dev` without leaking secrets: every variable
 * (secret or not) goes into files in a private directory (mode 0700, files 0600), never on a
 * command line (visible in `ps`) and never in a world-readable file. The names are the ones the
 * Workers read (src/config/variables.ts).
 *
 *   <dir>/gateway.env             --env-file of `wrangler dev`: the gateway's variables, as secrets
 *   <dir>/gateway/wrangler.toml   wrangler.toml with absolute paths and the local usage delivery
 *                                 window (scripts/lib/usage-window.ts: 1 s unless USAGE_DELIVERY_WINDOW_S)
 *   <dir>/chain/wrangler.toml     wrangler.chain.toml with absolute paths and no [vars]
 *   <dir>/chain/.dev.vars         the chain Worker's variables (wrangler reads it next to its config)
 *   <dir>/web/wrangler.toml       wrangler.web.toml likewise (its static assets directory made absolute too)
 *   <dir>/web/.dev.vars           the web Worker's variables
 *   <dir>/logs/                   wrangler's debug logs (WRANGLER_LOG_PATH)
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { isVariable, variablesOf, type VariableName } from "../../src/config/variables";
import { withUsageDeliveryWindow } from "./usage-window";

export type DevVars = Partial<Record<VariableName, string>>;

export interface DevConfigFiles {
  dir: string;
  gatewayConfig: string;
  gatewayEnvFile: string;
  chainConfig: string;
  webConfig: string;
  logDir: string;
}

/** The variables of `process.env` the Workers read (what `npm run dev` forwards). */
export function varsFromEnvironment(env: NodeJS.ProcessEnv): DevVars {
  const vars: DevVars = {};
  for (const [name, value] of Object.entries(env)) if (value !== undefined && isVariable(name)) vars[name] = value;
  return vars;
}

/** Dotenv format as wrangler reads it: one KEY="value" per line, the value JSON-quoted. */
function dotenv(vars: DevVars, names: readonly VariableName[]): string {
  return names
    .filter((n) => vars[n] !== undefined)
    .map((n) => {
      const value = vars[n] ?? "";
      if (/[\r\n]/.test(value)) throw new Error(`dev stack: ${n} must be a single line`);
      return `${n}=${JSON.stringify(value)}\n`;
    })
    .join("");
}

function writePrivate(file: string, text: string): void {
  writeFileSync(file, text, { mode: 0o600 });
  chmodSync(file, 0o600); // in case the file existed with a wider mode
}

/**
 * A secondary Worker's config for `wrangler dev` from another directory: absolute paths (entry,
 * migrations, static assets), no [vars] (they come from the .dev.vars beside it). [vars] is the last
 * table of wrangler.chain.toml and wrangler.web.toml, so everything from it on is dropped.
 */
function secondaryWorkerToml(root: string, file: string): string {
  const base = readFileSync(join(root, file), "utf8");
  const varsAt = base.search(/^\[vars\]\s*$/m);
  const head = varsAt >= 0 ? base.slice(0, varsAt) : base;
  const absolute = (key: string) => (text: string) =>
    text.replace(new RegExp(`^${key} = "(.*)"$`, "m"), (_, m: string) => `${key} = ${JSON.stringify(join(root, m))}`);
  return [absolute("main"), absolute("migrations_dir"), absolute("directory")].reduce((t, f) => f(t), head);
}

/**
 * The gateway's config for `wrangler dev` from another directory: absolute paths, [vars] kept (the
 * env file overrides them, as with the original), and the usage queue's delivery window for local
 * runs instead of production's (usage-window.ts says why).
 */
function gatewayToml(root: string, usageDeliveryWindowS: number): string {
  const base = readFileSync(join(root, "wrangler.toml"), "utf8");
  const absolute = (key: string) => (text: string) =>
    text.replace(new RegExp(`^${key} = "(.*)"`, "m"), (_, m: string) => `${key} = ${JSON.stringify(join(root, m))}`);
  return withUsageDeliveryWindow([absolute("main"), absolute("migrations_dir")].reduce((t, f) => f(t), base), usageDeliveryWindowS);
}

export function writeDevConfig(root: string, vars: DevVars, usageDeliveryWindowS: number): DevConfigFiles {
  const dir = mkdtempSync(join(tmpdir(), "gateway-dev-config-")); // created 0700
  chmodSync(dir, 0o700);
  const gatewayDir = join(dir, "gateway");
  const chainDir = join(dir, "chain");
  const webDir = join(dir, "web");
  const logDir = join(dir, "logs");
  for (const d of [gatewayDir, chainDir, webDir, logDir]) mkdirSync(d, { mode: 0o700 });
  const gatewayConfig = join(gatewayDir, "wrangler.toml");
  writePrivate(gatewayConfig, gatewayToml(root, usageDeliveryWindowS));
  const gatewayEnvFile = join(dir, "gateway.env");
  writePrivate(gatewayEnvFile, dotenv(vars, variablesOf("gateway")));
  const chainConfig = join(chainDir, "wrangler.toml");
  writePrivate(chainConfig, secondaryWorkerToml(root, "wrangler.chain.toml"));
  writePrivate(join(chainDir, ".dev.vars"), dotenv(vars, variablesOf("chain")));
  const webConfig = join(webDir, "wrangler.toml");
  writePrivate(webConfig, secondaryWorkerToml(root, "wrangler.web.toml"));
  writePrivate(join(webDir, ".dev.vars"), dotenv(vars, variablesOf("web")));
  return { dir, gatewayConfig, gatewayEnvFile, chainConfig, webConfig, logDir };
}
