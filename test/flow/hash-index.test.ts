import { describe, expect, it } from 'vitest';
import { formatIPv4, formatIPv6, textDigest } from '../../src/model/address.js';
import { FlowIndex } from '../../src/flow/hash-index.js';
import { keyHash, type FlowKey } from '../../src/flow/key.js';
import { floats } from '../helpers/random.mjs';

interface Entry extends FlowKey {
  name: string;
}

function entry(lo: string, hi: string, loPort: number, hiPort: number, proto: number, hash?: number): Entry {
  return {
    name: `${lo}:${loPort}-${hi}:${hiPort}/${proto}`,
    keyLo: lo,
    keyHi: hi,
    keyLoPort: loPort,
    keyHiPort: hiPort,
    keyProto: proto,
    keyHash: hash ?? keyHash(textDigest(lo), textDigest(hi), loPort, hiPort, proto),
  };
}

/** Looks up e's key through a separate key object, as the flow table does. */
const find = (index: FlowIndex<Entry>, e: Entry): Entry | undefined =>
  index.get({ keyLo: e.keyLo, keyHi: e.keyHi, keyLoPort: e.keyLoPort, keyHiPort: e.keyHiPort, keyProto: e.keyProto, keyHash: e.keyHash });

/** Random adds, deletes and lookups, checked against a Map after every step. */
function randomOps(seed: number, makeHash: (r: () => number) => number | undefined, steps: number): void {
  const r = floats(seed);
  const index = new FlowIndex<Entry>();
  const oracle = new Map<string, Entry>();
  const pool: Entry[] = [];
  for (let i = 0; i < 3000; i++) {
    const e = entry(`10.0.${Math.floor(r() * 4)}.${Math.floor(r() * 256)}`, `192.0.2.${Math.floor(r() * 8)}`, Math.floor(r() * 65536), Math.floor(r() * 4), r() < 0.5 ? 6 : 17, makeHash(r));
    if (!pool.some((p) => p.name === e.name)) pool.push(e);
  }
  for (let step = 0; step < steps; step++) {
    const e = pool[Math.floor(r() * pool.length)] as Entry;
    const present = oracle.get(e.name);
    if (present === undefined) {
      expect(find(index, e)).toBeUndefined();
      if (r() < 0.7) {
        index.set(e);
        oracle.set(e.name, e);
      }
    } else {
      expect(find(index, e)).toBe(present);
      if (r() < 0.5) {
        expect(index.delete(e)).toBe(true);
        oracle.delete(e.name);
        expect(index.delete(e)).toBe(false);
      }
    }
    expect(index.size).toBe(oracle.size);
  }
  for (const e of pool) expect(find(index, e)).toBe(oracle.get(e.name));
}

describe('FlowIndex (the flow table lookup)', () => {
  it('finds, adds and deletes exactly as a Map does (random operations, growth past its first size)', () => {
    randomOps(1, () => undefined, 20_000);
  });

  it('stays exact when every key lands in a handful of home slots (collisions, wrap-around, backward shift)', () => {
    // Hashes whose home is the last slots whatever the table's size make probe runs wrap past slot 0.
    const top = 2 ** 30 - 1;
    randomOps(2, (r) => [top, top - 1, top - 2, 0, 1][Math.floor(r() * 5)], 6000);
    randomOps(3, () => 7, 3000);
  });

  it('tells keys apart that share a hash but differ in an address, a port or the protocol', () => {
    const index = new FlowIndex<Entry>();
    const a = entry('10.0.0.1', '10.0.0.2', 1000, 2000, 6, 42);
    const others = [
      entry('10.0.0.1', '10.0.0.3', 1000, 2000, 6, 42),
      entry('10.0.0.9', '10.0.0.2', 1000, 2000, 6, 42),
      entry('10.0.0.1', '10.0.0.2', 1001, 2000, 6, 42),
      entry('10.0.0.1', '10.0.0.2', 1000, 2001, 6, 42),
      entry('10.0.0.1', '10.0.0.2', 1000, 2000, 17, 42),
    ];
    index.set(a);
    for (const o of others) expect(find(index, o)).toBeUndefined();
    for (const o of others) index.set(o);
    expect(find(index, a)).toBe(a);
    for (const o of others) expect(find(index, o)).toBe(o);
    index.delete(a);
    expect(find(index, a)).toBeUndefined();
    for (const o of others) expect(find(index, o)).toBe(o);
  });

  it('deletes only the very flow given, not another with an equal key', () => {
    const index = new FlowIndex<Entry>();
    const a = entry('10.0.0.1', '10.0.0.2', 1, 2, 6);
    const twin = entry('10.0.0.1', '10.0.0.2', 1, 2, 6);
    index.set(a);
    expect(index.delete(twin)).toBe(false);
    expect(find(index, twin)).toBe(a);
  });
});

describe('address digests', () => {
  it('the decoder cache gives textDigest of the text it formats, on a miss and on a hit, IPv4 and IPv6', () => {
    const r = floats(9);
    const bytes = new Uint8Array(16);
    for (let i = 0; i < 5000; i++) {
      for (let j = 0; j < 16; j++) bytes[j] = r() < 0.5 ? 0 : Math.floor(r() * 256);
      for (let pass = 0; pass < 2; pass++) {
        const v4 = formatIPv4(bytes, 0);
        expect(v4.digest).toBe(textDigest(v4.text));
        const v6 = formatIPv6(bytes, 0);
        expect(v6.digest).toBe(textDigest(v6.text));
      }
    }
  });

  it('are small integers (30 bits) for any text', () => {
    for (const s of ['', '0.0.0.0', '255.255.255.255', '::', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff', 'é']) {
      const d = textDigest(s);
      expect(Number.isInteger(d) && d >= 0 && d < 2 ** 30).toBe(true);
    }
    expect(keyHash(2 ** 30 - 1, 2 ** 30 - 1, 65535, 65535, 255)).toBeLessThan(2 ** 30);
  });
});
