/**
 * Reads a request or response body as UTF-8 text, refusing more than `maxBytes` (declared in
 * Content-Length or seen while streaming a chunked body) without buffering the excess.
 * Returns null when the body is too large. Runtime-neutral (workerd and Node).
 *
 * What happens to the rest of a body that is too large depends on whose it is:
 * - "cancel" (the default; miners' answers): the stream is cancelled, which closes the
 *   connection, so a miner cannot keep the gateway busy receiving bytes it will discard.
 * - "drain" (client request bodies): the rest is read and discarded (up to MAX_DRAIN_BYTES),
 *   so the connection ends the request cleanly and stays usable. A cancelled request body makes
 *   workerd drop the connection mid-body; under `wrangler dev` the proxy then sent the next
 *   request down the dead connection and answered it "Your worker restarted mid-request"
 *   (issue #15). Merely releasing the reader is not enough: only a body never touched is drained
 *   by the runtime itself (a 401 before the body is read is fine).
 */
export type Excess = "cancel" | "drain";

export async function readTextLimited(message: Request | Response, maxBytes: number, excess: Excess = "cancel"): Promise<string | null> {
  const declared = message.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) {
    if (excess === "cancel") await message.body?.cancel().catch(() => {});
    return null;
  }
  if (!message.body) return "";
  const bytes = await readBytesLimited(message.body, maxBytes, excess);
  return bytes === null ? null : new TextDecoder().decode(bytes);
}

/** The whole stream as bytes, or null (see `Excess`) once it exceeds `maxBytes`. */
export async function readBytesLimited(body: ReadableStream<Uint8Array>, maxBytes: number, excess: Excess = "cancel"): Promise<Uint8Array | null> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      if (excess === "cancel") await reader.cancel();
      else await drain(reader, size);
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return all;
}

/** Client bodies are drained at most this far (then cancelled): enough for any body a client sends by mistake. */
export const MAX_DRAIN_BYTES = 64 * 1024 * 1024;

async function drain(reader: ReadableStreamDefaultReader<Uint8Array>, seen: number): Promise<void> {
  let size = seen;
  try {
    while (size <= MAX_DRAIN_BYTES) {
      const { done, value } = await reader.read();
      if (done) return;
      size += value.byteLength;
    }
    await reader.cancel();
  } catch {
    /* the client went away: nothing left to drain */
  }
}
