/**
 * Frame -> packet decoding: link layer, IPv4/IPv6 (with fragment reassembly), TCP/UDP.
 *
 * decode() never throws on packet bytes. It returns
 *   - 'packet'    an IP packet (TCP and UDP decoded; ICMP, ICMPv6 and other protocols carry only
 *                 `proto` and the IP payload: the flow layer decides what to do with them);
 *   - 'fragment'  an IP fragment was buffered, its datagram is not complete yet;
 *   - 'skip'      not IP (reason names the ethertype / family / link type), or a fragment dropped by
 *                 the reassembly memory bound;
 *   - 'malformed' a broken header; the reason names layer and field (a Zeek-style "weird").
 *
 * Truncation by the snaplen is not malformed: the packet comes back with truncated = true and
 * whatever was captured. When even the fixed TCP/UDP header was cut off, tcp/udp is absent and
 * payload/payloadLen describe the IP payload, as for protocols other than TCP and UDP.
 *
 * Views: payload is a subarray of frame.data (valid only during the call, like the frame) except
 * for reassembled datagrams, whose payload is a view into a fresh buffer.
 */
import { frameTime, type RawFrame } from '../capture/frame.js';
import { IPPROTO_TCP, IPPROTO_UDP, type DecodeOutcome, type Packet, type TcpHeader, type UdpHeader } from './packet.js';
import { formatIPv4, formatIPv6, formattedDigest } from '../model/address.js';
import { decodeLink, newLinkResult, NET_IPV4, NET_MALFORMED, NET_SKIP, type LinkResult } from './link.js';
import { newIPv4Header, parseIPv4, type IPv4Header } from './ipv4.js';
import { IPV6_HEADER_LEN, newIPv6Header, parseIPv6, walkIPv6, type IPv6Header } from './ipv6.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';
import { FragmentReassembler, type FragmentOptions, type FragmentStats } from './fragments.js';

export interface DecoderOptions {
  fragments?: Partial<FragmentOptions>;
}

/** Distinct reasons kept per reason map; further distinct reasons are only counted in *Overflow. */
export const MAX_REASONS = 64;

export interface DecoderStats {
  /** Frames passed to decode(). */
  frames: number;
  /** Outcomes by kind (sums to frames). */
  byKind: { packet: number; fragment: number; skip: number; malformed: number };
  /** Packets with truncated = true. */
  truncated: number;
  /** Packets produced by fragment reassembly. */
  reassembled: number;
  /** Malformed reason -> count (Zeek "weirds"), at most MAX_REASONS distinct reasons. */
  malformedReasons: Map<string, number>;
  /** Malformed outcomes whose reason did not fit in malformedReasons. */
  malformedOverflow: number;
  /** Skip reason -> count, at most MAX_REASONS distinct reasons. */
  skipReasons: Map<string, number>;
  skipOverflow: number;
  /** Decoder bugs caught by the safety net (reported as malformed "internal: decoder error"). Should stay 0. */
  internalErrors: number;
  /** Live counters of the fragment reassembler. */
  fragments: FragmentStats;
}

const FRAGMENT: DecodeOutcome = Object.freeze({ kind: 'fragment' });
const EMPTY = new Uint8Array(0);
const INTERNAL_ERROR = 'internal: decoder error';

/** decodeInto() results. */
export const OUT_PACKET = 0;
export const OUT_FRAGMENT = 1;
export const OUT_SKIP = 2;
export const OUT_MALFORMED = 3;

function malformed(reason: string): DecodeOutcome {
  return { kind: 'malformed', reason };
}

function skip(reason: string): DecodeOutcome {
  return { kind: 'skip', reason };
}

function bump(map: Map<string, number>, reason: string): boolean {
  const n = map.get(reason);
  if (n !== undefined) {
    map.set(reason, n + 1);
    return true;
  }
  if (map.size >= MAX_REASONS) return false;
  map.set(reason, 1);
  return true;
}

