/**
 * Server-Sent Events decoding, layered bytes -> lines -> events, safe against any chunk split:
 * a multi-byte character, a `\r\n` pair or a field name may be cut across network chunks.
 */

export interface SseEvent {
  /** The `event:` field, or "message" when absent. */
  event: string;
  /** Every `data:` line of the event joined by "\n". */
  data: string;
  id: string | null;
}

/** Bytes -> complete lines (without terminators). Accepts \n, \r\n and lone \r. */
export class LineDecoder {
  private readonly text = new TextDecoder("utf-8");
  private buffer = "";
  /** The previous chunk ended in "\r": a "\n" opening the next chunk belongs to it. */
  private pendingCR = false;

  push(chunk: Uint8Array): string[] {
    return this.split(this.text.decode(chunk, { stream: true }));
  }

  /** Characters received of the line not yet terminated. */
  get pendingLength(): number {
    return this.buffer.length;
  }

  end(): string[] {
    const lines = this.split(this.text.decode());
    if (this.buffer !== "") lines.push(this.buffer);
    this.buffer = "";
    return lines;
  }

  private split(input: string): string[] {
    let s = input;
    if (this.pendingCR && s.startsWith("\n")) s = s.slice(1);
    this.pendingCR = false;
    const lines: string[] = [];
    let start = 0;
    for (let i = 0; i < s.length; i++) {
      const ch = s.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      lines.push(this.buffer + s.slice(start, i));
      this.buffer = "";
      if (ch === 13) {
        if (i + 1 < s.length) {
          if (s.charCodeAt(i + 1) === 10) i++;
        } else {
          this.pendingCR = true;
        }
      }
      start = i + 1;
    }
    this.buffer += s.slice(start);
    return lines;
  }
}

/** An event (with the unterminated line it is still receiving) grew past the decoder's limit. */
export class SseEventTooLarge extends Error {
  override name = "SseEventTooLarge";
  constructor(readonly limit: number) {
    super(`an event larger than ${limit} bytes`);
  }
}

/** Lines -> events, per the WHATWG event-stream interpretation rules. */
export class SseDecoder {
  private readonly lines = new LineDecoder();
  private data: string[] = [];
  private dataLength = 0;
  private event = "";
  private id: string | null = null;

  /**
   * @param maxEventBytes the most one event may hold while it is being received (its data lines
   *   plus the line not yet terminated, measured in UTF-16 code units: bytes for the ASCII JSON
   *   miners send). Past it `push` throws SseEventTooLarge, so a peer that never ends a line or
   *   an event cannot make the decoder buffer without bound. Unbounded when omitted.
   */
  constructor(private readonly maxEventBytes = Number.POSITIVE_INFINITY) {}

  push(chunk: Uint8Array): SseEvent[] {
    const events = this.consume(this.lines.push(chunk));
    if (this.dataLength + this.lines.pendingLength > this.maxEventBytes) throw new SseEventTooLarge(this.maxEventBytes);
    return events;
  }

  /** Flushes a final event that was not followed by a blank line. */
  end(): SseEvent[] {
    const events = this.consume(this.lines.end());
    const last = this.dispatch();
    if (last) events.push(last);
    return events;
  }

  private consume(lines: string[]): SseEvent[] {
    const events: SseEvent[] = [];
    for (const line of lines) {
      if (line === "") {
        const ev = this.dispatch();
        if (ev) events.push(ev);
        continue;
      }
      if (line.charCodeAt(0) === 58 /* ':' comment */) continue;
      const colon = line.indexOf(":");
      const field = colon === -1 ? line : line.slice(0, colon);
      let value = colon === -1 ? "" : line.slice(colon + 1);
      if (value.charCodeAt(0) === 32) value = value.slice(1);
      if (field === "data") {
        this.data.push(value);
        this.dataLength += value.length + 1;
        if (this.dataLength > this.maxEventBytes) throw new SseEventTooLarge(this.maxEventBytes);
      } else if (field === "event") this.event = value;
      else if (field === "id") this.id = value;
    }
    return events;
  }

  private dispatch(): SseEvent | null {
    if (this.data.length === 0) {
      this.event = "";
      return null;
    }
    const ev: SseEvent = { event: this.event || "message", data: this.data.join("\n"), id: this.id };
    this.data = [];
    this.dataLength = 0;
    this.event = "";
    return ev;
  }
}

const encoder = new TextEncoder();

/** Encodes one `data:` event. `data` must not contain newlines (JSON.stringify output never does). */
export function sseData(data: string): Uint8Array {
  return encoder.encode(`data: ${data}\n\n`);
}
