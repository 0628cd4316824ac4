// Deterministic randomness: the same request always yields the same answer, and a --seed makes
// failure injection reproducible across runs.
import { createHash } from "node:crypto";

export type Rng = {
  /** Uniform float in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  pick<T>(items: readonly T[]): T;
};

/** sfc32: tiny, fast, good enough statistical quality for text and fault injection. */
export function rngFromWords(a0: number, b0: number, c0: number, d0: number): Rng {
  let a = a0 >>> 0;
  let b = b0 >>> 0;
  let c = c0 >>> 0;
  let d = d0 >>> 0;
  const next = (): number => {
    const t = (((a + b) >>> 0) + d) >>> 0;
    d = (d + 1) >>> 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) >>> 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) >>> 0;
    return t / 4294967296;
  };
  for (let i = 0; i < 12; i++) next(); // mix weak seeds
  return {
    next,
    int: (n) => Math.floor(next() * n),
    pick: <T>(items: readonly T[]): T => {
      const item = items[Math.floor(next() * items.length)];
      if (item === undefined) throw new RangeError("pick from an empty list");
      return item;
    },
  };
}

export function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/** Rng seeded from arbitrary text (e.g. the canonical request). */
export function rngFromText(text: string): Rng {
  const h = createHash("sha256").update(text).digest();
  return rngFromWords(h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12));
}

export function rngFromSeed(seed: number): Rng {
  return rngFromWords(seed, 0x9e3779b9, 0x243f6a88, seed ^ 0x85a308d3);
}
