/**
 * OpenAI's Responses dialect: the request is translated to chat completions and validated like
 * /v1/chat/completions; the outcome is translated back (a response object or the typed event
 * stream). A miner's refusal keeps OpenAI's shape, which is the Responses API's own.
 */
import { readChatCompletion } from "../chat-answer";
import { chatEvents, sseEvent } from "../chat-stream";
import { encodeOpenAI, setStreamHeaders } from "../openai/dialect";
import type { Dialect } from "../../pipeline/contracts";
import { validateChat } from "../../validation/requests";
import { responsesToChat } from "./request";
import { chatAnswerToResponse, responseId, type ResponseContext } from "./response";
import { responsesStream } from "./stream";

type ResponsesContext = Pick<ResponseContext, "model" | "echo">;

export const responsesDialect: Dialect<ResponsesContext> = {
  name: "responses",
  decode(body, requestId) {
    const t = responsesToChat(body);
    if (t.droppedTools.length > 0) console.log(`${requestId}: responses: dropped non-function tools ${[...new Set(t.droppedTools)].join(", ")}`);
    return { request: validateChat(t.chat), conversation: t.chat.messages, context: { model: t.model, echo: t.echo } };
  },
  encode(outcome, context, meta) {
    const ctx: ResponseContext = { ...context, requestId: meta.requestId, createdAt: Math.floor(meta.now / 1000), promptTokensCounted: meta.promptTokens };
    switch (outcome.kind) {
      case "refusal":
        return encodeOpenAI(outcome, meta);
      case "answer":
        meta.headers.set("content-type", "application/json");
        return new Response(JSON.stringify(chatAnswerToResponse(readChatCompletion(outcome.payload), ctx)), { status: 200, headers: meta.headers });
      case "stream":
        setStreamHeaders(meta.headers);
        return new Response(outcome.events.pipeThrough(chatEvents()).pipeThrough(responsesStream(ctx)), { status: 200, headers: meta.headers });
    }
  },
  streamFailure(_context, meta) {
    // Nothing of the request echoed: what it held may be what failed.
    const error = { code: "server_error", message: "The gateway failed while translating the answer; it is incomplete." };
    return sseEvent("response.failed", { type: "response.failed", response: { id: responseId(meta.requestId), object: "response", status: "failed", error } });
  },
};
