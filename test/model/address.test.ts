import { describe, expect, it } from 'vitest';
import { formatIPv4, formatIPv6, ipv6Text, textDigest } from '../../src/model/address.js';
import { rng, v6 } from '../decode/build.js';

function fmt6(groups: number[]): string {
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    b[2 * i] = g >> 8;
    b[2 * i + 1] = g & 0xff;
  });
  return formatIPv6(b, 0).text;
}

describe('IPv6 text (RFC 5952)', () => {
  it.each([
    // 4.1 leading zeros suppressed, 4.3 lower case
    [[0x2001, 0x0db8, 0, 0, 0, 0, 0, 0x0001], '2001:db8::1'],
    [[0x2001, 0xdb8, 0xabcd, 0xef, 0xa, 0xb, 0xc, 0xdead], '2001:db8:abcd:ef:a:b:c:dead'],
    // 4.2.1 shorten as much as possible
    [[0x2001, 0xdb8, 0, 0, 0, 0, 2, 1], '2001:db8::2:1'],
    // 4.2.2 a single 16-bit 0 field is not shortened
    [[0x2001, 0xdb8, 0, 1, 1, 1, 1, 1], '2001:db8:0:1:1:1:1:1'],
    // 4.2.3 the longest run is shortened; on a tie, the first
    [[0x2001, 0, 0, 1, 0, 0, 0, 1], '2001:0:0:1::1'],
    [[0x2001, 0xdb8, 0, 0, 1, 0, 0, 1], '2001:db8::1:0:0:1'],
    // edges
    [[0, 0, 0, 0, 0, 0, 0, 0], '::'],
    [[0, 0, 0, 0, 0, 0, 0, 1], '::1'],
    [[1, 0, 0, 0, 0, 0, 0, 0], '1::'],
    [[1, 2, 3, 4, 5, 6, 0, 0], '1:2:3:4:5:6::'],
    [[0, 0, 1, 0, 0, 0, 0, 0], '0:0:1::'],
    [[0, 0, 1, 2, 3, 4, 5, 6], '::1:2:3:4:5:6'],
    [[1, 0, 2, 0, 3, 0, 4, 0], '1:0:2:0:3:0:4:0'],
    [[1, 2, 3, 4, 5, 6, 7, 8], '1:2:3:4:5:6:7:8'],
    [[0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff, 0xffff], 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    [[0xfe80, 0, 0, 0, 0x8c36, 0x6ff, 0xfe44, 0xacaf], 'fe80::8c36:6ff:fe44:acaf'],
    [[0xff02, 0, 0, 0, 0, 1, 0xff00, 1], 'ff02::1:ff00:1'],
    // 5. IPv4-mapped addresses use dotted quad
    [[0, 0, 0, 0, 0, 0xffff, 0xc000, 0x0201], '::ffff:192.0.2.1'],
    [[0, 0, 0, 0, 0, 0xffff, 0, 0], '::ffff:0.0.0.0'],
    // ... but only those: IPv4-compatible and SIIT forms stay hex
    [[0, 0, 0, 0, 0, 0, 0xc000, 0x0201], '::c000:201'],
    [[0, 0, 0, 0, 0xffff, 0, 0xc000, 0x0201], '::ffff:0:c000:201'],
  ])('%j -> %s', (groups, text) => {
    expect(fmt6(groups)).toBe(text);
  });

  it('reads at an offset inside a larger buffer', () => {
    const buf = new Uint8Array([0xaa, 0xbb, ...v6('2001:db8::a25:53'), 0xcc]);
    expect(formatIPv6(buf, 2).text).toBe('2001:db8::a25:53');
  });

  it('agrees with the WHATWG URL serializer on 20,000 random addresses (cache included)', () => {
    const r = rng(5952);
    const b = new Uint8Array(16);
    const bad: string[] = [];
    let checked = 0;
    for (let n = 0; n < 20000; n++) {
      // Bias towards zero groups so that runs and ties are common.
      for (let i = 0; i < 8; i++) {
        const g = r() < 0.5 ? 0 : Math.floor(r() * 65536);
        b[2 * i] = g >> 8;
        b[2 * i + 1] = g & 0xff;
      }
      const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
      if (mapped) continue;
      const want = new URL(`http://[${Array.from({ length: 8 }, (_, i) => ((b[2 * i]! << 8) | b[2 * i + 1]!).toString(16)).join(':')}]/`).hostname.slice(1, -1);
      checked++;
      const got = formatIPv6(b, 0).text;
      if (got !== want || ipv6Text(b, 0) !== want) bad.push(`${got} != ${want}`);
    }
    expect(checked).toBeGreaterThan(19000);
    expect(bad).toEqual([]);
  });

  it('returns the same record on a cache hit', () => {
    const a = new Uint8Array(v6('2001:db8::1'));
    const first = formatIPv6(a, 0);
    expect(formatIPv6(new Uint8Array(a), 0)).toBe(first);
    expect(first).toEqual({ text: '2001:db8::1', digest: textDigest('2001:db8::1') });
  });
});

describe('IPv4 text', () => {
  it('formats dotted quads', () => {
    expect(formatIPv4(new Uint8Array([0, 0, 0, 0]), 0).text).toBe('0.0.0.0');
    expect(formatIPv4(new Uint8Array([255, 255, 255, 255]), 0).text).toBe('255.255.255.255');
    expect(formatIPv4(new Uint8Array([9, 192, 168, 1, 100, 7]), 1).text).toBe('192.168.1.100');
  });

  it('survives cache collisions on 50,000 random addresses', () => {
    const r = rng(791);
    const b = new Uint8Array(4);
    const bad: string[] = [];
    for (let n = 0; n < 50000; n++) {
      for (let i = 0; i < 4; i++) b[i] = Math.floor(r() * 256);
      const want = `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
      const got = formatIPv4(b, 0).text;
      if (got !== want) bad.push(`${got} != ${want}`);
    }
    expect(bad).toEqual([]);
  });
});
