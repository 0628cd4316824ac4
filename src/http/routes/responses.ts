/** OpenAI Responses API: POST /v1/responses, streamed (typed events) or not, through the pipeline. */
import type { Hono } from "hono";
import { responsesDialect } from "../../dialects/responses/dialect";
import type { AppEnv } from "../app-env";
import { requireSubscriber } from "../middleware";
import { inferenceHandler } from "../pipeline";

export function registerResponsesRoutes(app: Hono<AppEnv>): void {
  app.post("/v1/responses", requireSubscriber(), inferenceHandler(responsesDialect));
}
