/**
 * One request as a client makes it, with an optional abort at a planned point (before the answer,
 * or after some streamed content), and what the client saw: status, x-request-id, when headers
 * and the end arrived, and whether the answer was well formed and the deterministic model's
 * text. Nothing here decides whether a failure was expected; lib/verdicts.ts does, with the
 * usage records at hand.
 */
import { SseDecoder } from "../../src/lib/sse";
import { expectedEmbedding, expectedText, PATHS, readJsonAnswer, requestBody, StreamReader, type Ask, type Dialect } from "./dialects";
import { post, readAll, type Answer } from "./http";

export type AbortPlan = { kind: "none" } | { kind: "before_answer"; afterMs: number } | { kind: "mid_stream"; afterContentEvents: number };

export interface Planned extends Ask {
  seq: number;
  subscriberId: string;
  plan: string;
  key: string;
  abort: AbortPlan;
  /** Extra request headers (e.g. the gate probes' own). */
  headers?: Record<string, string>;
  /** Which part of the run sent it. */
  phase: "traffic" | "probe" | "final";
  /** Called once when a stream's first piece of text arrived (the probes' "held"). */
  onFirstContent?: () => void;
}

export type Outcome =
  /** A whole, well-formed answer with the expected content. */
  | "complete"
  /** An error answer (status >= 400) in the dialect's error shape. */
  | "error_status"
  /** A 200 stream that ended with the dialect's error event. */
  | "stream_error_event"
  /** The client aborted before it had the answer's headers. */
  | "aborted_before_headers"
  /** The client aborted after the headers (mid-stream, or while reading the body). */
  | "aborted_after_headers"
  /** Anything not well formed: bad JSON or shape, a stream that stopped without its end, wrong content. */
  | "malformed"
  /** No answer: the connection failed (not by the client's abort) or the client's own deadline passed. */
  | "no_answer";

export interface ClientRecord {
  seq: number;
  phase: Planned["phase"];
  subscriberId: string;
  plan: string;
  dialect: Dialect;
  model: string;
  stream: boolean;
  maxTokens: number;
  abort: AbortPlan["kind"];
  sentAt: number;
  headersAt: number | null;
  endAt: number;
  status: number | null;
  requestId: string | null;
  errorCode: string | null;
  outcome: Outcome;
  /** For "malformed" and "no_answer": what was wrong. */
  detail: string | null;
  miner: string | null;
  /** The answer's text (streams: what arrived), for checks that need it (the gate probes). */
  text: string | null;
}

/** Longest the client waits for one request before it aborts it and calls it "no answer". */
const CLIENT_DEADLINE_MS = 60_000;
/** If even the abort does not end it (a read that never settles), the record is closed this much later. */
const GRACE_MS = 10_000;