/**
 * The decoder's reused packet. Its payload view is made only when asked for: most packets belong to
 * flows already classified, and a view per packet was one of the allocations per packet.
 */
class ScratchPacket implements Packet {
  ts = 0;
  ipVersion: 4 | 6 = 4;
  src = '';
  dst = '';
  srcKey = 0;
  dstKey = 0;
  proto = 0;
  tcp: TcpHeader | undefined = undefined;
  udp: UdpHeader | undefined = undefined;
  payloadLen = 0;
  ipLen = 0;
  truncated = false;
  reassembled = false;
  private buf: Uint8Array = EMPTY;
  private start = 0;
  private end = 0;

  setPayload(buf: Uint8Array, start: number, end: number): void {
    this.buf = buf;
    this.start = start;
    this.end = end;
  }

  get payload(): Uint8Array {
    return this.start < this.end ? this.buf.subarray(this.start, this.end) : EMPTY;
  }
}

export class Decoder {
  readonly stats: DecoderStats;
  readonly reassembler: FragmentReassembler;
  // Scratch headers, reused for every frame (decode is synchronous and not re-entrant).
  private readonly link: LinkResult = newLinkResult();
  private readonly h4: IPv4Header = newIPv4Header();
  private readonly h6: IPv6Header = newIPv6Header();
  private readonly h6r: IPv6Header = newIPv6Header();
  private readonly tcpScratch: TcpHeader = { srcPort: 0, dstPort: 0, seq: 0, ack: 0, flags: 0, window: 0, headerLen: 0 };
  private readonly udpScratch: UdpHeader = { srcPort: 0, dstPort: 0, length: 0 };
  /** decodeInto()'s packet: one object for every frame (its shape never changes). */
  readonly packet: ScratchPacket = new ScratchPacket();
  /** Why the last decodeInto() skipped or rejected its frame. */
  reason = '';

  constructor(opts?: DecoderOptions) {
    this.reassembler = new FragmentReassembler(opts?.fragments);
    this.stats = {
      frames: 0,
      byKind: { packet: 0, fragment: 0, skip: 0, malformed: 0 },
      truncated: 0,
      reassembled: 0,
      malformedReasons: new Map(),
      malformedOverflow: 0,
      skipReasons: new Map(),
      skipOverflow: 0,
      internalErrors: 0,
      fragments: this.reassembler.stats,
    };
  }

  /**
   * One frame, as a DecodeOutcome of its own: the packet and its headers are new objects (the
   * payload is still a view into the frame). For callers that keep what they decode.
   */
  decode(frame: RawFrame): DecodeOutcome {
    const kind = this.decodeInto(frame);
    if (kind === OUT_FRAGMENT) return FRAGMENT;
    if (kind === OUT_SKIP) return skip(this.reason);
    if (kind === OUT_MALFORMED) return malformed(this.reason);
    const p = this.packet;
    const packet: Packet = {
      ts: p.ts,
      ipVersion: p.ipVersion,
      src: p.src,
      dst: p.dst,
      srcKey: p.srcKey,
      dstKey: p.dstKey,
      proto: p.proto,
      payload: p.payload,
      payloadLen: p.payloadLen,
      ipLen: p.ipLen,
      truncated: p.truncated,
      reassembled: p.reassembled,
    };
    if (p.tcp) packet.tcp = { ...p.tcp };
    if (p.udp) packet.udp = { ...p.udp };
    return { kind: 'packet', packet };
  }

