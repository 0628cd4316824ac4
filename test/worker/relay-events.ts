/**
 * Chat SSE bytes -> the relay's events, parsed by the relay's own `parseEvent`: lets the dialect
 * translator tests feed the same bytes a miner sends, cut at any byte, into the real transforms.
 */
import { SseDecoder } from "../../src/lib/sse";
import type { RelayEvent } from "../../src/pipeline/contracts";
import { malformedEvent, parseEvent } from "../../src/pipeline/stream";

export function relayEvents(): TransformStream<Uint8Array, RelayEvent> {
  const decoder = new SseDecoder();
  const emit = (events: ReturnType<SseDecoder["push"]>, out: TransformStreamDefaultController<RelayEvent>) => {
    for (const ev of events) {
      const parsed = parseEvent(ev);
      out.enqueue(parsed.kind === "malformed" ? malformedEvent() : parsed);
    }
  };
  return new TransformStream({
    transform(chunk, out) {
      emit(decoder.push(chunk), out);
    },
    flush(out) {
      emit(decoder.end(), out);
    },
  });
}
