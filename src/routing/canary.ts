/**
 * Canary probes: signed synthetic requests to every active miner, checked against answers the
 * gateway knows, folded into routing's measurements (canary pass rate, and success/circuit for
 * miners that do not answer at all). Each probe is metered as a `canary` usage event, never to a
 * subscriber. Runs from the gateway's cron (CANARY_CRON) and `POST /admin/canaries/run`.
 *
 * Probes per chat model: "Repeat exactly: <nonce>", "What is A+B?", a required tool call with
 * JSON arguments, and a streamed answer that must end in [DONE] with honest usage. Models whose
 * id contains "embed" get an embeddings probe (finite vectors, one per input).
 */
import { UsageMeter } from "../billing/meter";
import type { Endpoint } from "../billing/usage-event";
import { usageSink } from "../billing/usage-sink";
import type { Env } from "../env";
import { SseDecoder } from "../lib/sse";
import { countMessageTokens, countTokens } from "../lib/tokens";
import type { Sr25519Keypair } from "../protocol/keys";
import { answerText } from "./answer-text";
import { minerSnapshot, type Miner } from "./directory";
import { record } from "./health/book";
import { flushHealth } from "./health/sync";
import { callMiner } from "./miner-client";
import { gatewayKeypair } from "./signer";

const PROBE_TIMEOUT_MS = 15_000;
const WORDS = ["amber", "basalt", "cobalt", "delta", "ember", "fjord", "garnet", "harbor", "indigo", "juniper", "kelp", "lumen"];

export interface CanaryResult {
  hotkey: string;
  model: string;
  probe: string;
  pass: boolean;
  detail: string;
}

type Obj = Record<string, unknown>;
type Check = (answer: { payload: Obj | null; text: string; streamOk: boolean; reported: number | null }) => string | null;

interface Probe {
  name: string;
  endpoint: Endpoint;
  body: Obj;
  /** null = pass, otherwise why it failed. */
  check: Check;
}

function pick(random: () => number): string {
  return WORDS[Math.floor(random() * WORDS.length)] as string;
}

export function chatProbes(model: string, random: () => number = Math.random): Probe[] {
  const nonce = `${pick(random)} ${pick(random)} ${Math.floor(random() * 1e6)}`;
  const a = 10 + Math.floor(random() * 80);
  const b = 10 + Math.floor(random() * 80);
  const tool = { type: "function", function: { name: "lookup_order", parameters: { type: "object", properties: { order_id: { type: "string" } }, required: ["order_id"] } } };
  return [
    {
      name: "repeat",
      endpoint: "chat.completions",
      body: { model, messages: [{ role: "user", content: `Repeat exactly: ${nonce}` }], max_tokens: 32, temperature: 0 },
      check: ({ text }) => (text.trim() === nonce ? null : `expected "${nonce}", got "${text.slice(0, 80)}"`),
    },
    {
      name: "arithmetic",
      endpoint: "chat.completions",
      body: { model, messages: [{ role: "user", content: `What is ${a}+${b}?` }], max_tokens: 16, temperature: 0 },
      check: ({ text }) => (new RegExp(`(^|\\D)${a + b}(\\D|$)`).test(text) ? null : `expected ${a + b}, got "${text.slice(0, 80)}"`),
    },
    {
      name: "tool_call",
      endpoint: "chat.completions",
      body: { model, messages: [{ role: "user", content: "Look up my order with lookup_order." }], tools: [tool], tool_choice: "required", max_tokens: 64 },
      check: ({ payload }) => {
        const choice = (payload?.choices as Obj[] | undefined)?.[0];
        const call = ((choice?.message as Obj | undefined)?.tool_calls as Obj[] | undefined)?.[0];
        const fn = call?.function as Obj | undefined;
        if (fn?.name !== "lookup_order") return "no lookup_order tool call";
        try {
          const args: unknown = JSON.parse(String(fn.arguments));
          return args && typeof args === "object" && "order_id" in args ? null : "arguments lack order_id";
        } catch {
          return "arguments are not JSON";
        }
      },
    },
    {
      name: "stream_usage",
      endpoint: "chat.completions",
      body: { model, messages: [{ role: "user", content: "Describe the sea in one sentence." }], stream: true, stream_options: { include_usage: true }, max_tokens: 48 },
      check: ({ text, streamOk, reported }) => {
        if (!streamOk) return "stream did not end with [DONE]";
        if (reported === null) return "no usage chunk";
        const counted = countTokens(text);
        return reported <= counted * 1.5 + 2 ? null : `reported ${reported} completion tokens for ${counted} delivered`;
      },
    },
  ];
}

