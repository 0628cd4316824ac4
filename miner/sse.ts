// Server-Sent Events output: `data: <json>` events paced one token per event, `data: [DONE]` last.
// Also where the stream-level misbehaviour knobs act (abrupt drop, malformed line).
import type { ServerResponse } from "node:http";
import type { MinerBehaviour } from "./options";
import { paced, type Pacing } from "./pacing";

export type StreamPlan = {
  /** Events sent together with the first unit (e.g. the role delta). */
  head: unknown[];
  /** One event per token. */
  units: unknown[];
  /** Events after the last unit (finish_reason chunk, usage chunk). */
  tail: unknown[];
  /** The finish chunk with `finish_reason: "error"` (finishErrorAfterTokens). */
  errorFinish: unknown;
};
export type StreamKnobs = Pick<
  MinerBehaviour,
  "dropAfterTokens" | "malformedStream" | "exitAfterTokens" | "stallAfterTokens" | "errorEventAfterTokens" | "finishErrorAfterTokens" | "emptyStream"
>;
export type StreamHooks = {
  /** The miner dies (exitAfterTokens), called once the tokens before it are on the wire. */
  exit: () => void;
  /** The first token (or the first event at all) was written. */
  firstToken: () => void;
};
export type StreamOutcome = "completed" | "dropped" | "client_closed" | "stalled" | "errored" | "exited";

/** The in-band error event a vLLM-style server sends when generation fails mid-stream. */
export const IN_BAND_ERROR = { error: { message: "The miner's generation failed (simulated).", type: "server_error", param: null, code: "simulated_stream_error" } };

export function startSse(res: ServerResponse): void {
  res.writeHead(200, {
    "content-type": "text/event-stream; charset=utf-8",
    "cache-control": "no-cache",
    connection: "keep-alive",
    "x-accel-buffering": "no",
  });
  res.flushHeaders();
}

const event = (data: unknown): string => `data: ${JSON.stringify(data)}\n\n`;

export async function writeStream(
  res: ServerResponse,
  plan: StreamPlan,
  pacing: Pacing,
  knobs: StreamKnobs,
  signal: AbortSignal,
  hooks: StreamHooks,
): Promise<StreamOutcome> {
  startSse(res);
  const malformedAt = Math.floor(plan.units.length / 2);
  let outcome: StreamOutcome | undefined;
  /** Calls `then` once everything written so far reached the wire (an empty write calls back after earlier ones). */
  const afterFlush = (then: (socket: NonNullable<typeof res.socket>) => void): void => {
    const socket = res.socket;
    if (socket) socket.write(new Uint8Array(0), () => then(socket));
  };
  /** Knobs act at token index k, and only inside the answer (k past its end: no effect). */
  const at = (k: number | undefined, i: number): boolean => k !== undefined && i === k && i < plan.units.length;
  const stop = (o: StreamOutcome): false => {
    outcome = o;
    return false;
  };
  // Unit "count" is units + 1 so the tail is emitted on the same schedule as a token would be.
  const ok = await paced(plan.units.length + 1, pacing, signal, (i) => {
    if (i === 0 && knobs.emptyStream) {
      res.end("data: [DONE]\n\n");
      return stop("completed");
    }
    if (at(knobs.stallAfterTokens, i)) return stop("stalled");
    if (at(knobs.errorEventAfterTokens, i)) {
      res.end(event(IN_BAND_ERROR));
      return stop("errored");
    }
    if (i === 0) {
      for (const h of plan.head) res.write(event(h));
      hooks.firstToken();
    }
    if (at(knobs.dropAfterTokens, i)) {
      // Abrupt: no finish chunk, no [DONE], no chunked terminator. Destroy only once the tokens
      // already written reach the wire, otherwise at high token rates the client would not even
      // see the first N tokens.
      afterFlush((socket) => socket.destroy());
      return stop("dropped");
    }
    if (at(knobs.exitAfterTokens, i)) {
      afterFlush(() => hooks.exit());
      return stop("exited");
    }
    if (at(knobs.finishErrorAfterTokens, i)) {
      res.write(event(plan.errorFinish));
      res.end("data: [DONE]\n\n");
      return stop("errored");
    }
    if (i < plan.units.length) {
      res.write(event(plan.units[i]));
      if (knobs.malformedStream && i === malformedAt) res.write('data: {"id":"malformed","choices":[{"delta":\n\n');
      return true;
    }
    for (const t of plan.tail) res.write(event(t));
    res.end("data: [DONE]\n\n");
    return true;
  });
  if (outcome === "stalled") {
    // Hold the connection, sending nothing, until the client gives up (or the miner closes).
    await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
    return "stalled";
  }
  if (outcome !== undefined) return outcome;
  return ok ? "completed" : "client_closed";
}
