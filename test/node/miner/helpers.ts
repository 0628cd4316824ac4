// Shared bits for the miner tests: signed requests with overridable Epistula fields, SSE parsing.
import { signRequest } from "../../../src/protocol/epistula";
import { keypairFromUri, type Sr25519Keypair } from "../../../src/protocol/keys";
import type { RunningMiner } from "../../support/miner";

export const alice = keypairFromUri("//Alice");

export type SignOverrides = { signer?: Sr25519Keypair; signedFor?: string; now?: number; uuid?: string };

export async function signedHeaders(miner: Pick<RunningMiner, "hotkey">, body: string, o: SignOverrides = {}): Promise<Record<string, string>> {
  return signRequest({ body, signer: o.signer ?? alice, signedFor: o.signedFor ?? miner.hotkey, now: o.now, uuid: o.uuid });
}

/** POST JSON (or GET when body is undefined) with a fresh signature; returns status + parsed JSON. */
export async function call(
  miner: Pick<RunningMiner, "url" | "hotkey">,
  path: string,
  body?: unknown,
  o: SignOverrides = {},
): Promise<{ status: number; json: unknown; headers: Headers }> {
  const text = body === undefined ? "" : JSON.stringify(body);
  const headers = await signedHeaders(miner, text, o);
  const res = await fetch(`${miner.url}${path}`, {
    method: body === undefined ? "GET" : "POST",
    headers: body === undefined ? headers : { ...headers, "content-type": "application/json" },
    body: body === undefined ? undefined : text,
  });
  const raw = await res.text();
  return { status: res.status, json: raw === "" ? undefined : (JSON.parse(raw) as unknown), headers: res.headers };
}

/** Splits an SSE body into the `data:` payloads, in order (comments/other fields ignored). */
export function sseData(text: string): string[] {
  return text
    .split(/\r?\n\r?\n/)
    .filter((block) => block.trim() !== "")
    .map((block) =>
      block
        .split(/\r?\n/)
        .filter((l) => l.startsWith("data:"))
        .map((l) => l.slice(5).replace(/^ /, ""))
        .join("\n"),
    );
}

export async function streamCall(
  miner: Pick<RunningMiner, "url" | "hotkey">,
  path: string,
  body: unknown,
): Promise<{ status: number; contentType: string | null; events: string[] }> {
  const text = JSON.stringify(body);
  const res = await fetch(`${miner.url}${path}`, {
    method: "POST",
    headers: { ...(await signedHeaders(miner, text)), "content-type": "application/json" },
    body: text,
  });
  return { status: res.status, contentType: res.headers.get("content-type"), events: sseData(await res.text()) };
}

/** JSON chunks of a stream, asserting the last event is [DONE]. */
export function chunksOf(events: string[]): Array<Record<string, unknown>> {
  if (events.at(-1) !== "[DONE]") throw new Error(`stream did not end with [DONE]: ${events.at(-1)}`);
  return events.slice(0, -1).map((e) => JSON.parse(e) as Record<string, unknown>);
}

type Chunk = { choices: Array<{ delta: { content?: string | null; tool_calls?: Array<{ function?: { arguments?: string } }> } }> };
export function streamedContent(chunks: unknown[]): string[] {
  return chunks.flatMap((c) => (c as Chunk).choices.flatMap((ch) => (ch.delta.content ? [ch.delta.content] : [])));
}
