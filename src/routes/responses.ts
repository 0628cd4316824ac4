/**
 * OpenAI Responses API: POST /v1/responses, streamed (typed events) or not. The request is
 * translated to chat completions, validated and relayed like /v1/chat/completions; the answer
 * is translated back. Errors keep OpenAI's shape, which is the Responses API's own.
 */
import type { Context, Hono } from "hono";
import { isObj, readChatCompletion } from "../dialects/chat-answer";
import { chatStreamEvents } from "../dialects/chat-stream";
import { responsesToChat } from "../dialects/responses/request";
import { chatAnswerToResponse, type ResponseContext } from "../dialects/responses/response";
import { responsesStream } from "../dialects/responses/stream";
import { relayWithBudget } from "../dialects/budget";
import { affinityKey, affinitySource } from "../dialects/session";
import type { AppEnv } from "../http/app-env";
import { readJsonObject } from "../http/body";
import { requireSubscriber } from "../http/middleware";
import { countMessageTokens } from "../lib/tokens";
import { validateChat } from "../validation/requests";
import { relayContextFrom } from "./inference";

async function handleResponses(c: Context<AppEnv>): Promise<Response> {
  const body = await readJsonObject(c.req.raw, c.var.config.maxBodyBytes);
  const t = responsesToChat(body);
  if (t.droppedTools.length > 0) console.log(`${c.var.requestId}: responses: dropped non-function tools ${[...new Set(t.droppedTools)].join(", ")}`);
  const req = validateChat(t.chat);
  const source = affinitySource(c.req.raw.headers, body, t.chat.messages);
  // Budget headers and the subscriber's plan apply exactly as on /v1/chat/completions.
  const res = await relayWithBudget(c, req, relayContextFrom(c, await affinityKey(c.var.principal.subscriberId, source)));
  // A miner's own refusal (already in OpenAI's shape) or a client that went away.
  if (res.status !== 200) return res;

  const ctx: ResponseContext = {
    requestId: c.var.requestId,
    model: t.model,
    createdAt: Math.floor(Date.now() / 1000),
    echo: t.echo,
    promptTokensCounted: countMessageTokens(t.chat.messages),
  };
  const headers = new Headers(res.headers);
  if (req.stream && res.body) {
    return new Response(res.body.pipeThrough(chatStreamEvents()).pipeThrough(responsesStream(ctx)), { status: 200, headers });
  }
  const payload: unknown = await res.json();
  headers.delete("content-length");
  return new Response(JSON.stringify(chatAnswerToResponse(readChatCompletion(isObj(payload) ? payload : {}), ctx)), { status: 200, headers });
}

export function registerResponsesRoutes(app: Hono<AppEnv>): void {
  app.post("/v1/responses", requireSubscriber(), handleResponses);
}
