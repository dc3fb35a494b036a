import type { TcpHeader } from './packet.js';

export const TCP_MIN_HEADER = 20;

/**
 * TCP header at data[start], with captured bytes up to capEnd and `segLen` bytes of IP payload on
 * the wire (IP length minus IP headers).
 *
 * Returns the header, a malformed reason ("tcp: ..."), or null when the fixed 20-byte header was
 * not captured (snaplen: the caller marks the packet truncated and carries no TCP header). A header
 * whose options run past the captured bytes is returned; the caller sees start + headerLen > capEnd.
 */
export function decodeTcp(
  data: Uint8Array,
  start: number,
  capEnd: number,
  segLen: number,
  /** Filled and returned instead of a new object (the decoder's scratch header). */
  into?: TcpHeader,
): TcpHeader | string | null {
  if (segLen < TCP_MIN_HEADER) return `tcp: segment length ${segLen < 0 ? 0 : segLen} < 20`;
  if (start + TCP_MIN_HEADER > capEnd) return null;
  const hl = (data[start + 12]! >> 4) << 2;
  if (hl < TCP_MIN_HEADER) return `tcp: header length ${hl} < 20`;
  if (hl > segLen) return `tcp: header length ${hl} > segment length`;
  const t = into ?? { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, headerLen: 0 };
  t.srcPort = (data[start]! << 8) | data[start + 1]!;
  t.dstPort = (data[start + 2]! << 8) | data[start + 3]!;
  t.seq = ((data[start + 4]! << 24) | (data[start + 5]! << 16) | (data[start + 6]! << 8) | data[start + 7]!) >>> 0;
  t.ack = ((data[start + 8]! << 24) | (data[start + 9]! << 16) | (data[start + 10]! << 8) | data[start + 11]!) >>> 0;
  t.flags = data[start + 13]!;
  t.window = (data[start + 14]! << 8) | data[start + 15]!;
  t.headerLen = hl;
  return t;
}