export function embeddingProbe(model: string): Probe {
  return {
    name: "embeddings",
    endpoint: "embeddings",
    body: { model, input: ["canary one", "canary two"] },
    check: ({ payload }) => {
      const data = payload?.data as Obj[] | undefined;
      if (!Array.isArray(data) || data.length !== 2) return "expected two embeddings";
      const ok = data.every((d) => Array.isArray(d.embedding) && d.embedding.length > 0 && d.embedding.every((x) => typeof x === "number" && Number.isFinite(x)));
      return ok ? null : "embeddings are not finite vectors";
    },
  };
}

const PATHS: Record<Endpoint, string> = { "chat.completions": "/v1/chat/completions", completions: "/v1/completions", embeddings: "/v1/embeddings" };

async function runProbe(env: Env, miner: Miner, model: string, probe: Probe, signer: Sr25519Keypair): Promise<CanaryResult> {
  const streamed = probe.body.stream === true;
  const meter = new UsageMeter(
    {
      requestId: `canary_${crypto.randomUUID().replace(/-/g, "")}`,
      kind: "canary",
      subscriberId: null,
      apiKeyId: null,
      endpoint: probe.endpoint,
      model,
      streamed,
      promptTokensCounted: probe.endpoint === "embeddings" ? 4 : countMessageTokens(probe.body.messages),
    },
    usageSink(env),
  );
  meter.attempt(miner.hotkey);
  const result = (pass: boolean, detail: string): CanaryResult => ({ hotkey: miner.hotkey, model, probe: probe.name, pass, detail });
  let res: Response;
  try {
    res = await callMiner(miner, PATHS[probe.endpoint], new TextEncoder().encode(JSON.stringify(probe.body)), signer, AbortSignal.timeout(PROBE_TIMEOUT_MS));
  } catch (err) {
    meter.finish("miner_error", 502, "canary_unreachable");
    await meter.settled;
    record(model, { kind: "failure", hotkey: miner.hotkey, at: Date.now(), failure: "connect" });
    return result(false, `unreachable: ${err instanceof Error ? err.message : String(err)}`);
  }
  let payload: Obj | null = null;
  let text = "";
  let streamOk = false;
  let reported: number | null = null;
  const noteUsage = (usage: unknown) => {
    if (!usage || typeof usage !== "object") return;
    meter.reportUsage(usage);
    const n = (usage as Obj).completion_tokens;
    if (typeof n === "number") reported = n;
  };
  try {
    if (!res.ok) {
      await res.body?.cancel();
      throw new Error(`status ${res.status}`);
    }
    if (streamed) {
      const decoder = new SseDecoder();
      const events = [...decoder.push(new Uint8Array(await res.arrayBuffer())), ...decoder.end()];
      for (const ev of events) {
        if (ev.data === "[DONE]") {
          streamOk = true;
          continue;
        }
        const chunk = JSON.parse(ev.data) as Obj;
        noteUsage(chunk.usage);
        text += answerText(probe.endpoint, chunk);
      }
    } else {
      payload = (await res.json()) as Obj;
      noteUsage(payload.usage);
      text = answerText(probe.endpoint, payload);
    }
  } catch (err) {
    meter.finish("bad_response", 502, "canary_bad_response");
    await meter.settled;
    return result(false, `bad answer: ${err instanceof Error ? err.message : String(err)}`);
  }
  meter.firstByte();
  meter.deliver(text);
  // A wrong answer is metered as bad_response, so settlement's quality sees failed canaries too.
  const why = probe.check({ payload, text, streamOk, reported });
  if (why === null) meter.finish("ok", 200, null);
  else meter.finish("bad_response", 200, "canary_failed");
  await meter.settled;
  return result(why === null, why ?? "ok");
}

export async function runCanaries(env: Env, random: () => number = Math.random): Promise<CanaryResult[]> {
  const snapshot = await minerSnapshot(env.DB, 0);
  const signer = gatewayKeypair(env);
  const results = await Promise.all(
    snapshot.miners.map(async (miner) => {
      const out: CanaryResult[] = [];
      for (const model of miner.models) {
        const probes = model.includes("embed") ? [embeddingProbe(model)] : chatProbes(model, random);
        const mine: CanaryResult[] = [];
        for (const probe of probes) mine.push(await runProbe(env, miner, model, probe, signer));
        // One verdict per miner and model per run: a miner that gets any known answer wrong
        // serves wrong answers to users too, so partial credit would flatter it.
        record(model, { kind: "canary", hotkey: miner.hotkey, at: Date.now(), pass: mine.every((r) => r.pass) });
        out.push(...mine);
      }
      return out;
    }),
  );
  await Promise.all([...snapshot.byModel.keys()].map((model) => flushHealth(env, model, true)));
  return results.flat();
}