function parseOrUndefined(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function errorCodeOf(body: unknown): string | null {
  if (typeof body !== "object" || body === null || !("error" in body)) return null;
  const e = (body as { error: unknown }).error;
  if (typeof e !== "object" || e === null) return null;
  const r = e as Record<string, unknown>;
  return typeof r.code === "string" ? r.code : typeof r.type === "string" ? r.type : null;
}

export async function send(baseUrl: string, p: Planned): Promise<ClientRecord> {
  const stage: Stage = { at: "sending", rec: null };
  let timer: ReturnType<typeof setTimeout> | undefined;
  let closedLate: ClientRecord | null = null;
  const late = new Promise<ClientRecord>((resolve) => {
    timer = setTimeout(() => resolve((closedLate = hungRecord(p, stage))), CLIENT_DEADLINE_MS + GRACE_MS);
  });
  const r = await Promise.race([exchange(baseUrl, p, stage), late]);
  clearTimeout(timer);
  return closedLate ?? r;
}

/** Where a request is, for the record of one that never ended. */
interface Stage {
  at: string;
  rec: ClientRecord | null;
}

function hungRecord(p: Planned, stage: Stage): ClientRecord {
  const now = Date.now();
  return {
    ...(stage.rec ?? baseRecord(p, now - CLIENT_DEADLINE_MS - GRACE_MS)),
    endAt: now,
    outcome: "no_answer",
    detail: `still ${stage.at} ${GRACE_MS} ms after the client's ${CLIENT_DEADLINE_MS} ms deadline aborted it`,
  };
}

function baseRecord(p: Planned, sentAt: number): ClientRecord {
  return {
    seq: p.seq,
    phase: p.phase,
    subscriberId: p.subscriberId,
    plan: p.plan,
    dialect: p.dialect,
    model: p.model,
    stream: p.stream,
    maxTokens: p.maxTokens,
    abort: p.abort.kind,
    sentAt,
    headersAt: null,
    endAt: 0,
    status: null,
    requestId: null,
    errorCode: null,
    outcome: "no_answer",
    detail: null,
    miner: null,
    text: null,
  };
}

async function exchange(baseUrl: string, p: Planned, stage: Stage): Promise<ClientRecord> {
  const controller = new AbortController();
  let abortedByPlan = false;
  const abortNow = () => {
    abortedByPlan = true;
    controller.abort();
  };
  const deadline = setTimeout(() => controller.abort(), CLIENT_DEADLINE_MS);
  const planned = p.abort.kind === "before_answer" ? setTimeout(abortNow, p.abort.afterMs) : null;
  const rec = baseRecord(p, Date.now());
  stage.rec = rec;

  const finish = (outcome: Outcome, detail: string | null = null): ClientRecord => {
    clearTimeout(deadline);
    if (planned) clearTimeout(planned);
    rec.outcome = outcome;
    rec.detail = detail;
    rec.endAt = Date.now();
    return rec;
  };
  let res: Answer;
  try {
    res = await post(`${baseUrl}${PATHS[p.dialect]}`, { authorization: `Bearer ${p.key}`, "content-type": "application/json", ...p.headers }, JSON.stringify(requestBody(p)), controller.signal);
  } catch (err) {
    if (abortedByPlan) return finish("aborted_before_headers");
    return finish("no_answer", err instanceof Error ? err.message : String(err));
  }
  stage.at = `reading the body of a ${res.status} (${res.header("x-request-id")})`;
  rec.headersAt = Date.now();
  rec.status = res.status;
  rec.requestId = res.header("x-request-id");
  rec.miner = res.header("x-miner-hotkey");
  try {
    if (res.status !== 200) {
      const text = await readAll(res.body);
      rec.errorCode = errorCodeOf(parseOrUndefined(text));
      if (rec.errorCode === null) return finish("malformed", `status ${res.status} without an error body: ${JSON.stringify(text.slice(0, 160))}`);
      return finish("error_status");
    }
    return p.stream ? await readStream(res, p, rec, abortNow, finish) : await readJson(res, p, rec, finish);
  } catch (err) {
    if (abortedByPlan) return finish("aborted_after_headers");
    return finish("no_answer", `body: ${err instanceof Error ? err.message : String(err)}`);
  }
}

async function readJson(res: Answer, p: Planned, rec: ClientRecord, finish: (o: Outcome, d?: string | null) => ClientRecord): Promise<ClientRecord> {
  const raw = await readAll(res.body);
  let body: unknown;
  try {
    body = JSON.parse(raw);
  } catch {
    return finish("malformed", `not JSON: ${raw.slice(0, 120)}`);
  }
  const answer = readJsonAnswer(p.dialect, body);
  if (!answer.ok) return finish("malformed", answer.detail);
  rec.text = answer.text;
  if (answer.vector) {
    const want = expectedEmbedding(p.prompt);
    const same = answer.vector.length === want.length && answer.vector.every((x, i) => Math.abs(x - (want[i] ?? Number.NaN)) < 1e-6);
    return same ? finish("complete") : finish("malformed", "not the reference embedding");
  }
  const want = expectedText(p);
  if (want !== null && answer.text !== want) return finish("malformed", `content ${JSON.stringify(answer.text)} is not ${JSON.stringify(want)}`);
  return finish("complete");
}

async function readStream(
  res: Answer,
  p: Planned,
  rec: ClientRecord,
  abortNow: () => void,
  finish: (o: Outcome, d?: string | null) => ClientRecord,
): Promise<ClientRecord> {
  if (!(res.header("content-type") ?? "").startsWith("text/event-stream")) return finish("malformed", `content-type ${res.header("content-type")}`);
  const reader = new StreamReader(p.dialect);
  const decoder = new SseDecoder();
  for await (const chunk of res.body) {
    const before = reader.contentEvents;
    reader.push(decoder.push(chunk));
    if (before === 0 && reader.contentEvents > 0) p.onFirstContent?.();
    if (p.abort.kind === "mid_stream" && reader.contentEvents >= p.abort.afterContentEvents && reader.end === null) {
      rec.text = reader.text;
      abortNow();
      return finish("aborted_after_headers");
    }
  }
  reader.push(decoder.end());
  rec.text = reader.text;
  if (reader.malformed) return finish("malformed", reader.malformed);
  const want = expectedText(p);
  // Whatever arrived must be the model's answer so far: splicing a continuation must not change it.
  if (want !== null && !want.startsWith(reader.text)) return finish("malformed", `content ${JSON.stringify(reader.text)} is not a prefix of ${JSON.stringify(want)}`);
  if (reader.end === "error") return finish("stream_error_event");
  if (reader.end === null) return finish("malformed", "the stream stopped without its end or an error event");
  if (want !== null && reader.text !== want) return finish("malformed", `content ${JSON.stringify(reader.text)} is not ${JSON.stringify(want)}`);
  return finish("complete");
}
