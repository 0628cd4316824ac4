/**
 * Request-path components measured in isolation on Node (V8, the engine workerd also runs), for
 * attributing the gateway's CPU per request: Epistula signing (current and the @scure/sr25519
 * path it replaced), hashing, JSON, token counting, and picking a miner with src/routing/select.ts
 * as it exists at run time.
 */
import { readFileSync } from "node:fs";
import { sign as scureSign } from "@scure/sr25519";
import { signRequest, sha256Hex, epistulaMessage } from "../../src/protocol/epistula";
import { keypairFromUri } from "../../src/protocol/keys";
import { prepareSigner } from "../../src/protocol/sr25519-signer";
import { wasmSr25519 } from "../../src/protocol/sr25519-wasm";
import { countMessageTokens, countTokens } from "../../src/lib/tokens";
import { measure, type MicroResult } from "./measure";
import { SR25519_WASM_FILES } from "../../scripts/build-wasm";

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
  components.push(await measure("Epistula signRequest with the pure-TS sr25519 signer", () => signRequest({ body: bytes, signer: alice, signedFor: bob.ss58 }), { iterations }));
  components.push(
    await measure(
      "Epistula signing as before (@scure/sr25519 sign)",
      async () => scureSign(alice.secretKey, utf8.encode(epistulaMessage(await sha256Hex(bytes), crypto.randomUUID(), Date.now(), bob.ss58))),
      { iterations: Math.max(50, Math.floor(iterations / 2)) },
    ),
  );
  // The same module the Worker imports, compiled from the committed file (labels as in workerd).
  const wasmFile = SR25519_WASM_FILES.find((f) => f.to.endsWith(".wasm"))?.to;
  if (wasmFile) {
    const wasm = wasmSr25519(new WebAssembly.Module(readFileSync(wasmFile)));
    const js = prepareSigner(alice.secretKey, alice.publicKey);
    const message = utf8.encode(epistulaMessage(await sha256Hex(bytes), crypto.randomUUID(), Date.now(), bob.ss58));
    components.push(await measure("sr25519 signature alone, WebAssembly (schnorrkel)", () => wasm.sign(alice.publicKey, alice.secretKey, message), { iterations }));
    components.push(await measure("sr25519 signature alone, pure TS (prepared signer)", () => js.sign(message), { iterations: Math.max(50, Math.floor(iterations / 2)) }));
  }
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
  incentive: number;
  stakeRao: bigint;
}

type RankCandidates = (miners: readonly MinerLike[], opts: { model: string; maxAttempts: number }) => unknown;
type CandidateOrder = (miners: readonly MinerLike[], maxAttempts: number) => unknown;

/**
 * The selection function is imported by path at run time (not statically) because routing
 * changes under issue #4: the benchmark measures whatever select.ts exports when it runs —
 * `rankCandidates(miners, {model, maxAttempts})` (score-based) or the older
 * `candidateOrder(miners, maxAttempts)`.
 */
async function measureSelect(iterations: number): Promise<{ select: SelectResult[]; note: string }> {
  const path = "../../src/routing/select";
  const mod = (await import(path)) as Record<string, unknown>;
  const exported = Object.keys(mod).join(", ");
  let pick: ((miners: readonly MinerLike[]) => unknown) | null = null;
  let what = "";
  if (typeof mod.rankCandidates === "function") {
    const fn = mod.rankCandidates as RankCandidates;
    pick = (miners) => fn(miners, { model: "demo/tiny-chat", maxAttempts: 3 });
    what = "rankCandidates(miners, {model, maxAttempts: 3}) over fresh isolate stats";
  } else if (typeof mod.candidateOrder === "function") {
    const fn = mod.candidateOrder as CandidateOrder;
    pick = (miners) => fn(miners, 3);
    what = "candidateOrder(miners, 3)";
  }
  if (!pick) return { select: [], note: `select.ts exports [${exported}]; no known selection function to measure` };
  const out: SelectResult[] = [];
  for (const n of [3, 64, 256]) {
    const miners: MinerLike[] = Array.from({ length: n }, (_, i) => ({
      hotkey: `5Miner${i}`,
      uid: i,
      axonUrl: `http://127.0.0.1:${10_000 + i}`,
      models: new Set(["demo/tiny-chat"]),
      incentive: (i % 10) / 10,
      stakeRao: BigInt(i) * 1_000_000_000n,
    }));
    const run = pick;
    out.push({ ...(await measure(`pick over ${n} miners, 3 attempts`, () => run(miners), { iterations })), miners: n });
  }
  return { select: out, note: `measured ${what}` };
}
