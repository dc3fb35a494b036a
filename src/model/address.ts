/**
 * IP addresses: text formatted straight from packet bytes (decode), and text parsed into numbers and
 * CIDR blocks (inventory, firewall, live capture's own addresses). One module, so every stage writes
 * and reads the same canonical text.
 *
 * Formatting, with plain arithmetic:
 *
 * IPv4: dotted quad. IPv6: RFC 5952 canonical text (lower-case hex, no leading zeros, the longest
 * run of two or more zero groups compressed to "::", the leftmost run on ties, a single zero group
 * never compressed, IPv4-mapped addresses shown as ::ffff:a.b.c.d).
 *
 * Both formatters sit behind a small direct-mapped cache (the same few addresses recur in a
 * capture) and return the cached record: the text with its digest (textDigest), which the flow
 * table hashes its keys with. A hit costs a hash and a 4- or 16-byte compare and allocates nothing;
 * records are immutable, so a caller may keep one after the slot is reused.
 */

/**
 * A 30-bit digest of an address text (a small integer, never a heap number): equal texts have equal
 * digests, so a table may hash with it and compare texts only on a digest match.
 */
export function textDigest(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  return h & 0x3fffffff;
}

/** An address formatted from packet bytes: its canonical text and textDigest(text). */
export interface FormattedAddress {
  readonly text: string;
  readonly digest: number;
}

function formatted(text: string): FormattedAddress {
  return { text, digest: textDigest(text) };
}

const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

function dec(n: number): string {
  return DEC[n & 0xff]!;
}

// ---- IPv4 ----------------------------------------------------------------------------------------

const V4_BITS = 12;
const V4_SIZE = 1 << V4_BITS;
const v4Keys = new Int32Array(V4_SIZE);
const v4Vals: (FormattedAddress | undefined)[] = new Array<FormattedAddress | undefined>(V4_SIZE).fill(undefined);

/** Dotted quad of the 4 bytes at data[off]. The caller guarantees off + 4 <= data.length. */
export function formatIPv4(data: Uint8Array, off: number): FormattedAddress {
  const a = data[off]!;
  const b = data[off + 1]!;
  const c = data[off + 2]!;
  const d = data[off + 3]!;
  const key = (a << 24) | (b << 16) | (c << 8) | d;
  const slot = Math.imul(key, 0x9e3779b1) >>> (32 - V4_BITS);
  const hit = v4Vals[slot];
  if (hit !== undefined && v4Keys[slot] === key) return hit;
  const f = formatted(DEC[a]! + '.' + DEC[b]! + '.' + DEC[c]! + '.' + DEC[d]!);
  v4Keys[slot] = key;
  v4Vals[slot] = f;
  return f;
}

// ---- IPv6 ----------------------------------------------------------------------------------------

const V6_BITS = 11;
const V6_SIZE = 1 << V6_BITS;
const v6Keys = new Int32Array(V6_SIZE * 4);
const v6Vals: (FormattedAddress | undefined)[] = new Array<FormattedAddress | undefined>(V6_SIZE).fill(undefined);
const groups = new Uint16Array(8);

function word32(data: Uint8Array, o: number): number {
  return (data[o]! << 24) | (data[o + 1]! << 16) | (data[o + 2]! << 8) | data[o + 3]!;
}

/** RFC 5952 text of the 16 bytes at data[off]. The caller guarantees off + 16 <= data.length. */
export function formatIPv6(data: Uint8Array, off: number): FormattedAddress {
  const w0 = word32(data, off);
  const w1 = word32(data, off + 4);
  const w2 = word32(data, off + 8);
  const w3 = word32(data, off + 12);
  const h = Math.imul(w0 ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w2, 0xc2b2ae35) ^ Math.imul(w3, 0x27d4eb2f), 0x9e3779b1);
  const slot = h >>> (32 - V6_BITS);
  const k = slot << 2;
  const hit = v6Vals[slot];
  if (hit !== undefined && v6Keys[k] === w0 && v6Keys[k + 1] === w1 && v6Keys[k + 2] === w2 && v6Keys[k + 3] === w3) {
    return hit;
  }
  const f = formatted(ipv6Text(data, off));
  v6Keys[k] = w0;
  v6Keys[k + 1] = w1;
  v6Keys[k + 2] = w2;
  v6Keys[k + 3] = w3;
  v6Vals[slot] = f;
  return f;
}

/** Uncached RFC 5952 formatting (exported for tests). */
export function ipv6Text(data: Uint8Array, off: number): string {
  for (let i = 0; i < 8; i++) groups[i] = (data[off + 2 * i]! << 8) | data[off + 2 * i + 1]!;

  // IPv4-mapped ::ffff:a.b.c.d (RFC 5952 section 5).
  if (
    groups[0] === 0 &&
    groups[1] === 0 &&
    groups[2] === 0 &&
    groups[3] === 0 &&
    groups[4] === 0 &&
    groups[5] === 0xffff
  ) {
    return '::ffff:' + dec(data[off + 12]!) + '.' + dec(data[off + 13]!) + '.' + dec(data[off + 14]!) + '.' + dec(data[off + 15]!);
  }

  // Longest run of zero groups (length >= 2), leftmost on ties.
  let bestStart = -1;
  let bestLen = 1;
  let runStart = -1;
  for (let i = 0; i <= 8; i++) {
    if (i < 8 && groups[i] === 0) {
      if (runStart < 0) runStart = i;
    } else if (runStart >= 0) {
      const len = i - runStart;
      if (len > bestLen) {
        bestLen = len;
        bestStart = runStart;
      }
      runStart = -1;
    }
  }

  let s = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestStart) {
      s += i === 0 ? '::' : ':';
      i += bestLen - 1;
      continue;
    }
    s += groups[i]!.toString(16);
    if (i < 7) s += ':';
  }
  return s;
}

