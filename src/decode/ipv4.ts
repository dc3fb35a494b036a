/**
 * IPv4 header (RFC 791). Fills a caller-owned IPv4Header with offsets into the frame; returns null
 * when the header is usable or a weird when it is not. Never throws.
 */
import { weird, type Weird } from './weird.js';

export interface IPv4Header {
  /** IHL * 4. */
  headerLen: number;
  /** Total length field. */
  totalLen: number;
  id: number;
  proto: number;
  ttl: number;
  /** More-fragments flag. */
  more: boolean;
  /** Fragment offset in bytes (field * 8). */
  fragOffset: number;
  /** Offset of the source address in the frame (destination follows at +4). */
  addrOff: number;
  /** Where the IP payload starts in the frame (clamped to the captured bytes). */
  payloadStart: number;
  /** End of the captured IP payload: min(captured, IP start + total length). */
  capEnd: number;
  /** IP payload length on the wire: total length - header length. */
  payloadLen: number;
  /** Captured bytes stop before the end of the datagram (snaplen), or before the end of the header options. */
  truncated: boolean;
}

export function newIPv4Header(): IPv4Header {
  return {
    headerLen: 0,
    totalLen: 0,
    id: 0,
    proto: 0,
    ttl: 0,
    more: false,
    fragOffset: 0,
    addrOff: 0,
    payloadStart: 0,
    capEnd: 0,
    payloadLen: 0,
    truncated: false,
  };
}

export const IPV4_MIN_HEADER = 20;

/** Parse the IPv4 header at data[off]; the captured bytes end at data[end] (default: data's end). */
export function parseIPv4(data: Uint8Array, off: number, h: IPv4Header, end = data.length): Weird | null {
  const avail = end - off;
  if (avail < IPV4_MIN_HEADER) {
    return weird('truncated_IP', `truncated header (${avail < 0 ? 0 : avail} of 20 bytes)`);
  }
  const b0 = data[off]!;
  const version = b0 >> 4;
  if (version !== 4) return weird('ipv4_bad_version', `version ${version}`);
  const hl = (b0 & 0x0f) << 2;
  if (hl < IPV4_MIN_HEADER) return weird('IPv4_min_header_size', `header length ${hl} < 20`);
  let totalLen = (data[off + 2]! << 8) | data[off + 3]!;
  // Total length 0 on a sender-side capture is TCP segmentation offload (the NIC fills it in later);
  // Wireshark then uses the captured length, and so do we.
  if (totalLen === 0 && avail >= hl) totalLen = Math.min(avail, 65535);
  if (totalLen < hl) return weird('invalid_IP_header_size', `total length ${totalLen} < header length ${hl}`);
  const ff = (data[off + 6]! << 8) | data[off + 7]!;

  h.headerLen = hl;
  h.totalLen = totalLen;
  h.id = (data[off + 4]! << 8) | data[off + 5]!;
  h.more = (ff & 0x2000) !== 0;
  h.fragOffset = (ff & 0x1fff) << 3;
  h.ttl = data[off + 8]!;
  h.proto = data[off + 9]!;
  h.addrOff = off + 12;
  h.payloadLen = totalLen - hl;

  // Ethernet padding makes the frame longer than the datagram: the total length wins. A snaplen
  // makes it shorter: keep what was captured and say so.
  const wireEnd = off + totalLen;
  let capEnd = wireEnd;
  let truncated = false;
  if (wireEnd > end) {
    capEnd = end;
    truncated = true;
  }
  let ps = off + hl;
  if (ps > capEnd) {
    // Options cut off by the snaplen: addresses and protocol are known, the payload is not.
    ps = capEnd;
    truncated = true;
  }
  h.payloadStart = ps;
  h.capEnd = capEnd;
  h.truncated = truncated;
  return null;
}
