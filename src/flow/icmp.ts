/**
 * How Zeek keys ICMP connections (packet_analysis/protocol/icmp/ICMP.cc, ICMP4_counterpart and
 * ICMP6_counterpart): the originator's port is the ICMP type; the responder's is the counterpart type
 * of a request/reply pair (echo request 8 <-> echo reply 0, ...), so a request and its reply are one
 * connection; any other message is one-way and its responder port is the ICMP code.
 */

/** Set in icmpCounterpart's answer when the message is one-way (the port is then the code). */
export const ICMP_ONE_WAY = 0x10000;

/** ICMPv4 request/reply pairs (RFC 792, 950, 1256): echo, timestamp, information, router, mask. */
const V4_PAIRS: ReadonlyMap<number, number> = new Map([
  [8, 0],
  [0, 8],
  [13, 14],
  [14, 13],
  [15, 16],
  [16, 15],
  [10, 9],
  [9, 10],
  [17, 18],
  [18, 17],
]);

/**
 * ICMPv6 pairs: echo 128 <-> 129, router solicitation 133 <-> advertisement 134, neighbour
 * solicitation 135 <-> advertisement 136, MLD query 130 <-> report 131, node information 139 <-> 140,
 * home agent address discovery 144 <-> 145.
 */
const V6_PAIRS: ReadonlyMap<number, number> = new Map([
  [128, 129],
  [129, 128],
  [133, 134],
  [134, 133],
  [135, 136],
  [136, 135],
  [130, 131],
  [131, 130],
  [139, 140],
  [140, 139],
  [144, 145],
  [145, 144],
]);

/**
 * The responder's port of an ICMP message (`v6`: ICMPv6): the counterpart type, or the code with
 * ICMP_ONE_WAY set for a one-way message. One number, so the per-packet path allocates nothing.
 */
export function icmpCounterpart(v6: boolean, type: number, code: number): number {
  const pair = (v6 ? V6_PAIRS : V4_PAIRS).get(type);
  return pair !== undefined ? pair : code | ICMP_ONE_WAY;
}
