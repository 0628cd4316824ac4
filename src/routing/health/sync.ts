/**
 * Moves observations between the isolate's book and the model's MinerHealth object, off the
 * request path: called from the usage hook (already under waitUntil) and by admin/canary code.
 */
import type { Env } from "../../env";
import { countOp } from "../../lib/op-counts";
import { adoptSnapshot, restorePending, takeFlush } from "./book";

export async function flushHealth(env: Pick<Env, "MINER_HEALTH">, model: string, force = false): Promise<void> {
  if (!env.MINER_HEALTH) return;
  const batch = takeFlush(model, Date.now(), force);
  if (!batch) return;
  try {
    const stub = env.MINER_HEALTH.get(env.MINER_HEALTH.idFromName(model));
    countOp("health.report");
    adoptSnapshot(model, await stub.report(batch));
  } catch (err) {
    console.error(`miner health flush for ${model} failed; keeping ${batch.length} observations`, err);
    restorePending(model, batch);
  }
}

/** Refreshes the local view from the shared one (admin listings). */
export async function pullHealth(env: Pick<Env, "MINER_HEALTH">, model: string): Promise<void> {
  if (!env.MINER_HEALTH) return;
  await flushHealth(env, model, true);
  const stub = env.MINER_HEALTH.get(env.MINER_HEALTH.idFromName(model));
  countOp("health.snapshot");
  adoptSnapshot(model, await stub.snapshot());
}
