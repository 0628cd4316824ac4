// Server-Sent Events output: `data: <json>` events paced one token per event, `data: [DONE]` last.
// Also where the stream-level misbehaviour knobs act (abrupt drop, malformed line).
import type { ServerResponse } from "node:http";
import { paced, type Pacing } from "./pacing";

export type StreamPlan = {
  /** Events sent together with the first unit (e.g. the role delta). */
  head: unknown[];
  /** One event per token. */
  units: unknown[];
  /** Events after the last unit (finish_reason chunk, usage chunk). */
  tail: unknown[];
};
export type StreamKnobs = { dropAfterTokens: number | undefined; malformedStream: boolean };
export type StreamOutcome = "completed" | "dropped" | "client_closed";

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
): Promise<StreamOutcome> {
  startSse(res);
  const { dropAfterTokens, malformedStream } = knobs;
  const malformedAt = Math.floor(plan.units.length / 2);
  let dropped = false;
  const drop = (): false => {
    dropped = true;
    // Abrupt: no finish chunk, no [DONE], no chunked terminator. Destroy only once the tokens
    // already written reach the wire (an empty socket write calls back after earlier writes),
    // otherwise at high token rates the client would not even see the first N tokens.
    const socket = res.socket;
    if (socket) socket.write(new Uint8Array(0), () => socket.destroy());
    return false;
  };
  // Unit "count" is units + 1 so the tail is emitted on the same schedule as a token would be.
  const ok = await paced(plan.units.length + 1, pacing, signal, (i) => {
    if (i === 0) for (const h of plan.head) res.write(event(h));
    if (dropAfterTokens !== undefined && i === dropAfterTokens && i < plan.units.length) return drop();
    if (i < plan.units.length) {
      res.write(event(plan.units[i]));
      if (malformedStream && i === malformedAt) res.write('data: {"id":"malformed","choices":[{"delta":\n\n');
      return true;
    }
    for (const t of plan.tail) res.write(event(t));
    res.end("data: [DONE]\n\n");
    return true;
  });
  if (dropped) return "dropped";
  return ok ? "completed" : "client_closed";
}
