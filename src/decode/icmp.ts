import type { IcmpHeader, IpPayload } from './packet.js';

/** Type, code and checksum, and 4 bytes that depend on the type: what Zeek reads (ICMP_MINLEN). */
export const ICMP_HEADER_LEN = 8;

/**
 * ICMP or ICMPv6 header at the start of the IP payload `ip`, filled into `into` (one layout for both).
 * Returns `into`, or null when fewer than 8 bytes were captured or were on the wire: Zeek drops such a
 * packet (truncated header) without a connection, and so does the flow table (it counts it).
 */
export function decodeIcmp(ip: IpPayload, into: IcmpHeader): IcmpHeader | null {
  const start = ip.start;
  if (ip.wireLen < ICMP_HEADER_LEN || start + ICMP_HEADER_LEN > ip.capEnd) return null;
  into.type = ip.buf[start]!;
  into.code = ip.buf[start + 1]!;
  return into;
}
