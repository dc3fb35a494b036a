/**
 * The one seeded random source of the tests and of the benchmark generator: splitmix32 seeding, sfc32
 * generator. The same seed gives the same numbers, so a failure replays with its seed. Plain
 * JavaScript (typed by random.d.mts) because test/bench/generate.mjs runs under node without a build
 * step and shares it. fast-check properties keep fast-check's own seeding.
 */
export class Rng {
  constructor(seed) {
    let s = (Number(seed) >>> 0) ^ 0x5bd1e995;
    const splitmix = () => {
      s = (s + 0x9e3779b9) | 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.a = splitmix();
    this.b = splitmix();
    this.c = splitmix();
    this.d = splitmix();
    for (let i = 0; i < 12; i++) this.u32();
  }
  u32() {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
  /** [0, 1) */
  float() {
    return this.u32() / 4294967296;
  }
  /** Integer in [lo, hi], both included. */
  int(lo, hi) {
    return lo + Math.floor(this.float() * (hi - lo + 1));
  }
  pick(list) {
    return list[Math.floor(this.float() * list.length)];
  }
  chance(p) {
    return this.float() < p;
  }
  /** Exponential with the given mean. */
  exp(mean) {
    return -Math.log(1 - this.float()) * mean;
  }
  fill(buf) {
    let i = 0;
    for (; i + 4 <= buf.length; i += 4) {
      const v = this.u32();
      buf[i] = v;
      buf[i + 1] = v >>> 8;
      buf[i + 2] = v >>> 16;
      buf[i + 3] = v >>> 24;
    }
    for (; i < buf.length; i++) buf[i] = this.u32();
    return buf;
  }
  /** `n` random bytes. */
  bytes(n) {
    return this.fill(new Uint8Array(n));
  }
}

/** Floats in [0, 1) from a new Rng(seed), for code that takes a `() => number`. */
export function floats(seed) {
  const r = new Rng(seed);
  return () => r.float();
}