  /**
   * The hot path: decodes into `this.packet` (one object, refilled per frame, valid until the next
   * call) and returns OUT_PACKET, OUT_FRAGMENT, OUT_SKIP or OUT_MALFORMED (`this.reason` says why).
   */
  decodeInto(frame: RawFrame): number {
    const st = this.stats;
    st.frames++;
    let out: number;
    try {
      out = this.decodeFrame(frame);
    } catch {
      st.internalErrors++;
      this.reason = INTERNAL_ERROR;
      out = OUT_MALFORMED;
    }
    switch (out) {
      case OUT_PACKET:
        st.byKind.packet++;
        if (this.packet.truncated) st.truncated++;
        if (this.packet.reassembled) st.reassembled++;
        break;
      case OUT_FRAGMENT:
        st.byKind.fragment++;
        break;
      case OUT_SKIP:
        st.byKind.skip++;
        if (!bump(st.skipReasons, this.reason)) st.skipOverflow++;
        break;
      default:
        st.byKind.malformed++;
        if (!bump(st.malformedReasons, this.reason)) st.malformedOverflow++;
        break;
    }
    return out;
  }

  private decodeFrame(frame: RawFrame): number {
    // Where the reader says where the record lies in its buffer, decode it there (no view per frame).
    const chunk = frame.chunk;
    const data = chunk ?? frame.data;
    const start = chunk ? (frame.chunkOffset ?? 0) : 0;
    const end = chunk ? start + frame.caplen : data.length;
    const link = this.link;
    const status = decodeLink(frame.linkType, data, link, start, end);
    if (status === NET_SKIP) return this.skip(link.reason);
    if (status === NET_MALFORMED) return this.malformed(link.reason);
    // The time goes straight into the packet: passed along as an argument, a time (a double) was
    // boxed into a new heap number per frame.
    const p = this.packet;
    p.ts = frameTime(frame);
    if (this.reassembler.pending > 0) this.reassembler.expire(p.ts);
    return status === NET_IPV4 ? this.ipv4(data, link.offset, end) : this.ipv6(data, link.offset, end);
  }

  private skip(reason: string): number {
    this.reason = reason;
    return OUT_SKIP;
  }

  private malformed(reason: string): number {
    this.reason = reason;
    return OUT_MALFORMED;
  }

  private ipv4(data: Uint8Array, off: number, end: number): number {
    const h = this.h4;
    const err = parseIPv4(data, off, h, end);
    if (err !== null) return this.malformed(err);
    const p = this.packet;
    const src = formatIPv4(data, h.addrOff);
    p.srcKey = formattedDigest;
    const dst = formatIPv4(data, h.addrOff + 4);
    p.dstKey = formattedDigest;
    if (!h.more && h.fragOffset === 0) {
      return this.transport(4, src, dst, h.proto, data, h.payloadStart, h.capEnd, h.payloadLen, h.totalLen, h.truncated, false, false);
    }
    // A non-last fragment whose length is not a multiple of 8 is accepted as is (Wireshark and Zeek
    // do; Linux trims it): the next fragment's offset decides what overlaps.
    if (h.headerLen + h.fragOffset + h.payloadLen > 65535) return this.malformed('ipv4: fragment ends beyond 65535 bytes');
    const key = '4 ' + src + ' ' + dst + ' ' + h.id + ' ' + h.proto;
    const r = this.reassembler.add(
      key,
      p.ts,
      h.fragOffset,
      data.subarray(h.payloadStart, h.capEnd),
      h.payloadLen,
      h.more,
      h.headerLen,
      h.proto,
    );
    if (r.kind === 'stored') return OUT_FRAGMENT;
    if (r.kind === 'dropped') return this.skip(r.reason);
    const total = r.data.length;
    return this.transport(4, src, dst, r.nextHeader, r.data, 0, r.capturedLen, total, r.headerLen + total, r.capturedLen < total, true, false);
  }

