import type { UdpHeader } from './packet.js';

export const UDP_HEADER_LEN = 8;

/**
 * UDP header at data[start], with captured bytes up to capEnd and `ipPayloadLen` bytes of IP
 * payload on the wire.
 *
 * Returns the header, a malformed reason ("udp: ..."), or null when the 8-byte header was not
 * captured (snaplen). The length field must lie in [8, ipPayloadLen]; bytes after it are IP padding.
 * With `jumbo` (IPv6 jumbogram, RFC 2675) a length field of 0 means "use the IP payload length".
 */
export function decodeUdp(
  data: Uint8Array,
  start: number,
  capEnd: number,
  ipPayloadLen: number,
  jumbo: boolean,
  /** Filled and returned instead of a new object (the decoder's scratch header). */
  into?: UdpHeader,
): UdpHeader | string | null {
  if (ipPayloadLen < UDP_HEADER_LEN) return `udp: ip payload ${ipPayloadLen < 0 ? 0 : ipPayloadLen} < 8`;
  if (start + UDP_HEADER_LEN > capEnd) return null;
  let length = (data[start + 4]! << 8) | data[start + 5]!;
  if (length === 0 && jumbo) length = ipPayloadLen;
  if (length < UDP_HEADER_LEN) return `udp: length ${length} < 8`;
  if (length > ipPayloadLen) return 'udp: length exceeds ip payload';
  const u = into ?? { srcPort: 0, dstPort: 0, length: 0 };
  u.srcPort = (data[start]! << 8) | data[start + 1]!;
  u.dstPort = (data[start + 2]! << 8) | data[start + 3]!;
  u.length = length;
  return u;
}
