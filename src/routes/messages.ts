/**
 * Anthropic Messages API: POST /v1/messages (streamed or not; `?beta=true` and any
 * `anthropic-beta` accepted) and POST /v1/messages/count_tokens. The request is translated to
 * chat completions, validated and relayed like /v1/chat/completions; the answer is translated
 * back (JSON, or the SSE stream event by event). Errors come out in Anthropic's shape.
 *
 * Also GET/HEAD `/` and `/api/hello`: Claude Code probes them before its first request.
 */
import type { Context, Hono } from "hono";
import { readChatCompletion, isObj } from "../dialects/chat-answer";
import { chatStreamEvents } from "../dialects/chat-stream";
import { anthropicErrors, reshapeMinerError } from "../dialects/anthropic/errors";
import { messagesToChat } from "../dialects/anthropic/request";
import { chatAnswerToMessage, type AnswerContext } from "../dialects/anthropic/response";
import { anthropicStream } from "../dialects/anthropic/stream";
import { relayWithBudget } from "../dialects/budget";
import { affinityKey, affinitySource } from "../dialects/session";
import type { AppEnv } from "../http/app-env";
import { readJsonObject } from "../http/body";
import { requireSubscriber } from "../http/middleware";
import { countMessageTokens } from "../lib/tokens";
import { validateChat } from "../validation/requests";
import { relayContextFrom } from "./inference";

async function handleMessages(c: Context<AppEnv>): Promise<Response> {
  const body = await readJsonObject(c.req.raw, c.var.config.maxBodyBytes);
  const t = messagesToChat(body);
  if (t.droppedTools.length > 0) console.log(`${c.var.requestId}: messages: dropped non-custom tools ${t.droppedTools.join(", ")}`);
  const req = validateChat(t.chat);
  const source = affinitySource(c.req.raw.headers, body, t.chat.messages);
  // Budget headers and the subscriber's plan apply exactly as on /v1/chat/completions.
  const res = await relayWithBudget(c, req, relayContextFrom(c, await affinityKey(c.var.principal.subscriberId, source)));
  if (res.status !== 200) return res.status === 499 ? res : reshapeMinerError(res, c.var.requestId);

  const ctx: AnswerContext = {
    requestId: c.var.requestId,
    model: t.model,
    stopSequences: t.stopSequences,
    hideThinking: t.hideThinking,
    promptTokensCounted: countMessageTokens(t.chat.messages),
  };
  const headers = new Headers(res.headers);
  headers.set("request-id", c.var.requestId);
  if (req.stream && res.body) {
    return new Response(res.body.pipeThrough(chatStreamEvents()).pipeThrough(anthropicStream(ctx)), { status: 200, headers });
  }
  const payload: unknown = await res.json();
  const message = chatAnswerToMessage(readChatCompletion(isObj(payload) ? payload : {}), ctx);
  headers.delete("content-length");
  return new Response(JSON.stringify(message), { status: 200, headers });
}

/** The gateway's own prompt count (the one it meters), over the translated conversation. */
async function handleCountTokens(c: Context<AppEnv>): Promise<Response> {
  const body = await readJsonObject(c.req.raw, c.var.config.maxBodyBytes);
  const t = messagesToChat(body, { forCounting: true });
  return c.json({ input_tokens: countMessageTokens(t.chat.messages) });
}

export function registerMessagesRoutes(app: Hono<AppEnv>): void {
  const auth = requireSubscriber();
  // "/v1/messages/*" also matches "/v1/messages" itself.
  app.use("/v1/messages/*", anthropicErrors());
  app.post("/v1/messages", auth, handleMessages);
  app.post("/v1/messages/count_tokens", auth, handleCountTokens);

  // Claude Code checks the base URL answers before it sends anything (HEAD; Hono serves HEAD from GET).
  const alive = (c: Context<AppEnv>) => c.json({ status: "ok" });
  app.get("/", alive);
  app.get("/api/hello", alive);
}
