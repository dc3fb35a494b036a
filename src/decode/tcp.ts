import type { IpPayload, TcpHeader } from './packet.js';
import { weird, type Weird } from './weird.js';

export const TCP_MIN_HEADER = 20;

/**
 * TCP header at the start of the IP payload `ip`, filled into `into`.
 *
 * Returns `into`, a weird, or null when the fixed 20-byte header was not captured (snaplen: the
 * caller marks the packet truncated and carries no TCP header). A header whose options run past
 * the captured bytes is returned; the caller sees start + headerLen > capEnd.
 */
export function decodeTcp(ip: IpPayload, into: TcpHeader): TcpHeader | Weird | null {
  const data = ip.buf;
  const start = ip.start;
  const segLen = ip.wireLen;
  if (segLen < TCP_MIN_HEADER) return weird('tcp_truncated_header', `segment length ${segLen < 0 ? 0 : segLen} < 20`);
  if (start + TCP_MIN_HEADER > ip.capEnd) return null;
  const hl = (data[start + 12]! >> 4) << 2;
  if (hl < TCP_MIN_HEADER) return weird('bad_TCP_header_len', `header length ${hl} < 20`);
  if (hl > segLen) return weird('tcp_header_beyond_segment', `header length ${hl} > segment length`);
  into.srcPort = (data[start]! << 8) | data[start + 1]!;
  into.dstPort = (data[start + 2]! << 8) | data[start + 3]!;
  into.seq = ((data[start + 4]! << 24) | (data[start + 5]! << 16) | (data[start + 6]! << 8) | data[start + 7]!) >>> 0;
  into.ack = ((data[start + 8]! << 24) | (data[start + 9]! << 16) | (data[start + 10]! << 8) | data[start + 11]!) >>> 0;
  into.flags = data[start + 13]!;
  into.window = (data[start + 14]! << 8) | data[start + 15]!;
  into.headerLen = hl;
  return into;
}
