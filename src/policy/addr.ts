/**
 * IP addresses and CIDR blocks for the inventory. Addresses are parsed once per flow endpoint (not per
 * packet) into a bigint so v4 and v6 share one comparison.
 */
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
