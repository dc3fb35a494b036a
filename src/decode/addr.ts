/**
 * IP address text, formatted straight from packet bytes with plain arithmetic.
 *
 * IPv4: dotted quad. IPv6: RFC 5952 canonical text (lower-case hex, no leading zeros, the longest
 * run of two or more zero groups compressed to "::", the leftmost run on ties, a single zero group
 * never compressed, IPv4-mapped addresses shown as ::ffff:a.b.c.d).
 *
 * Both formatters sit behind a small direct-mapped cache (the same few addresses recur in a
 * capture): a hit costs a hash and a 4- or 16-byte compare, and allocates nothing. The cache also
 * keeps each text's digest (textDigest), which the flow table hashes its keys with: after a format
 * call, `formattedDigest` is the digest of the text it returned.
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

/** textDigest() of the text the last formatIPv4/formatIPv6 call returned. */
export let formattedDigest = 0;

const DEC: readonly string[] = Array.from({ length: 256 }, (_, i) => String(i));

function dec(n: number): string {
  return DEC[n & 0xff]!;
}

// ---- IPv4 ----------------------------------------------------------------------------------------

const V4_BITS = 12;
const V4_SIZE = 1 << V4_BITS;
const v4Keys = new Int32Array(V4_SIZE);
const v4Vals: (string | undefined)[] = new Array<string | undefined>(V4_SIZE).fill(undefined);
const v4Digests = new Int32Array(V4_SIZE);

/** Dotted quad of the 4 bytes at data[off]. The caller guarantees off + 4 <= data.length. */
export function formatIPv4(data: Uint8Array, off: number): string {
  const a = data[off]!;
  const b = data[off + 1]!;
  const c = data[off + 2]!;
  const d = data[off + 3]!;
  const key = (a << 24) | (b << 16) | (c << 8) | d;
  const slot = Math.imul(key, 0x9e3779b1) >>> (32 - V4_BITS);
  const hit = v4Vals[slot];
  if (hit !== undefined && v4Keys[slot] === key) {
    formattedDigest = v4Digests[slot]!;
    return hit;
  }
  const s = DEC[a]! + '.' + DEC[b]! + '.' + DEC[c]! + '.' + DEC[d]!;
  v4Keys[slot] = key;
  v4Vals[slot] = s;
  v4Digests[slot] = formattedDigest = textDigest(s);
  return s;
}

// ---- IPv6 ----------------------------------------------------------------------------------------

const V6_BITS = 11;
const V6_SIZE = 1 << V6_BITS;
const v6Keys = new Int32Array(V6_SIZE * 4);
const v6Vals: (string | undefined)[] = new Array<string | undefined>(V6_SIZE).fill(undefined);
const v6Digests = new Int32Array(V6_SIZE);
const groups = new Uint16Array(8);

function word32(data: Uint8Array, o: number): number {
  return (data[o]! << 24) | (data[o + 1]! << 16) | (data[o + 2]! << 8) | data[o + 3]!;
}

/** RFC 5952 text of the 16 bytes at data[off]. The caller guarantees off + 16 <= data.length. */
export function formatIPv6(data: Uint8Array, off: number): string {
  const w0 = word32(data, off);
  const w1 = word32(data, off + 4);
  const w2 = word32(data, off + 8);
  const w3 = word32(data, off + 12);
  const h = Math.imul(w0 ^ Math.imul(w1, 0x85ebca6b) ^ Math.imul(w2, 0xc2b2ae35) ^ Math.imul(w3, 0x27d4eb2f), 0x9e3779b1);
  const slot = h >>> (32 - V6_BITS);
  const k = slot << 2;
  const hit = v6Vals[slot];
  if (hit !== undefined && v6Keys[k] === w0 && v6Keys[k + 1] === w1 && v6Keys[k + 2] === w2 && v6Keys[k + 3] === w3) {
    formattedDigest = v6Digests[slot]!;
    return hit;
  }
  const s = ipv6Text(data, off);
  v6Keys[k] = w0;
  v6Keys[k + 1] = w1;
  v6Keys[k + 2] = w2;
  v6Keys[k + 3] = w3;
  v6Vals[slot] = s;
  v6Digests[slot] = formattedDigest = textDigest(s);
  return s;
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
