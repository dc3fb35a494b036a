/**
 * IPv6 header (RFC 8200) and its extension-header chain. Fills caller-owned structs with offsets
 * into the frame; returns null or a weird. Never throws.
 */
import { weird, type Weird } from './weird.js';

export const IPV6_HEADER_LEN = 40;

export const IPPROTO_HOPOPTS = 0;
export const IPPROTO_ROUTING = 43;
export const IPPROTO_FRAGMENT = 44;
export const IPPROTO_ESP = 50;
export const IPPROTO_AH = 51;
export const IPPROTO_NONE = 59;
export const IPPROTO_DSTOPTS = 60;
export const IPPROTO_MOBILITY = 135;
export const IPPROTO_HIP = 139;
export const IPPROTO_SHIM6 = 140;

export interface IPv6Header {
  /** Offset of the source address in the frame (destination follows at +16). */
  addrOff: number;
  /** Payload length field (0 for a jumbogram). */
  payloadLenField: number;
  /** Hop-by-hop header with payload length 0: a jumbogram (RFC 2675); lengths come from the capture. */
  jumbo: boolean;
  /** Upper-layer protocol after the extension headers (or 44 when `frag` is set: see fragNext). */
  proto: number;
  /** Start of the upper-layer header in the frame (or of the fragment data when `frag`). */
  payloadStart: number;
  /** End of the captured bytes of the datagram (an input of walkIPv6). */
  capEnd: number;
  /** End of the datagram on the wire (an input of walkIPv6). */
  wireEnd: number;
  /** Upper-layer length on the wire (payload length minus extension headers). */
  payloadLen: number;
  truncated: boolean;
  /** A (non-atomic) fragment header was found: the rest is fragment data. */
  frag: boolean;
  fragOffset: number;
  fragMore: boolean;
  fragId: number;
  /** Next header field of the fragment header. */
  fragNext: number;
  /** Bytes from the start of the IPv6 header to the fragment header (the unfragmentable part). */
  unfragLen: number;
}

export function newIPv6Header(): IPv6Header {
  return {
    addrOff: 0,
    payloadLenField: 0,
    jumbo: false,
    proto: 0,
    payloadStart: 0,
    capEnd: 0,
    wireEnd: 0,
    payloadLen: 0,
    truncated: false,
    frag: false,
    fragOffset: 0,
    fragMore: false,
    fragId: 0,
    fragNext: 0,
    unfragLen: 0,
  };
}

/**
 * Parse the IPv6 header at data[off] and walk its extension headers; the captured bytes end at
 * data[end] (default: data's end).
 */
export function parseIPv6(data: Uint8Array, off: number, h: IPv6Header, end = data.length): Weird | null {
  const avail = end - off;
  if (avail < IPV6_HEADER_LEN) {
    return weird('truncated_IPv6', `truncated header (${avail < 0 ? 0 : avail} of 40 bytes)`);
  }
  const version = data[off]! >> 4;
  if (version !== 6) return weird('ipv6_bad_version', `version ${version}`);
  const plen = (data[off + 4]! << 8) | data[off + 5]!;
  const nh = data[off + 6]!;
  h.addrOff = off + 8;
  h.payloadLenField = plen;
  const start = off + IPV6_HEADER_LEN;
  let wireEnd: number;
  let truncated = false;
  if (plen === 0 && nh === IPPROTO_HOPOPTS) {
    // Jumbogram (or a TSO/BIG TCP capture): no usable length field, trust the capture.
    h.jumbo = true;
    wireEnd = end;
  } else {
    h.jumbo = false;
    wireEnd = start + plen;
  }
  let capEnd = wireEnd;
  if (wireEnd > end) {
    capEnd = end;
    truncated = true;
  }
  h.truncated = truncated;
  h.capEnd = capEnd;
  h.wireEnd = wireEnd;
  return walkIPv6(data, start, nh, true, h);
}

/**
 * Walk extension headers from data[start] with next header `nh`, within the datagram's ends the
 * caller put in h.capEnd (captured) and h.wireEnd (on the wire). `afterHeader` says that `start`
 * directly follows the 40-byte IPv6 header: a hop-by-hop header is allowed there, and unfragLen
 * counts from that header (a reassembled datagram's chain has neither). Atomic fragments (offset
 * 0, M=0, RFC 6946) are stepped over. Stops at the first upper-layer protocol, at ESP (50), at
 * no-next-header (59), or at a real fragment header (h.frag = true).
 */
export function walkIPv6(data: Uint8Array, start: number, nh: number, afterHeader: boolean, h: IPv6Header): Weird | null {
  const capEnd = h.capEnd;
  const wireEnd = h.wireEnd;
  h.frag = false;
  let s = start;
  for (;;) {
    let len: number;
    if (nh === IPPROTO_HOPOPTS && (!afterHeader || s !== start)) return weird('ipv6_hop_by_hop_not_first', 'hop-by-hop header not first');
    switch (nh) {
      case IPPROTO_HOPOPTS:
      case IPPROTO_ROUTING:
      case IPPROTO_DSTOPTS:
      case IPPROTO_MOBILITY:
      case IPPROTO_HIP:
      case IPPROTO_SHIM6:
      case IPPROTO_AH: {
        if (s + 2 > wireEnd) return weird('ipv6_ext_header_beyond_payload', `extension header ${nh} beyond payload length`);
        if (s + 2 > capEnd) return weird('ipv6_ext_header_truncated', `extension header ${nh} truncated`);
        len = nh === IPPROTO_AH ? (data[s + 1]! + 2) << 2 : (data[s + 1]! + 1) << 3;
        if (s + len > wireEnd) return weird('ipv6_ext_header_beyond_payload', `extension header ${nh} beyond payload length`);
        if (s + len > capEnd) return weird('ipv6_ext_header_truncated', `extension header ${nh} truncated`);
        nh = data[s]!;
        s += len;
        continue;
      }
      case IPPROTO_FRAGMENT: {
        if (s + 8 > wireEnd) return weird('ipv6_frag_header_beyond_payload', 'fragment header beyond payload length');
        if (s + 8 > capEnd) return weird('ipv6_frag_header_truncated', 'fragment header truncated');
        const next = data[s]!;
        const ow = (data[s + 2]! << 8) | data[s + 3]!;
        const offset = ow & 0xfff8;
        const more = (ow & 1) !== 0;
        if (offset === 0 && !more) {
          // Atomic fragment: the whole datagram is here.
          nh = next;
          s += 8;
          continue;
        }
        h.frag = true;
        h.fragOffset = offset;
        h.fragMore = more;
        h.fragId = ((data[s + 4]! << 24) | (data[s + 5]! << 16) | (data[s + 6]! << 8) | data[s + 7]!) >>> 0;
        h.fragNext = next;
        h.unfragLen = afterHeader ? s - start + IPV6_HEADER_LEN : s - start;
        s += 8;
        break;
      }
      default:
        break;
    }
    break;
  }
  h.proto = nh;
  h.payloadStart = s > capEnd ? capEnd : s;
  h.payloadLen = wireEnd - s;
  return null;
}
