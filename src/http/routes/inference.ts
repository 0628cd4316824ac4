/** POST /v1/chat/completions, /v1/completions, /v1/embeddings: OpenAI's dialect through the pipeline. */
import type { Hono } from "hono";
import { chatDialect, completionsDialect, embeddingsDialect } from "../../dialects/openai/dialect";
import type { AppEnv } from "../app-env";
import { requireSubscriber } from "../middleware";
import { inferenceHandler } from "../pipeline";

export function registerInferenceRoutes(app: Hono<AppEnv>): void {
  const auth = requireSubscriber();
  app.post("/v1/chat/completions", auth, inferenceHandler(chatDialect));
  app.post("/v1/completions", auth, inferenceHandler(completionsDialect));
  app.post("/v1/embeddings", auth, inferenceHandler(embeddingsDialect));
}
