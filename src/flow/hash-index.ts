/**
 * The flow table's lookup: canonical key (key.ts) to the live flow. Open addressing with linear
 * probing over a power-of-two array, the keys' hashes beside it in an Int32Array, backward-shift
 * deletion (no tombstones, so a long scan that adds and ends millions of flows never slows the
 * probes down). One probe sequence per packet and no string hashing: the key's hash is computed
 * from the address digests, and a hash match is confirmed by comparing the texts.
 */
import type { FlowKey } from './key.js';

const MIN_CAPACITY = 1024;

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

  /** The entry whose key equals `key`, if any. */
  get(key: FlowKey): T | undefined {
    const slots = this.slots;
    const hashes = this.hashes;
    const mask = this.mask;
    const hash = key.keyHash;
    const loPort = key.keyLoPort;
    const hiPort = key.keyHiPort;
    const proto = key.keyProto;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const f = slots[i];
      if (f === undefined) return undefined;
      if (
        hashes[i] === hash &&
        f.keyLoPort === loPort &&
        f.keyHiPort === hiPort &&
        f.keyProto === proto &&
        f.keyLo === key.keyLo &&
        f.keyHi === key.keyHi
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
