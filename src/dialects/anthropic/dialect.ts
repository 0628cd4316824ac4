/**
 * Anthropic's Messages dialect: the request is translated to chat completions and validated like
 * /v1/chat/completions; the outcome is translated back (a Message, the Messages event stream, or
 * an Anthropic-shaped error for a miner's refusal).
 */
import { readChatCompletion } from "../chat-answer";
import { chatEvents, sseEvent } from "../chat-stream";
import { setStreamHeaders } from "../openai/dialect";
import type { Dialect } from "../../pipeline/contracts";
import { validateChat } from "../../validation/requests";
import { minerRefusalBody } from "./errors";
import { messagesToChat } from "./request";
import { chatAnswerToMessage, type AnswerContext } from "./response";
import { anthropicStream } from "./stream";

type MessagesContext = Pick<AnswerContext, "model" | "stopSequences" | "hideThinking">;

export const messagesDialect: Dialect<MessagesContext> = {
  name: "anthropic",
  decode(body, requestId) {
    const t = messagesToChat(body);
    if (t.droppedTools.length > 0) console.log(`${requestId}: messages: dropped non-custom tools ${t.droppedTools.join(", ")}`);
    return {
      request: validateChat(t.chat),
      conversation: t.chat.messages,
      context: { model: t.model, stopSequences: t.stopSequences, hideThinking: t.hideThinking },
    };
  },
  encode(outcome, context, meta) {
    const { headers } = meta;
    headers.set("request-id", meta.requestId);
    const ctx: AnswerContext = { ...context, requestId: meta.requestId, promptTokensCounted: meta.promptTokens };
    switch (outcome.kind) {
      case "refusal":
        headers.set("content-type", "application/json");
        return new Response(JSON.stringify(minerRefusalBody(outcome.status, outcome.body, meta.requestId)), { status: outcome.status, headers });
      case "answer":
        headers.set("content-type", "application/json");
        return new Response(JSON.stringify(chatAnswerToMessage(readChatCompletion(outcome.payload), ctx)), { status: 200, headers });
      case "stream":
        setStreamHeaders(headers);
        return new Response(outcome.events.pipeThrough(chatEvents()).pipeThrough(anthropicStream(ctx)), { status: 200, headers });
    }
  },
  streamFailure() {
    return sseEvent("error", { type: "error", error: { type: "api_error", message: "The gateway failed while translating the answer; it is incomplete." } });
  },
};
