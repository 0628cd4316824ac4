/** The route stage: the miners serving the request's model, best first. */
import { modelNotFound } from "../errors";
import type { Miner } from "../routing/directory";
import type { RouteHint } from "../routing/score";
import type { InferenceRequest } from "../validation/requests";
import type { PipelineDeps } from "./contracts";

export async function route(
  deps: PipelineDeps,
  request: InferenceRequest,
  o: { sessionKey: string | undefined; hint: RouteHint },
): Promise<readonly Miner[]> {
  const snapshot = await deps.miners.snapshot();
  const serving = snapshot.byModel.get(request.model);
  if (!serving || serving.length === 0) throw modelNotFound(request.model);
  return deps.health.rank(serving, { model: request.model, maxAttempts: deps.config.maxMinerAttempts, hint: o.hint, affinityKey: o.sessionKey });
}
