/** Types of random.mjs (plain JavaScript, shared with the benchmark generator). */

export class Rng {
  constructor(seed: number);
  u32(): number;
  /** [0, 1) */
  float(): number;
  /** Integer in [lo, hi], both included. */
  int(lo: number, hi: number): number;
  pick<T>(list: readonly T[]): T;
  chance(p: number): boolean;
  /** Exponential with the given mean. */
  exp(mean: number): number;
  fill<T extends Uint8Array>(buf: T): T;
  bytes(n: number): Uint8Array;
}

/** Floats in [0, 1) from a new Rng(seed), for code that takes a `() => number`. */
export function floats(seed: number): () => number;
