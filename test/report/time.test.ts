import { describe, expect, it } from 'vitest';
import { isoTime } from '../../src/report/time.js';

describe('isoTime', () => {
  it('formats packet times as ISO 8601 UTC with microseconds', () => {
    expect(isoTime(0)).toBe('1970-01-01T00:00:00.000000Z');
    expect(isoTime(1.5)).toBe('1970-01-01T00:00:01.500000Z');
    expect(isoTime(1772442000.033826)).toBe('2026-03-02T09:00:00.033826Z');
    expect(isoTime(1772442000.9999996)).toBe('2026-03-02T09:00:01.000000Z'); // rounds into the next second
    expect(isoTime(4102444800.000001)).toBe('2100-01-01T00:00:00.000001Z');
    expect(isoTime(-1.25)).toBe('1969-12-31T23:59:58.750000Z');
    expect(isoTime(Number.NaN)).toBe('');
    expect(isoTime(1e20)).toBe('100000000000000000000'); // beyond Date's range: the number itself
  });

  it('gives each second its own date even when they share a cache slot', () => {
    const a = 1772442000;
    const b = a + 256; // same slot of the 256-entry cache
    for (let i = 0; i < 3; i++) {
      expect(isoTime(a + 0.000007)).toBe('2026-03-02T09:00:00.000007Z');
      expect(isoTime(b + 0.25)).toBe('2026-03-02T09:04:16.250000Z');
    }
  });
});
