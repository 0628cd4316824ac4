/**
 * Reads a request or response body as UTF-8 text, refusing more than `maxBytes` (declared in
 * Content-Length or seen while streaming a chunked body) without buffering the excess.
 * Returns null when the body is too large. Runtime-neutral (workerd and Node).
 */
export async function readTextLimited(message: Request | Response, maxBytes: number): Promise<string | null> {
  const declared = message.headers.get("content-length");
  if (declared !== null && Number(declared) > maxBytes) return null;
  if (!message.body) return "";
  const reader = message.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > maxBytes) {
      await reader.cancel();
      return null;
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return new TextDecoder().decode(chunks[0]);
  const all = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    all.set(c, at);
    at += c.byteLength;
  }
  return new TextDecoder().decode(all);
}
