import { describe, expect, it } from 'vitest';
import { canonicalAddress, cidrWithin, formatAddress, formatCidr, formatIPv4, formatIPv6, ipv6Text, parseCidr, parseIP, textDigest, type Cidr } from '../../src/model/address.js';
import { v6 } from '../helpers/frames.js';
import { floats } from '../helpers/random.mjs';

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
    const r = floats(5952);
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
    const r = floats(791);
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

describe('parsed addresses format as decode writes them', () => {
  it.each([
    ['10.0.0.1', '10.0.0.1'],
    ['010.000.000.001', '10.0.0.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['0:0:0:0:0:0:0:0', '::'],
  ])('%s -> %s', (text, canonical) => {
    expect(canonicalAddress(text)).toBe(canonical);
  });

  it('rejects what is not an address', () => {
    for (const bad of ['10.0.0', '10.0.0.256', '1::2::3', 'fe80::g', '']) expect(canonicalAddress(bad)).toBeUndefined();
  });

  it('number -> text agrees with bytes -> text on random IPv6 addresses', () => {
    const r = floats(7);
    for (let i = 0; i < 2000; i++) {
      const b = new Uint8Array(16);
      // Runs of zero groups are what RFC 5952 is about: make many.
      for (let g = 0; g < 8; g++) {
        if (r() < 0.5) continue;
        const v = Math.floor(r() * 65536);
        b[2 * g] = v >> 8;
        b[2 * g + 1] = v & 0xff;
      }
      const text = ipv6Text(b, 0);
      const ip = parseIP(text);
      expect(ip?.version).toBe(6);
      expect(formatAddress(6, ip?.value ?? -1n)).toBe(text);
    }
  });

  it('CIDR blocks: a host alone, else address/bits; containment', () => {
    const c = (t: string): Cidr => parseCidr(t) ?? expect.fail(`parseCidr(${t})`);
    expect(formatCidr(c('10.1.2.3'))).toBe('10.1.2.3');
    expect(formatCidr(c('10.1.2.3/24'))).toBe('10.1.2.0/24');
    expect(formatCidr(c('FD00:0::5/64'))).toBe('fd00::/64');
    expect(cidrWithin(c('10.1.2.0/25'), c('10.1.0.0/16'))).toBe(true);
    expect(cidrWithin(c('10.1.0.0/16'), c('10.1.2.0/25'))).toBe(false);
    expect(cidrWithin(c('10.2.0.0/24'), c('10.1.0.0/16'))).toBe(false);
    expect(cidrWithin(c('fd00::1'), c('10.0.0.0/8'))).toBe(false);
  });
});
