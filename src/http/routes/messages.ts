/**
 * Anthropic Messages API: POST /v1/messages (streamed or not; `?beta=true` and any
 * `anthropic-beta` accepted) through the pipeline with the Messages dialect, and
 * POST /v1/messages/count_tokens. Errors come out in Anthropic's shape.
 *
 * Also GET/HEAD `/` and `/api/hello`: Claude Code probes them before its first request.
 */
import type { Context, Hono } from "hono";
import { messagesDialect } from "../../dialects/anthropic/dialect";
import { messagesToChat } from "../../dialects/anthropic/request";
import { anthropicErrors } from "../anthropic-errors";
import type { AppEnv } from "../app-env";
import { readJsonObject } from "../body";
import { requireSubscriber } from "../middleware";
import { inferenceHandler } from "../pipeline";
import { countMessageTokens } from "../../lib/tokens";

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
  app.post("/v1/messages", auth, inferenceHandler(messagesDialect));
  app.post("/v1/messages/count_tokens", auth, handleCountTokens);

  // Claude Code checks the base URL answers before it sends anything (HEAD; Hono serves HEAD from GET).
  const alive = (c: Context<AppEnv>) => c.json({ status: "ok" });
  app.get("/", alive);
  app.get("/api/hello", alive);
}