  private ipv6(data: Uint8Array, off: number, end: number): number {
    const h = this.h6;
    const err = parseIPv6(data, off, h, end);
    if (err !== null) return this.malformed(err);
    const p = this.packet;
    const src = formatIPv6(data, h.addrOff);
    p.srcKey = formattedDigest;
    const dst = formatIPv6(data, h.addrOff + 16);
    p.dstKey = formattedDigest;
    if (!h.frag) {
      const ipLen = h.jumbo ? end - off : IPV6_HEADER_LEN + h.payloadLenField;
      return this.transport(6, src, dst, h.proto, data, h.payloadStart, h.capEnd, h.payloadLen, ipLen, h.truncated, false, h.jumbo);
    }
    const fragLen = h.payloadLen;
    if (h.fragMore && (fragLen === 0 || (fragLen & 7) !== 0)) {
      // RFC 8200 section 4.5: such a fragment must be discarded.
      return this.malformed('ipv6: fragment length not a multiple of 8');
    }
    if (h.unfragLen - IPV6_HEADER_LEN + h.fragOffset + fragLen > 65535) {
      return this.malformed('ipv6: fragment ends beyond 65535 bytes');
    }
    const key = '6 ' + src + ' ' + dst + ' ' + h.fragId;
    const r = this.reassembler.add(
      key,
      p.ts,
      h.fragOffset,
      data.subarray(h.payloadStart, h.capEnd),
      fragLen,
      h.fragMore,
      h.unfragLen,
      h.fragNext,
    );
    if (r.kind === 'stored') return OUT_FRAGMENT;
    if (r.kind === 'dropped') return this.skip(r.reason);
    const buf = r.data;
    const total = buf.length;
    const hr = this.h6r;
    const werr = walkIPv6(buf, 0, 0, r.capturedLen, total, r.nextHeader, false, hr);
    if (werr !== null) return this.malformed(werr);
    if (hr.frag) return this.malformed('ipv6: fragment header inside reassembled datagram');
    return this.transport(6, src, dst, hr.proto, buf, hr.payloadStart, hr.capEnd, hr.payloadLen, r.headerLen + total, r.capturedLen < total, true, false);
  }

  /**
   * Transport layer over buf[start, capEnd) (captured) with ipPayloadLen bytes on the wire.
   */
  private transport(
    ipVersion: 4 | 6,
    src: string,
    dst: string,
    proto: number,
    buf: Uint8Array,
    start: number,
    capEnd: number,
    ipPayloadLen: number,
    ipLen: number,
    truncated: boolean,
    reassembled: boolean,
    jumbo: boolean,
  ): number {
    const p = this.packet;
    p.ipVersion = ipVersion;
    p.src = src;
    p.dst = dst;
    p.proto = proto;
    p.ipLen = ipLen;
    p.reassembled = reassembled;
    p.tcp = undefined;
    p.udp = undefined;
    if (proto === IPPROTO_TCP) {
      const t = decodeTcp(buf, start, capEnd, ipPayloadLen, this.tcpScratch);
      if (typeof t === 'string') return this.malformed(t);
      if (t !== null) {
        const hdrEnd = start + t.headerLen;
        const ps = hdrEnd < capEnd ? hdrEnd : capEnd;
        p.tcp = t;
        p.setPayload(buf, ps, capEnd);
        p.payloadLen = ipPayloadLen - t.headerLen;
        p.truncated = truncated || hdrEnd > capEnd;
        return OUT_PACKET;
      }
      truncated = true;
    } else if (proto === IPPROTO_UDP) {
      const u = decodeUdp(buf, start, capEnd, ipPayloadLen, jumbo, this.udpScratch);
      if (typeof u === 'string') return this.malformed(u);
      if (u !== null) {
        const udpEnd = start + u.length;
        const pe = udpEnd < capEnd ? udpEnd : capEnd;
        const ps = start + 8;
        p.udp = u;
        p.setPayload(buf, ps, pe);
        p.payloadLen = u.length - 8;
        p.truncated = truncated || udpEnd > capEnd;
        return OUT_PACKET;
      }
      truncated = true;
    }
    p.setPayload(buf, start, capEnd);
    p.payloadLen = ipPayloadLen;
    p.truncated = truncated;
    return OUT_PACKET;
  }
}
