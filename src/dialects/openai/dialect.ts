/**
 * OpenAI's own dialect (chat completions, completions, embeddings): the body is validated and
 * sent to miners as it is, and their answer comes back byte for byte (a stream's frames as the
 * relay passes them; a JSON answer re-serialised only because `usage` gains the cost).
 */
import type { JsonObject } from "../../lib/json";
import type { Dialect, DispatchOutcome, EncodeMeta, RelayEvent } from "../../pipeline/contracts";
import { validateChat, validateCompletion, validateEmbeddings, type InferenceRequest } from "../../validation/requests";

type Validator = (body: JsonObject) => InferenceRequest;

function openaiDialect(validate: Validator): Dialect<null> {
  return {
    name: "openai",
    decode(body) {
      const request = validate(body);
      return { request, conversation: request.body.messages, context: null };
    },
    encode(outcome, _ctx, meta) {
      return encodeOpenAI(outcome, meta);
    },
  };
}

export const chatDialect = openaiDialect(validateChat);
export const completionsDialect = openaiDialect(validateCompletion);
export const embeddingsDialect = openaiDialect(validateEmbeddings);

/** An outcome in OpenAI's shape; the Responses dialect uses it for miners' refusals too. */
export function encodeOpenAI(outcome: Exclude<DispatchOutcome, { kind: "cancelled" }>, meta: EncodeMeta): Response {
  const { headers } = meta;
  switch (outcome.kind) {
    case "answer":
      headers.set("content-type", "application/json");
      return new Response(JSON.stringify(outcome.payload), { status: 200, headers });
    case "refusal":
      headers.set("content-type", "application/json");
      return new Response(outcome.body, { status: outcome.status, headers });
    case "stream":
      setStreamHeaders(headers);
      return new Response(outcome.events.pipeThrough(wireBytes()), { status: 200, headers });
  }
}

export function setStreamHeaders(headers: Headers): void {
  headers.set("content-type", "text/event-stream; charset=utf-8");
  headers.set("cache-control", "no-cache");
}

/** Relay events -> the bytes an OpenAI client receives. */
function wireBytes(): TransformStream<RelayEvent, Uint8Array> {
  return new TransformStream({
    transform(ev, out) {
      out.enqueue(ev.raw);
    },
  });
}
