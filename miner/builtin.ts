// Backend A: answers with the built-in deterministic model (tiny-model.ts), honouring pacing and
// the misbehaviour knobs. Usage is counted with the shared estimator on the request as sent.
import { randomBytes } from "node:crypto";
import { countMessageTokens, countTokens } from "../src/lib/tokens";
import { noteFirstToken, type Backend, type Endpoint, type RequestContext } from "./context";
import { embeddingResponse } from "./embeddings";
import { HttpError, parseJsonObject, sendJson } from "./http";
import { chatCompletion, chatStreamPlan, completionStreamPlan, textCompletion, usage, type Usage } from "./openai-shapes";
import { generationDelay } from "./pacing";
import { parseChatRequest, parseCompletionRequest, parseEmbeddingRequest } from "./requests";
import { writeStream, type StreamPlan } from "./sse";
import { answerChat, answerCompletion, completionTokens, streamUnits } from "./tiny-model";

const isEmbeddingModel = (id: string): boolean => /embed/i.test(id);

export function createBuiltinBackend(models: readonly string[]): Backend {
  function requireModel(model: string, endpoint: Endpoint): void {
    if (!models.includes(model)) {
      throw new HttpError(404, `The model \`${model}\` does not exist or you do not have access to it.`, "invalid_request_error", "model_not_found", "model");
    }
    if ((endpoint === "embeddings") !== isEmbeddingModel(model)) {
      const what = endpoint === "embeddings" ? "an embedding" : "a text generation";
      throw new HttpError(400, `The model \`${model}\` is not ${what} model.`, "invalid_request_error", "model_not_supported", "model");
    }
  }

  async function deliver(ctx: RequestContext, stream: boolean, plan: () => StreamPlan, json: () => unknown, units: number, u: Usage): Promise<void> {
    const { behaviour: b, res, signal, stats } = ctx;
    if (stream) {
      const outcome = await writeStream(res, plan(), b, b, signal, { exit: ctx.exit, firstToken: () => noteFirstToken(ctx) });
      if (outcome === "completed") stats.completed++;
      else if (outcome === "dropped") stats.dropped++;
      else if (outcome === "stalled") stats.stalled++;
      else if (outcome === "errored") stats.streamErrors++;
      else if (outcome === "exited") stats.exited++;
      else stats.clientClosed++;
      if (outcome !== "completed") return;
    } else {
      // Non-streamed answers have no "mid-stream": a drop or exit kills the connection without a
      // response, a stall never answers. The in-band error knobs are stream-only.
      const cutAt = [b.dropAfterTokens, b.exitAfterTokens, b.stallAfterTokens].reduce<number | undefined>(
        (min, k) => (k !== undefined && k < units && (min === undefined || k < min) ? k : min),
        undefined,
      );
      if (!(await generationDelay(cutAt ?? units, b, signal))) {
        stats.clientClosed++;
        return;
      }
      if (cutAt !== undefined) {
        if (cutAt === b.stallAfterTokens) {
          stats.stalled++;
          await new Promise<void>((resolve) => (signal.aborted ? resolve() : signal.addEventListener("abort", () => resolve(), { once: true })));
        } else if (cutAt === b.exitAfterTokens) {
          stats.exited++;
          ctx.exit();
        } else {
          res.socket?.destroy();
          stats.dropped++;
        }
        return;
      }
      noteFirstToken(ctx);
      sendJson(res, 200, json());
      stats.completed++;
    }
    stats.promptTokens += u.prompt_tokens;
    stats.completionTokens += u.completion_tokens;
  }

  const meta = (prefix: string, model: string) => ({
    id: `${prefix}-${randomBytes(12).toString("hex")}`,
    created: Math.floor(Date.now() / 1000),
    model,
  });

  return {
    models: () => Promise.resolve(models),

    async handle(ctx, endpoint) {
      const body = parseJsonObject(ctx.body);
      const knobs = { garbage: ctx.behaviour.garbage };
      const factor = ctx.behaviour.overReport;
      if (endpoint === "chat") {
        const req = parseChatRequest(body);
        requireModel(req.model, endpoint);
        const answer = answerChat(req, knobs);
        // Count the messages exactly as sent (not our parsed copy) so the gateway's count matches.
        const u = usage(countMessageTokens(body.messages), completionTokens(answer), factor);
        const m = meta("chatcmpl", req.model);
        await deliver(ctx, req.stream, () => chatStreamPlan(m, answer, u, req.includeUsage), () => chatCompletion(m, answer, u), streamUnits(answer), u);
      } else if (endpoint === "completions") {
        const req = parseCompletionRequest(body);
        requireModel(req.model, endpoint);
        const answer = answerCompletion(req, knobs);
        const u = usage(countTokens(req.prompt), answer.pieces.length, factor);
        const m = meta("cmpl", req.model);
        await deliver(ctx, req.stream, () => completionStreamPlan(m, answer, u, req.includeUsage), () => textCompletion(m, answer, u), answer.pieces.length, u);
      } else {
        const req = parseEmbeddingRequest(body);
        requireModel(req.model, endpoint);
        const response = embeddingResponse(req, factor);
        if (!(await generationDelay(1, ctx.behaviour, ctx.signal))) {
          ctx.stats.clientClosed++;
          return;
        }
        sendJson(ctx.res, 200, response);
        ctx.stats.completed++;
        ctx.stats.promptTokens += response.usage.prompt_tokens;
      }
    },
  };
}
