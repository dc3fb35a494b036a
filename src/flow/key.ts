/**
 * The canonical flow key: both directions of a connection map to one key, the lower end (by
 * address digest, then address text, then port) first, with a hash for the table's index.
 *
 * Computed for every packet, so it is written into a caller-owned FlowKey (the table keeps one and
 * reuses it) rather than returned as a new object. A flow carries its own key in the same fields.
 */
import type { Packet } from '../decode/packet.js';
import { textDigest } from '../model/address.js';

/** A canonical key, as the flow table's index reads it (flows carry one too). */
export interface FlowKey {
  keyLo: string;
  keyHi: string;
  keyLoPort: number;
  keyHiPort: number;
  keyProto: number;
  /** keyHash(...) of the above (30 bits). */
  keyHash: number;
}

export function newFlowKey(): FlowKey {
  return { keyLo: '', keyHi: '', keyLoPort: 0, keyHiPort: 0, keyProto: 0, keyHash: 0 };
}

/**
 * The 30-bit hash of a canonical key, from the address digests (textDigest): a lookup hashes no
 * string, and a hash match is confirmed by comparing the texts.
 */
export function keyHash(loDigest: number, hiDigest: number, loPort: number, hiPort: number, proto: number): number {
  let h = Math.imul(loDigest ^ 0x2545f491, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15) ^ hiDigest, 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13) ^ ((loPort << 16) | hiPort), 0xc2b2ae35);
  h ^= proto;
  h = Math.imul(h ^ (h >>> 16), 0x27d4eb2f);
  h ^= h >>> 15;
  return h & 0x3fffffff;
}

/**
 * Writes the canonical key of packet `p` (a TCP or UDP packet with these ports; an ICMP one with its
 * type and counterpart type; any other with ports 0) into `out`. The
 * packet's address digests come from the decoder's address cache; packets made without them
 * (tests) have them computed from the texts.
 */
export function flowKeyOf(p: Packet, sport: number, dport: number, out: FlowKey): void {
  const src = p.src;
  const dst = p.dst;
  const sd = p.srcKey ?? textDigest(src);
  const dd = p.dstKey ?? textDigest(dst);
  // Any total order does; digests first spare most string compares.
  const srcFirst = sd !== dd ? sd < dd : src === dst ? sport <= dport : src < dst;
  const loPort = srcFirst ? sport : dport;
  const hiPort = srcFirst ? dport : sport;
  out.keyLo = srcFirst ? src : dst;
  out.keyHi = srcFirst ? dst : src;
  out.keyLoPort = loPort;
  out.keyHiPort = hiPort;
  out.keyProto = p.proto;
  out.keyHash = keyHash(srcFirst ? sd : dd, srcFirst ? dd : sd, loPort, hiPort, p.proto);
}


/**
 * Writes the key of a one-way ICMP message (Zeek's is_one_way: the tuple is not made canonical) into
 * `out`: its sender first, so the same message from the other side is another connection.
 */
export function directedKeyOf(p: Packet, sport: number, dport: number, out: FlowKey): void {
  const sd = p.srcKey ?? textDigest(p.src);
  const dd = p.dstKey ?? textDigest(p.dst);
  out.keyLo = p.src;
  out.keyHi = p.dst;
  out.keyLoPort = sport;
  out.keyHiPort = dport;
  out.keyProto = p.proto;
  out.keyHash = keyHash(sd, dd, sport, dport, p.proto);
}
