import type { IpPayload, UdpHeader } from './packet.js';
import { weird, type Weird } from './weird.js';

export const UDP_HEADER_LEN = 8;

/**
 * UDP header at the start of the IP payload `ip`, filled into `into`.
 *
 * Returns `into`, a weird, or null when the 8-byte header was not captured (snaplen). The length
 * field must lie in [8, ip.wireLen]; bytes after it are IP padding. In a jumbogram (ip.jumbo) a
 * length field of 0 means "use the IP payload length".
 */
export function decodeUdp(ip: IpPayload, into: UdpHeader): UdpHeader | Weird | null {
  const data = ip.buf;
  const start = ip.start;
  const ipPayloadLen = ip.wireLen;
  if (ipPayloadLen < UDP_HEADER_LEN) return weird('udp_truncated_header', `ip payload ${ipPayloadLen < 0 ? 0 : ipPayloadLen} < 8`);
  if (start + UDP_HEADER_LEN > ip.capEnd) return null;
  let length = (data[start + 4]! << 8) | data[start + 5]!;
  if (length === 0 && ip.jumbo) length = ipPayloadLen;
  if (length < UDP_HEADER_LEN) return weird('udp_bad_length', `length ${length} < 8`);
  if (length > ipPayloadLen) return weird('UDP_datagram_length_mismatch', 'length exceeds ip payload');
  into.srcPort = (data[start]! << 8) | data[start + 1]!;
  into.dstPort = (data[start + 2]! << 8) | data[start + 3]!;
  into.length = length;
  return into;
}
