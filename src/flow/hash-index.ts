/**
 * The flow table's lookup: canonical key (lower address and its port, higher address and its port,
 * IP protocol) to the live flow. Open addressing with linear probing over a power-of-two array, the
 * keys' hashes beside it in an Int32Array, backward-shift deletion (no tombstones, so a long scan
 * that adds and ends millions of flows never slows the probes down).
 *
 * (Performance: this replaced three nested Maps keyed by the address texts and a
 * protocol-and-ports number: three hash lookups and a heap number per packet.) The hash mixes the
 * addresses' textDigest (decode/addr.ts) with the ports, so a lookup hashes no string; a hash match
 * is confirmed by comparing the texts.
 */

/** What the index reads of a flow: its key, as set by FlowIndex.set. */
export interface FlowKey {
  keyLo: string;
  keyHi: string;
  keyLoPort: number;
  keyHiPort: number;
  keyProto: number;
  /** keyHash(...) of the above (30 bits). */
  keyHash: number;
}

const MIN_CAPACITY = 1024;

/** The 30-bit hash of a canonical key, from the address digests (see textDigest). */
export function keyHash(loDigest: number, hiDigest: number, loPort: number, hiPort: number, proto: number): number {
  let h = Math.imul(loDigest ^ 0x2545f491, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ hiDigest, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ ((loPort << 16) | hiPort), 0xc2b2ae35);
  h ^= proto;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f);
  h ^= h >>> 15;
  return h & 0x3fffffff;
}

export class FlowIndex<T extends FlowKey> {
  private slots: (T | undefined)[];
  private hashes: Int32Array;
  private mask: number;
  size = 0;

  constructor() {
    this.slots = new Array<T | undefined>(MIN_CAPACITY).fill(undefined);
    this.hashes = new Int32Array(MIN_CAPACITY);
    this.mask = MIN_CAPACITY - 1;
  }

  get(hash: number, lo: string, hi: string, loPort: number, hiPort: number, proto: number): T | undefined {
    const slots = this.slots;
    const hashes = this.hashes;
    const mask = this.mask;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const f = slots[i];
      if (f === undefined) return undefined;
      if (
        hashes[i] === hash &&
        f.keyLoPort === loPort &&
        f.keyHiPort === hiPort &&
        f.keyProto === proto &&
        f.keyLo === lo &&
        f.keyHi === hi
      ) {
        return f;
      }
    }
  }

  /** Adds a flow under its key (the key must not be in the index). */
  set(flow: T): void {
    if ((this.size + 1) * 2 > this.slots.length) this.grow();
    this.place(flow);
    this.size++;
  }

  /** Removes this flow (not another flow with an equal key); false when it was not there. */
  delete(flow: T): boolean {
    const slots = this.slots;
    const hashes = this.hashes;
    const mask = this.mask;
    let i = flow.keyHash & mask;
    for (;;) {
      const f = slots[i];
      if (f === undefined) return false;
      if (f === flow) break;
      i = (i + 1) & mask;
    }
    // Backward shift: entries after the hole that may live in it move back, so every entry stays
    // reachable from its home slot without passing an empty one.
    for (let j = (i + 1) & mask; ; j = (j + 1) & mask) {
      const f = slots[j];
      if (f === undefined) break;
      const home = hashes[j]! & mask;
      // f may move to i when its home is not cyclically within (i, j].
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      slots[i] = f;
      hashes[i] = hashes[j]!;
      i = j;
    }
    slots[i] = undefined;
    hashes[i] = 0;
    this.size--;
    return true;
  }

  private place(flow: T): void {
    const slots = this.slots;
    const mask = this.mask;
    let i = flow.keyHash & mask;
    while (slots[i] !== undefined) i = (i + 1) & mask;
    slots[i] = flow;
    this.hashes[i] = flow.keyHash;
  }

  private grow(): void {
    const old = this.slots;
    const capacity = old.length * 2;
    this.slots = new Array<T | undefined>(capacity).fill(undefined);
    this.hashes = new Int32Array(capacity);
    this.mask = capacity - 1;
    for (const f of old) if (f !== undefined) this.place(f);
  }
}
