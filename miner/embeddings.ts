// Deterministic unit-norm embeddings: the same input always maps to the same vector, so
// gateway tests can compare answers across miners. float32 values, like OpenAI's base64 form.
import { countTokens } from "../src/lib/tokens";
import { rngFromText } from "./prng";
import type { EmbeddingRequest } from "./requests";

export function embed(input: string | number[], dimensions: number): Float32Array {
  const rng = rngFromText(typeof input === "string" ? `s:${input}` : `t:${input.join(",")}`);
  const v = new Float32Array(dimensions);
  let norm = 0;
  for (let i = 0; i < dimensions; i++) {
    // Box-Muller gives a direction uniform on the sphere once normalised.
    const u = 1 - rng.next();
    const x = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.next());
    v[i] = x;
    norm += x * x;
  }
  const scale = 1 / Math.sqrt(norm || 1);
  for (let i = 0; i < dimensions; i++) v[i] = (v[i] ?? 0) * scale;
  return v;
}

export type EmbeddingResponse = {
  object: "list";
  data: Array<{ object: "embedding"; index: number; embedding: number[] | string }>;
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
};

export function inputTokens(input: string | number[]): number {
  return typeof input === "string" ? countTokens(input) : input.length;
}

export function embeddingResponse(req: EmbeddingRequest, usageFactor: number): EmbeddingResponse {
  let tokens = 0;
  const data = req.inputs.map((input, index) => {
    tokens += inputTokens(input);
    const v = embed(input, req.dimensions);
    const embedding =
      req.encodingFormat === "base64" ? Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString("base64") : Array.from(v);
    return { object: "embedding" as const, index, embedding };
  });
  const reported = Math.round(tokens * usageFactor);
  return { object: "list", data, model: req.model, usage: { prompt_tokens: reported, total_tokens: reported } };
}
