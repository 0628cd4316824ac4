/**
 * A streamed answer's encoding, guarded. The relay meters a stream by how it ends; when a
 * dialect's translation of it fails (the gateway's own failure: a bug, a RangeError), the
 * translation cancels the relay, which on its own would look like the client going away
 * (`client_cancelled`, billed for what was delivered) while the client saw the stream just stop
 * (issue #15, finding 3). Guarded, such a failure is metered `internal_error` (never billed) and
 * the client's stream ends with the dialect's failure event. A client that leaves is still
 * metered by the relay as before.
 *
 *   relay events ─▶ tapped ─▶ dialect transforms ─▶ body ─▶ client
 *
 * `tapped` is cancelled either because the client left (the cancel came through `body` first,
 * which says so) or because a transform in between failed: that tells the two apart.
 */
import type { RelayEvent } from "./contracts";

export interface GuardedStream {
  /** The relay's events, for the dialect to translate. */
  events: ReadableStream<RelayEvent>;
  /** The dialect's bytes as the client receives them; a failure ends them with `failure`. */
  body(translated: ReadableStream<Uint8Array>, failure: Uint8Array): ReadableStream<Uint8Array>;
}

/** `onInternalFailure` is called once, with what failed. */
export function guardStream(relay: ReadableStream<RelayEvent>, onInternalFailure: (err: unknown) => void): GuardedStream {
  let clientLeft = false;
  let failed = false;
  const fail = (err: unknown) => {
    if (failed) return;
    failed = true;
    onInternalFailure(err);
  };
  const source = relay.getReader();
  const events = new ReadableStream<RelayEvent>(
    {
      async pull(ctrl) {
        const r = await source.read();
        if (r.done) ctrl.close();
        else ctrl.enqueue(r.value);
      },
      async cancel(reason) {
        if (!clientLeft) fail(reason);
        await source.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return {
    events,
    body(translated, failure) {
      const reader = translated.getReader();
      let ended = false;
      return new ReadableStream<Uint8Array>(
        {
          async pull(ctrl) {
            if (ended) return;
            try {
              const r = await reader.read();
              if (r.done) ctrl.close();
              else ctrl.enqueue(r.value);
            } catch (err) {
              ended = true;
              fail(err);
              ctrl.enqueue(failure);
              ctrl.close();
            }
          },
          async cancel(reason) {
            clientLeft = true;
            await reader.cancel(reason);
          },
        },
        { highWaterMark: 0 },
      );
    },
  };
}
