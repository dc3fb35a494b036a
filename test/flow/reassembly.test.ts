import { describe, expect, it } from 'vitest';
import { StreamPrefix } from '../../src/flow/reassembly.js';

const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);

describe('StreamPrefix', () => {
  it('reassembles out of order and keeps the first bytes it saw', () => {
    const s = new StreamPrefix(4096);
    s.setIsn(999);
    expect(s.add(1003, fill(3, 2))).toBe(false); // a gap: waits
    expect(s.add(1000, fill(3, 1))).toBe(true);
    expect(s.add(1000, fill(6, 9))).toBe(false); // retransmission: first data wins
    expect([...s.bytes]).toEqual([1, 1, 1, 2, 2, 2]);
  });

  it('a buffer released by one flow and reused by the next never shows the first flow\'s bytes', () => {
    const a = new StreamPrefix(16 * 1024);
    a.setIsn(0);
    a.add(1, fill(5000, 0xaa)); // grows to 8 KiB, fills most of it
    a.release();
    // The next flows take released buffers from the pool: only their own bytes are visible.
    for (let i = 0; i < 3; i++) {
      const b = new StreamPrefix(16 * 1024);
      b.setIsn(100);
      b.add(101, fill(10, i + 1));
      expect(b.length).toBe(10);
      expect([...b.bytes]).toEqual([...fill(10, i + 1)]);
      b.add(111, fill(3000, 7)); // grows past 2 KiB: still exactly its bytes
      expect(b.bytes.length).toBe(3010);
      expect(b.bytes.subarray(10).every((x) => x === 7)).toBe(true);
      expect(b.bytes.subarray(0, 10).every((x) => x === i + 1)).toBe(true);
      b.release();
      expect(b.bytes.length).toBe(0);
      expect(b.full).toBe(true);
    }
  });

  it('a released stream takes no more bytes', () => {
    const s = new StreamPrefix(2048);
    s.add(5, fill(10, 1));
    s.release();
    expect(s.add(15, fill(10, 2))).toBe(false);
    expect(s.length).toBe(0);
  });
});