// ---- Parsing: the inventory's addresses and CIDR blocks ------------------------------------------
// Parsed once per flow endpoint (not per packet) into a bigint so v4 and v6 share one comparison.
export interface Cidr {
  version: 4 | 6;
  base: bigint;
  bits: number;
  text: string;
}

export function parseIPv4(text: string): bigint | undefined {
  const parts = text.split('.');
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part)) return undefined;
    const n = Number(part);
    if (n > 255) return undefined;
    value = (value << 8n) | BigInt(n);
  }
  return value;
}

export function parseIPv6(text: string): bigint | undefined {
  let s = text.toLowerCase();
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  // Embedded IPv4 in the last 32 bits (::ffff:10.0.0.1): rewrite it as two hex groups.
  const lastColon = s.lastIndexOf(':');
  if (s.includes('.', lastColon)) {
    const v4 = parseIPv4(s.slice(lastColon + 1));
    if (v4 === undefined) return undefined;
    s = `${s.slice(0, lastColon + 1)}${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = s.split('::');
  if (halves.length > 2) return undefined;
  const parse = (h: string): number[] | undefined => {
    if (h === '') return [];
    const groups = h.split(':');
    const out: number[] = [];
    for (const g of groups) {
      if (!/^[0-9a-f]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = parse(halves[0] ?? '');
  if (head === undefined) return undefined;
  let groups: number[];
  if (halves.length === 2) {
    const rest = parse(halves[1] ?? '');
    if (rest === undefined) return undefined;
    const fill = 8 - head.length - rest.length;
    if (fill < 1) return undefined;
    groups = [...head, ...new Array<number>(fill).fill(0), ...rest];
  } else {
    groups = head;
  }
  if (groups.length !== 8) return undefined;
  let value = 0n;
  for (const g of groups) value = (value << 16n) | BigInt(g);
  return value;
}

export function parseIP(text: string): { version: 4 | 6; value: bigint } | undefined {
  if (text.includes(':')) {
    const v = parseIPv6(text);
    return v === undefined ? undefined : { version: 6, value: v };
  }
  const v = parseIPv4(text);
  return v === undefined ? undefined : { version: 4, value: v };
}

/** Parses "10.0.0.1", "10.0.0.0/24", "fd00::/64". Returns undefined when malformed. */
export function parseCidr(text: string): Cidr | undefined {
  const slash = text.indexOf('/');
  const addrText = slash >= 0 ? text.slice(0, slash) : text;
  const ip = parseIP(addrText.trim());
  if (!ip) return undefined;
  const maxBits = ip.version === 4 ? 32 : 128;
  let bits = maxBits;
  if (slash >= 0) {
    const b = text.slice(slash + 1).trim();
    if (!/^\d{1,3}$/.test(b)) return undefined;
    bits = Number(b);
    if (bits > maxBits) return undefined;
  }
  const shift = BigInt(maxBits - bits);
  const base = (ip.value >> shift) << shift;
  return { version: ip.version, base, bits, text: text.trim() };
}

export function cidrContains(cidr: Cidr, version: 4 | 6, value: bigint): boolean {
  if (cidr.version !== version) return false;
  const shift = BigInt((version === 4 ? 32 : 128) - cidr.bits);
  return value >> shift === cidr.base >> shift;
}

/** True when the two blocks share at least one address. */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  if (a.version !== b.version) return false;
  const bits = Math.min(a.bits, b.bits);
  const shift = BigInt((a.version === 4 ? 32 : 128) - bits);
  return a.base >> shift === b.base >> shift;
}

const LOOPBACK4 = parseCidr('127.0.0.0/8') as Cidr;
const LOOPBACK6 = 1n;
const MULTICAST4 = parseCidr('224.0.0.0/4') as Cidr;
const MULTICAST6 = parseCidr('ff00::/8') as Cidr;

export function isLoopback(version: 4 | 6, value: bigint): boolean {
  return version === 4 ? cidrContains(LOOPBACK4, 4, value) : value === LOOPBACK6;
}

/** Multicast, or the IPv4 limited broadcast: destinations that are not one host's service. */
export function isGroupAddress(version: 4 | 6, value: bigint): boolean {
  if (version === 4) return value === 0xffffffffn || cidrContains(MULTICAST4, 4, value);
  return cidrContains(MULTICAST6, 6, value);
}

/** Canonical text (the same as decode writes) of an address held as a number. */
export function formatAddress(version: 4 | 6, value: bigint): string {
  const bytes = new Uint8Array(version === 4 ? 4 : 16);
  let x = value;
  for (let i = bytes.length - 1; i >= 0; i--) {
    bytes[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return version === 4 ? bytes.join('.') : ipv6Text(bytes, 0);
}

/** A block as text: the address alone for a single host, else address/bits. */
export function formatCidr(c: Cidr): string {
  const addr = formatAddress(c.version, c.base);
  return c.bits === (c.version === 4 ? 32 : 128) ? addr : `${addr}/${c.bits}`;
}

/** True when every address of `inner` is in `outer`. */
export function cidrWithin(inner: Cidr, outer: Cidr): boolean {
  return outer.bits <= inner.bits && cidrContains(outer, inner.version, inner.base);
}

/** Canonical text (as decode writes it) of an address given as text, or undefined when malformed. */
export function canonicalAddress(text: string): string | undefined {
  const ip = parseIP(text);
  return ip === undefined ? undefined : formatAddress(ip.version, ip.value);
}
