// Verified work per miner (pure): counted tokens x model price, scaled by quality.
//   value_pusd = sum over models of (prompt_tokens x input price + completion_tokens x output price)
//                (prices in micro-USD per million tokens, so the product is in pico-USD)
//   work       = value_pusd x quality_ppm / 1e6 (rounded down)
// Only subscriber rows make value; canary rows only feed quality.
import { minerQuality, type QualityComponents } from "./quality";
import type { UsageGroup } from "./usage";
import { PPM } from "./types";

export type ModelPrice = { model: string; inputMicroUsdPerMtok: number; outputMicroUsdPerMtok: number };

/** Price row that applies to models without their own (same key as billing's model_prices). */
export const DEFAULT_PRICE_MODEL = "*";
/**
 * Used when model_prices has neither the model nor a '*' row: the seeded default price ($0.20 /
 * $0.60 per million input / output tokens), i.e. an output token weighs three input tokens.
 */
export const FALLBACK_PRICE: ModelPrice = { model: DEFAULT_PRICE_MODEL, inputMicroUsdPerMtok: 200_000, outputMicroUsdPerMtok: 600_000 };

export function priceOf(prices: readonly ModelPrice[], model: string): ModelPrice {
  return prices.find((p) => p.model === model) ?? prices.find((p) => p.model === DEFAULT_PRICE_MODEL) ?? FALLBACK_PRICE;
}

export type MinerWork = {
  hotkey: string;
  /** Subscriber requests that count, and those that do not (failed, refused, cancelled before output, over-reported). */
  requestsCounted: number;
  requestsExcluded: number;
  promptTokens: number;
  completionTokens: number;
  valuePusd: bigint;
  quality: QualityComponents;
  work: bigint;
};

type Acc = { counted: number; excluded: number; prompt: number; completion: number; value: bigint; served: number; failed: number; reported: number; countedOfReported: number; canaryTotal: number; canaryOk: number };

const empty = (): Acc => ({ counted: 0, excluded: 0, prompt: 0, completion: 0, value: 0n, served: 0, failed: 0, reported: 0, countedOfReported: 0, canaryTotal: 0, canaryOk: 0 });

/** Work of every miner that appears in `groups`, sorted by hotkey. `routingScores` (ppm) is routing's hook. */
export function minerWork(groups: readonly UsageGroup[], prices: readonly ModelPrice[], routingScores?: ReadonlyMap<string, number>): MinerWork[] {
  const byMiner = new Map<string, Acc>();
  for (const g of groups) {
    const a = byMiner.get(g.hotkey) ?? empty();
    byMiner.set(g.hotkey, a);
    if (g.kind === "canary") {
      a.canaryTotal += g.served + g.failed;
      a.canaryOk += g.served;
      continue;
    }
    const price = priceOf(prices, g.model);
    a.counted += g.counted;
    a.excluded += g.requests - g.counted;
    a.prompt += g.promptTokens;
    a.completion += g.completionTokens;
    a.value += BigInt(g.promptTokens) * BigInt(price.inputMicroUsdPerMtok) + BigInt(g.completionTokens) * BigInt(price.outputMicroUsdPerMtok);
    a.served += g.served;
    a.failed += g.failed;
    a.reported += g.reportedTokens;
    a.countedOfReported += g.countedTokensOfReported;
  }
  return [...byMiner.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([hotkey, a]) => {
      const quality = minerQuality(
        { served: a.served, failed: a.failed, reportedTokens: a.reported, countedTokensOfReported: a.countedOfReported, canaryTotal: a.canaryTotal, canaryOk: a.canaryOk },
        routingScores?.get(hotkey),
      );
      return {
        hotkey,
        requestsCounted: a.counted,
        requestsExcluded: a.excluded,
        promptTokens: a.prompt,
        completionTokens: a.completion,
        valuePusd: a.value,
        quality,
        work: (a.value * BigInt(quality.qualityPpm)) / BigInt(PPM),
      };
    });
}
