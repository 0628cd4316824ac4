/**
 * Request-path components measured in isolation on Node (V8, the engine workerd also runs), for
 * attributing the gateway's CPU per request: Epistula signing (current and the @scure/sr25519
 * path it replaced), hashing, JSON, token counting, and picking a miner with src/routing/select.ts
 * as it exists at run time.
 */
import { sign as scureSign } from "@scure/sr25519";
import { signRequest, sha256Hex, epistulaMessage } from "../../src/protocol/epistula";
import { keypairFromUri } from "../../src/protocol/keys";
import { countMessageTokens, countTokens } from "../../src/lib/tokens";
import { measure, type MicroResult } from "./measure";

const utf8 = new TextEncoder();

export interface SelectResult extends MicroResult {
  miners: number;
}

export interface NodeComponents {
  components: MicroResult[];
  select: SelectResult[];
  selectNote: string;
}

export async function measureNodeComponents(body: string, answer: string, iterations: number): Promise<NodeComponents> {
  const alice = keypairFromUri("//Alice");
  const bob = keypairFromUri("//Bob");
  const bytes = utf8.encode(body);
  const parsedBody = JSON.parse(body) as { messages: unknown };
  const components: MicroResult[] = [];
  components.push(await measure("Epistula signRequest (sha256 + uuid + sr25519, current)", () => signRequest({ body: bytes, signer: alice, signedFor: bob.ss58 }), { iterations }));
  components.push(
    await measure(
      "Epistula signing as before (@scure/sr25519 sign)",
      async () => scureSign(alice.secretKey, utf8.encode(epistulaMessage(await sha256Hex(bytes), crypto.randomUUID(), Date.now(), bob.ss58))),
      { iterations: Math.max(50, Math.floor(iterations / 2)) },
    ),
  );
  components.push(await measure("sha256 of the body (crypto.subtle)", () => sha256Hex(bytes), { iterations: iterations * 5 }));
  components.push(await measure("JSON.parse + JSON.stringify of the miner's answer", () => JSON.stringify(JSON.parse(answer)), { iterations: iterations * 5 }));
  components.push(
    await measure("token counting (prompt + answer)", () => countMessageTokens(parsedBody.messages) + countTokens(answer), { iterations: iterations * 5 }),
  );
  const { select, note } = await measureSelect(iterations * 5);
  return { components, select, selectNote: note };
}

interface MinerLike {
  hotkey: string;
  uid: number;
  axonUrl: string;
  models: ReadonlySet<string>;
}

/**
 * The selection function is imported by path at run time (not statically) because routing is
 * being reworked by issue #4: the benchmark measures whatever select.ts exports when it runs.
 */
async function measureSelect(iterations: number): Promise<{ select: SelectResult[]; note: string }> {
  const path = "../../src/routing/select";
  const mod = (await import(path)) as Record<string, unknown>;
  const fn = mod.candidateOrder;
  const exported = Object.keys(mod).join(", ");
  if (typeof fn !== "function") return { select: [], note: `select.ts exports [${exported}]; no candidateOrder(miners, maxAttempts) to measure` };
  const order = fn as (miners: readonly MinerLike[], maxAttempts: number) => unknown;
  const out: SelectResult[] = [];
  for (const n of [3, 64, 256]) {
    const miners: MinerLike[] = Array.from({ length: n }, (_, i) => ({
      hotkey: `5Miner${i}`,
      uid: i,
      axonUrl: `http://127.0.0.1:${10_000 + i}`,
      models: new Set(["demo/tiny-chat"]),
    }));
    out.push({ ...(await measure(`candidateOrder over ${n} miners, 3 attempts`, () => order(miners, 3), { iterations })), miners: n });
  }
  return { select: out, note: `select.ts exports [${exported}]; measured candidateOrder(miners, 3)` };
}
