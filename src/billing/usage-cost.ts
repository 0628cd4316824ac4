/**
 * The request's cost inside OpenAI's `usage` object: `cost` in USD (the field OpenRouter-style
 * clients already read) and `cost_micro_usd`, the exact integer the gateway charged.
 */
import { usdNumber } from "./pricing";

/** Adds the cost to `holder.usage` when it is an object (a miner that sent no usage gets none). */
export function addCost(holder: Record<string, unknown>, costMicroUsd: number): void {
  const usage = holder.usage;
  if (usage === null || typeof usage !== "object" || Array.isArray(usage)) return;
  holder.usage = { ...usage, cost: usdNumber(costMicroUsd), cost_micro_usd: costMicroUsd };
}
