/**
 * The dev stack keeps secrets out of sight: no file it (or wrangler under it) wrote that holds a
 * secret is readable by group or others, no command line of its processes carries one, and
 * nothing wrangler printed or logged contains one. The secrets are random so a hit is never a
 * coincidence.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ROOT, startDevStack, type DevStack } from "../../scripts/lib/dev-stack";

const nonce = randomBytes(12).toString("hex");
const SECRETS = {
  ADMIN_TOKEN: `admin-${nonce}`,
  GATEWAY_HOTKEY_MNEMONIC: `//Alice//dev-${nonce}`,
  JWT_HS256_SECRET: `jwt-secret-${nonce}-0123456789abcdef`,
  STRIPE_WEBHOOK_SECRET: `whsec_${nonce}`,
  PAYOUT_TREASURY_MNEMONIC: `//Treasury//${nonce}`,
};
const values = Object.values(SECRETS);
let stack: DevStack;

function filesUnder(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => (e.isDirectory() ? filesUnder(join(dir, e.name)) : e.isFile() ? [join(dir, e.name)] : []));
}

/** Process ids of a process and all its descendants (Linux /proc). */
function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const ppid = Number(/^PPid:\s+(\d+)$/m.exec(readFileSync(`/proc/${name}/status`, "utf8"))?.[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(name)]);
    } catch {
      /* exited meanwhile */
    }
  }
  const out: number[] = [];
  const walk = (pid: number) => {
    out.push(pid);
    for (const c of children.get(pid) ?? []) walk(c);
  };
  walk(root);
  return out;
}

beforeAll(async () => {
  stack = await startDevStack({ vars: SECRETS });
}, 180_000);

afterAll(async () => {
  await stack?.stop();
}, 60_000);

describe("secrets in the dev stack", () => {
  it("are in effect (the admin token works)", async () => {
    const res = await fetch(`${stack.url}/admin/miners`, { headers: { authorization: `Bearer ${SECRETS.ADMIN_TOKEN}` } });
    expect(res.status).toBe(200);
  });

  it("sit only in files nobody else can read", () => {
    const dirs = [stack.configDir, stack.persistTo, join(ROOT, ".wrangler", "tmp")];
    const holding = dirs.flatMap(filesUnder).filter((file) => {
      const text = readFileSync(file, "latin1");
      return values.some((v) => text.includes(v));
    });
    // The stack's own files must hold them (else this test checks nothing) ...
    expect(holding.some((f) => f.startsWith(stack.configDir))).toBe(true);
    // ... and none of those is group- or world-readable.
    const exposed = holding.filter((f) => (statSync(f).mode & 0o077) !== 0);
    expect(exposed).toEqual([]);
    expect(statSync(stack.configDir).mode & 0o077).toBe(0);
  });

  it("are on no command line of the stack's processes", () => {
    const pid = stack.gateway.child.pid;
    expect(pid).toBeTypeOf("number");
    const tree = processTree(pid ?? -1);
    expect(tree.length).toBeGreaterThan(1); // wrangler and the workerd it started
    for (const p of tree) {
      let cmdline = "";
      try {
        cmdline = readFileSync(`/proc/${p}/cmdline`, "utf8");
      } catch {
        continue;
      }
      for (const v of values) expect(cmdline.includes(v), `pid ${p}: ${cmdline.replaceAll("\0", " ")}`).toBe(false);
    }
  });

  it("appear in nothing wrangler printed or logged", () => {
    // Everything wrangler and workerd printed (warnings and errors at this log level) ...
    const printed = stack.gateway.output();
    for (const v of values) expect(printed.includes(v)).toBe(false);
    // ... and its debug log files, which get every message at any level.
    const logs = filesUnder(join(stack.configDir, "logs"));
    expect(logs.length).toBeGreaterThan(0);
    for (const file of logs) {
      const text = readFileSync(file, "utf8");
      for (const v of values) expect(text.includes(v), `${file} holds a secret`).toBe(false);
    }
  });
});
