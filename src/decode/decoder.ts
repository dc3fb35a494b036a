/**
 * Frame -> packet decoding: link layer, IPv4/IPv6 (with fragment reassembly), TCP/UDP.
 *
 * decode() never throws on packet bytes. It returns
 *   - 'packet'    an IP packet (TCP, UDP and the type and code of ICMP/ICMPv6 decoded; other
 *                 protocols carry only `proto` and the IP payload: the flow layer decides what to do
 *                 with them);
 *   - 'fragment'  an IP fragment was buffered, its datagram is not complete yet;
 *   - 'skip'      not IP (reason names the ethertype / family / link type), or a fragment dropped by
 *                 the reassembly memory bound;
 *   - 'malformed' a broken header: a weird (weird.ts), a stable code with this frame's detail.
 *
 * Truncation by the snaplen is not malformed: the packet comes back with truncated = true and
 * whatever was captured. When even the fixed TCP/UDP header was cut off, tcp/udp is absent and
 * payload/payloadLen describe the IP payload, as for protocols other than TCP and UDP.
 *
 * Views: payload is a subarray of frame.data (valid only during the call, like the frame) except
 * for reassembled datagrams, whose payload is a view into a fresh buffer.
 *
 * Encapsulations: link-layer ones (VLAN, MPLS, PPPoE, PBB, VN-tag, FabricPath, 802.11) and IP
 * tunnels (IP in IP, GRE) are walked through: the frame's packet is the innermost one. A UDP tunnel
 * (VXLAN, GTP-U, Teredo, AYIYA) is a connection of its own, as Zeek logs it: the frame's packet is
 * the outer UDP datagram, and `hasInner` says a packet waits inside it, which inner() decodes into the
 * same `packet` (the engine feeds both to the flow table). Tunnels nest at most MAX_TUNNEL_DEPTH
 * deep. A packet from inside any of them carries `encapsulation`, the list of them, outermost first.
 */
import { frameTime, type RawFrame } from '../capture/frame.js';
import {
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  type DecodeOutcome,
  type IcmpHeader,
  type IpPayload,
  type Packet,
  type TcpHeader,
  type UdpHeader,
} from './packet.js';
import { formatIPv4, formatIPv6, type FormattedAddress } from '../model/address.js';
import {
  decodeEthertype,
  decodeLink,
  LINKTYPE_ETHERNET,
  newLinkResult,
  NET_IPV4,
  NET_MALFORMED,
  NET_SKIP,
  type LinkResult,
  type LinkStatus,
} from './link.js';
import {
  INNER_ETHERNET,
  INNER_IPV4,
  INNER_IPV6,
  MAX_TUNNEL_DEPTH,
  newTunnelResult,
  parseGre,
  parseUdpTunnel,
  T_INNER,
  T_WEIRD,
  UDP_TUNNEL_BY_PORT,
  UDP_TUNNEL_NAMES,
} from './tunnel.js';
import { newIPv4Header, parseIPv4, type IPv4Header } from './ipv4.js';
import { IPV6_HEADER_LEN, newIPv6Header, parseIPv6, walkIPv6, type IPv6Header } from './ipv6.js';
import { decodeTcp } from './tcp.js';
import { decodeUdp } from './udp.js';
import { decodeIcmp, ICMP_HEADER_LEN } from './icmp.js';
import { FragmentReassembler, type Fragment, type FragmentOptions, type FragmentResult, type FragmentStats } from './fragments.js';
import { weird, weirdText, type Weird, type WeirdCode } from './weird.js';

export interface DecoderOptions {
  fragments?: Partial<FragmentOptions>;
  /**
   * Ports servers listen on: a datagram between a UDP tunnel's port and another port is that tunnel
   * when it goes to the tunnel's port, or comes from it to a port that is not a service port (Zeek
   * decides by the connection's responder port, oriented by its likely_server_ports). Default: none.
   */
  isServicePort?: (transport: 'tcp' | 'udp', port: number) => boolean;
}

/** Distinct texts kept per reason map; further distinct texts are only counted in *Overflow. */
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
  /** Malformed outcomes by weird code (a closed set: every outcome is counted). */
  malformedCodes: Map<WeirdCode, number>;
  /**
   * Malformed outcomes by report text (weirdText: the code's layer prefix and the detail), at most
   * MAX_REASONS distinct texts: the JSON report's summary.decode.weirds.
   */
  malformedReasons: Map<string, number>;
  /** Malformed outcomes whose text did not fit in malformedReasons. */
  malformedOverflow: number;
  /** Skip reason -> count, at most MAX_REASONS distinct reasons. */
  skipReasons: Map<string, number>;
  skipOverflow: number;
  /** Decoder bugs caught by the safety net (reported as the weird internal_decoder_error). Should stay 0. */
  internalErrors: number;
  /** Live counters of the fragment reassembler. */
  fragments: FragmentStats;
  /**
   * Packets inside UDP tunnels, by what inner() made of them (these are not frames: byKind does not
   * count them; their weirds and skip reasons are counted with the frames').
   */
  inner: { packet: number; fragment: number; skip: number; malformed: number };
  /** Packets (frames' and inner ones) by encapsulation kind they came through ('vlan', 'mpls', 'gtp', ...). */
  encapsulations: Map<string, number>;
}

const FRAGMENT: DecodeOutcome = Object.freeze({ kind: 'fragment' });

/** Frozen encapsulation lists by their comma-separated text (a few distinct ones in any capture). */
const encapLists = new Map<string, readonly string[]>();

function encapList(text: string): readonly string[] {
  let list = encapLists.get(text);
  if (list === undefined) {
    list = Object.freeze(text.split(','));
    if (encapLists.size < 1024) encapLists.set(text, list);
  }
  return list;
}

const appendEncap = (list: string, kind: string): string => (list === '' ? kind : list + ',' + kind);
const EMPTY = new Uint8Array(0);
const INTERNAL_ERROR: Weird = Object.freeze(weird('internal_decoder_error', 'decoder error'));

/** decodeInto() results. */
export const OUT_PACKET = 0;
export const OUT_FRAGMENT = 1;
export const OUT_SKIP = 2;
export const OUT_MALFORMED = 3;

const IPPROTO_IPIP = 4;
const IPPROTO_IPV6_IN_IP = 41;
const IPPROTO_GRE = 47;

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
 * flows already classified, which would not read a view made for every packet.
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
  icmp: IcmpHeader | undefined = undefined;
  payloadLen = 0;
  ipLen = 0;
  truncated = false;
  reassembled = false;
  encapsulation: readonly string[] | undefined = undefined;
  tcpHeaderCut = false;
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
  private readonly icmpScratch: IcmpHeader = { type: 0, code: 0 };
  /** Where the transport header lies (transport() fills it for decodeTcp / decodeUdp). */
  private readonly ipPayload: IpPayload = { buf: EMPTY, start: 0, capEnd: 0, wireLen: 0, jumbo: false };
  /** A fragment as handed to the reassembler (it copies what it keeps). */
  private readonly fragment: Fragment = {
    key: '',
    ts: 0,
    offset: 0,
    captured: EMPTY,
    wireLen: 0,
    more: false,
    headerLen: 0,
    nextHeader: 0,
  };
  /** decodeInto()'s packet: one object for every frame (its shape never changes). */
  readonly packet: ScratchPacket = new ScratchPacket();
  /** Why the last frame decodeInto() answered OUT_SKIP for was skipped. */
  skipReason = '';
  /** What was wrong with the last frame decodeInto() answered OUT_MALFORMED for. */
  weird: Weird | null = null;
  /** A packet waits inside the last UDP datagram decoded: inner() decodes it. */
  hasInner = false;
  private readonly isServicePort: (transport: 'tcp' | 'udp', port: number) => boolean;
  private readonly tunnel = newTunnelResult();
  /** The current packet's encapsulations so far, comma-separated ('' for none), and its tunnel depth. */
  private encap = '';
  private depth = 0;
  /** Where the waiting inner packet lies (hasInner). */
  private innerBuf: Uint8Array = EMPTY;
  private innerStart = 0;
  private innerEnd = 0;
  private innerKind = 0;
  private innerEncap = '';
  private innerDepth = 0;

  constructor(opts?: DecoderOptions) {
    this.reassembler = new FragmentReassembler(opts?.fragments);
    this.isServicePort = opts?.isServicePort ?? (() => false);
    this.stats = {
      frames: 0,
      byKind: { packet: 0, fragment: 0, skip: 0, malformed: 0 },
      truncated: 0,
      reassembled: 0,
      malformedCodes: new Map(),
      malformedReasons: new Map(),
      malformedOverflow: 0,
      skipReasons: new Map(),
      skipOverflow: 0,
      internalErrors: 0,
      fragments: this.reassembler.stats,
      inner: { packet: 0, fragment: 0, skip: 0, malformed: 0 },
      encapsulations: new Map(),
    };
  }

  /**
   * One frame, as a DecodeOutcome of its own: the packet and its headers are new objects (the
   * payload is still a view into the frame). For callers that keep what they decode.
   */
  decode(frame: RawFrame): DecodeOutcome {
    return this.outcome(this.decodeInto(frame));
  }

  /** The packet waiting inside the last UDP tunnel as a DecodeOutcome of its own (see decode()), or undefined. */
  decodeInner(): DecodeOutcome | undefined {
    return this.hasInner ? this.outcome(this.inner()) : undefined;
  }

  private outcome(kind: number): DecodeOutcome {
    if (kind === OUT_FRAGMENT) return FRAGMENT;
    if (kind === OUT_SKIP) return skip(this.skipReason);
    if (kind === OUT_MALFORMED) {
      const w = this.weird ?? INTERNAL_ERROR;
      return { kind: 'malformed', code: w.code, detail: w.detail };
    }
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
    if (p.encapsulation) packet.encapsulation = p.encapsulation;
    if (p.tcpHeaderCut) packet.tcpHeaderCut = true;
    if (p.tcp) packet.tcp = { ...p.tcp };
    if (p.udp) packet.udp = { ...p.udp };
    if (p.icmp) packet.icmp = { ...p.icmp };
    return { kind: 'packet', packet };
  }

  /**
   * The hot path: decodes into `this.packet` (one object, refilled per frame, valid until the next
   * call) and returns OUT_PACKET, OUT_FRAGMENT, OUT_SKIP (`this.skipReason` says why) or
   * OUT_MALFORMED (`this.weird` says why).
   */
  decodeInto(frame: RawFrame): number {
    const st = this.stats;
    st.frames++;
    this.hasInner = false;
    let out: number;
    try {
      out = this.decodeFrame(frame);
    } catch {
      st.internalErrors++;
      this.weird = INTERNAL_ERROR;
      out = OUT_MALFORMED;
    }
    return this.tally(out, st.byKind);
  }

  /**
   * The packet waiting inside the UDP datagram just decoded (hasInner), decoded into `packet` like a
   * frame: OUT_PACKET, OUT_FRAGMENT, OUT_SKIP or OUT_MALFORMED. Its time is the frame's. It may hold
   * a tunnel again (hasInner), up to MAX_TUNNEL_DEPTH.
   */
  inner(): number {
    if (!this.hasInner) return OUT_SKIP;
    this.hasInner = false;
    const st = this.stats;
    this.encap = this.innerEncap;
    this.depth = this.innerDepth;
    // Taken out first: the packet inside may be a tunnel again, whose packet then waits here.
    const buf = this.innerBuf;
    this.innerBuf = EMPTY;
    let out: number;
    try {
      out = this.network(buf, this.innerKind, this.innerStart, this.innerEnd, 0);
    } catch {
      st.internalErrors++;
      this.weird = INTERNAL_ERROR;
      out = OUT_MALFORMED;
    }
    return this.tally(out, st.inner);
  }

  /** Counts a decoding outcome in `kinds` (frames or packets inside tunnels) and its details. */
  private tally(out: number, kinds: DecoderStats['byKind']): number {
    switch (out) {
      case OUT_PACKET:
        kinds.packet++;
        this.counted();
        break;
      case OUT_FRAGMENT:
        kinds.fragment++;
        break;
      case OUT_SKIP:
        kinds.skip++;
        this.skipCounted();
        break;
      default:
        kinds.malformed++;
        this.weirdCounted(this.weird ?? INTERNAL_ERROR);
        break;
    }
    return out;
  }

  private counted(): void {
    const st = this.stats;
    const p = this.packet;
    if (p.truncated) st.truncated++;
    if (p.reassembled) st.reassembled++;
    const encap = p.encapsulation;
    if (encap !== undefined) for (const kind of encap) st.encapsulations.set(kind, (st.encapsulations.get(kind) ?? 0) + 1);
  }

  private skipCounted(): void {
    if (!bump(this.stats.skipReasons, this.skipReason)) this.stats.skipOverflow++;
  }

  private weirdCounted(w: Weird): void {
    const st = this.stats;
    st.malformedCodes.set(w.code, (st.malformedCodes.get(w.code) ?? 0) + 1);
    if (!bump(st.malformedReasons, weirdText(w.code, w.detail))) st.malformedOverflow++;
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
    if (status === NET_MALFORMED) return this.malformed(link.weird ?? INTERNAL_ERROR);
    // The time goes straight into the packet: passed along as an argument, a time (a double) would
    // be boxed into a new heap number per frame.
    const p = this.packet;
    p.ts = frameTime(frame);
    if (this.reassembler.pending > 0) this.reassembler.expire(p.ts);
    this.encap = link.encap;
    this.depth = 0;
    return status === NET_IPV4 ? this.ipv4(data, link.offset, end) : this.ipv6(data, link.offset, end);
  }

  /**
   * The network layer inside a tunnel: `inner` (tunnel.ts INNER_*) says what starts at buf[start]
   * (`et`: the ethertype for INNER_ETHERTYPE); the captured bytes end at buf[end].
   */
  private network(buf: Uint8Array, inner: number, start: number, end: number, et: number): number {
    if (inner === INNER_IPV4) return this.ipv4(buf, start, end);
    if (inner === INNER_IPV6) return this.ipv6(buf, start, end);
    const link = this.link;
    const status: LinkStatus = inner === INNER_ETHERNET ? decodeLink(LINKTYPE_ETHERNET, buf, link, start, end) : decodeEthertype(et, buf, link, start, end);
    if (link.encap !== '') this.encap = appendEncap(this.encap, link.encap);
    if (status === NET_SKIP) return this.skip(link.reason);
    if (status === NET_MALFORMED) return this.malformed(link.weird ?? INTERNAL_ERROR);
    return status === NET_IPV4 ? this.ipv4(buf, link.offset, end) : this.ipv6(buf, link.offset, end);
  }

  /** IP in IP (protocols 4 and 41) and GRE (47): the packet is the one inside. */
  private ipTunnel(proto: number, buf: Uint8Array, start: number, capEnd: number): number {
    if (this.depth >= MAX_TUNNEL_DEPTH) {
      return this.malformed(weird('exceeded_tunnel_max_depth', `IP protocol ${proto} inside ${this.depth} tunnels`));
    }
    this.depth++;
    if (proto !== IPPROTO_GRE) {
      this.encap = appendEncap(this.encap, 'ip-in-ip');
      return proto === IPPROTO_IPIP ? this.ipv4(buf, start, capEnd) : this.ipv6(buf, start, capEnd);
    }
    const t = this.tunnel;
    if (parseGre(buf, start, capEnd, t) === T_WEIRD) return this.malformed(t.weird ?? INTERNAL_ERROR);
    this.encap = appendEncap(this.encap, t.kind);
    return this.network(buf, t.inner, t.offset, capEnd, t.ethertype);
  }

  /**
   * A UDP datagram between these ports whose payload is buf[start, end) (`wireEnd` on the wire): when
   * it is a tunnel with a packet inside, that packet waits for inner().
   */
  private udpTunnel(sport: number, dport: number, buf: Uint8Array, start: number, end: number, wireEnd: number): void {
    let kind = UDP_TUNNEL_BY_PORT[dport]!;
    if (kind === 0) {
      kind = UDP_TUNNEL_BY_PORT[sport]!;
      if (kind === 0 || this.isServicePort('udp', dport)) return;
    }
    const t = this.tunnel;
    const r = parseUdpTunnel(kind, buf, start, end, wireEnd, t);
    if (r === T_WEIRD) {
      this.weirdCounted(t.weird ?? INTERNAL_ERROR);
      return;
    }
    if (r !== T_INNER) return;
    if (this.depth >= MAX_TUNNEL_DEPTH) {
      this.weirdCounted(weird('exceeded_tunnel_max_depth', `${UDP_TUNNEL_NAMES[kind]} inside ${this.depth} tunnels`));
      return;
    }
    this.hasInner = true;
    this.innerBuf = buf;
    this.innerStart = t.offset;
    this.innerEnd = end;
    this.innerKind = t.inner;
    this.innerEncap = appendEncap(this.encap, t.kind);
    this.innerDepth = this.depth + 1;
  }

  private skip(reason: string): number {
    this.skipReason = reason;
    return OUT_SKIP;
  }

  private malformed(w: Weird): number {
    this.weird = w;
    return OUT_MALFORMED;
  }

  /** The IP layer's addresses into the packet. */
  private addresses(ipVersion: 4 | 6, src: FormattedAddress, dst: FormattedAddress): void {
    const p = this.packet;
    p.ipVersion = ipVersion;
    p.src = src.text;
    p.srcKey = src.digest;
    p.dst = dst.text;
    p.dstKey = dst.digest;
  }

  /** Hands this.fragment (filled by the caller) to the reassembler. */
  private reassemble(): FragmentResult {
    const f = this.fragment;
    f.ts = this.packet.ts;
    const r = this.reassembler.add(f);
    // The view is into the frame's buffer: do not keep that alive until the next fragment.
    f.captured = EMPTY;
    return r;
  }

  private ipv4(data: Uint8Array, off: number, end: number): number {
    const h = this.h4;
    const err = parseIPv4(data, off, h, end);
    if (err !== null) return this.malformed(err);
    const src = formatIPv4(data, h.addrOff);
    const dst = formatIPv4(data, h.addrOff + 4);
    this.addresses(4, src, dst);
    const p = this.packet;
    if (!h.more && h.fragOffset === 0) {
      p.proto = h.proto;
      p.ipLen = h.totalLen;
      p.truncated = h.truncated;
      p.reassembled = false;
      return this.transport(data, h.payloadStart, h.capEnd, h.payloadLen, false);
    }
    // A non-last fragment whose length is not a multiple of 8 is accepted as is (Wireshark and Zeek
    // do; Linux trims it): the next fragment's offset decides what overlaps.
    if (h.headerLen + h.fragOffset + h.payloadLen > 65535) {
      return this.malformed(weird('ipv4_excessively_large_fragment', 'fragment ends beyond 65535 bytes'));
    }
    const f = this.fragment;
    f.key = '4 ' + src.text + ' ' + dst.text + ' ' + h.id + ' ' + h.proto;
    f.offset = h.fragOffset;
    f.captured = data.subarray(h.payloadStart, h.capEnd);
    f.wireLen = h.payloadLen;
    f.more = h.more;
    f.headerLen = h.headerLen;
    f.nextHeader = h.proto;
    const r = this.reassemble();
    if (r.kind === 'stored') return OUT_FRAGMENT;
    if (r.kind === 'dropped') return this.skip(r.reason);
    const total = r.data.length;
    p.proto = r.nextHeader;
    p.ipLen = r.headerLen + total;
    p.truncated = r.capturedLen < total;
    p.reassembled = true;
    return this.transport(r.data, 0, r.capturedLen, total, false);
  }

  private ipv6(data: Uint8Array, off: number, end: number): number {
    const h = this.h6;
    const err = parseIPv6(data, off, h, end);
    if (err !== null) return this.malformed(err);
    const src = formatIPv6(data, h.addrOff);
    const dst = formatIPv6(data, h.addrOff + 16);
    this.addresses(6, src, dst);
    const p = this.packet;
    if (!h.frag) {
      p.proto = h.proto;
      p.ipLen = h.jumbo ? end - off : IPV6_HEADER_LEN + h.payloadLenField;
      p.truncated = h.truncated;
      p.reassembled = false;
      return this.transport(data, h.payloadStart, h.capEnd, h.payloadLen, h.jumbo);
    }
    const fragLen = h.payloadLen;
    if (h.fragMore && (fragLen === 0 || (fragLen & 7) !== 0)) {
      // RFC 8200 section 4.5: such a fragment must be discarded.
      return this.malformed(weird('ipv6_fragment_not_multiple_of_8', 'fragment length not a multiple of 8'));
    }
    if (h.unfragLen - IPV6_HEADER_LEN + h.fragOffset + fragLen > 65535) {
      return this.malformed(weird('ipv6_excessively_large_fragment', 'fragment ends beyond 65535 bytes'));
    }
    const f = this.fragment;
    f.key = '6 ' + src.text + ' ' + dst.text + ' ' + h.fragId;
    f.offset = h.fragOffset;
    f.captured = data.subarray(h.payloadStart, h.capEnd);
    f.wireLen = fragLen;
    f.more = h.fragMore;
    f.headerLen = h.unfragLen;
    f.nextHeader = h.fragNext;
    const r = this.reassemble();
    if (r.kind === 'stored') return OUT_FRAGMENT;
    if (r.kind === 'dropped') return this.skip(r.reason);
    const buf = r.data;
    const total = buf.length;
    const hr = this.h6r;
    hr.capEnd = r.capturedLen;
    hr.wireEnd = total;
    const werr = walkIPv6(buf, 0, r.nextHeader, false, hr);
    if (werr !== null) return this.malformed(werr);
    if (hr.frag) return this.malformed(weird('ipv6_nested_fragment', 'fragment header inside reassembled datagram'));
    p.proto = hr.proto;
    p.ipLen = r.headerLen + total;
    p.truncated = r.capturedLen < total;
    p.reassembled = true;
    return this.transport(buf, hr.payloadStart, hr.capEnd, hr.payloadLen, false);
  }

  /**
   * Transport layer over buf[start, capEnd) (captured) with wireLen bytes on the wire (`jumbo`: an
   * IPv6 jumbogram's, see IpPayload). The IP layer has filled the packet's proto, ipLen,
   * reassembled and truncated (which a cut-off transport header sets too).
   */
  private transport(buf: Uint8Array, start: number, capEnd: number, wireLen: number, jumbo: boolean): number {
    const p = this.packet;
    const ip = this.ipPayload;
    ip.buf = buf;
    ip.start = start;
    ip.capEnd = capEnd;
    ip.wireLen = wireLen;
    ip.jumbo = jumbo;
    p.tcp = undefined;
    p.udp = undefined;
    p.icmp = undefined;
    p.encapsulation = this.encap === '' ? undefined : encapList(this.encap);
    const proto = p.proto;
    if (proto === IPPROTO_TCP) {
      const t = decodeTcp(ip, this.tcpScratch);
      if (t !== null) {
        if ('code' in t) return this.malformed(t);
        const hdrEnd = start + t.headerLen;
        const ps = hdrEnd < capEnd ? hdrEnd : capEnd;
        p.tcp = t;
        p.setPayload(buf, ps, capEnd);
        p.payloadLen = wireLen - t.headerLen;
        p.tcpHeaderCut = hdrEnd > capEnd;
        if (hdrEnd > capEnd) p.truncated = true;
        return OUT_PACKET;
      }
      p.truncated = true;
    } else if (proto === IPPROTO_UDP) {
      const u = decodeUdp(ip, this.udpScratch);
      if (u !== null) {
        if ('code' in u) return this.malformed(u);
        const udpEnd = start + u.length;
        const pe = udpEnd < capEnd ? udpEnd : capEnd;
        p.udp = u;
        p.setPayload(buf, start + 8, pe);
        p.payloadLen = u.length - 8;
        if (udpEnd > capEnd) p.truncated = true;
        if (UDP_TUNNEL_BY_PORT[u.dstPort] !== 0 || UDP_TUNNEL_BY_PORT[u.srcPort] !== 0) {
          this.udpTunnel(u.srcPort, u.dstPort, buf, start + 8, pe, udpEnd);
        }
        return OUT_PACKET;
      }
      p.truncated = true;
    } else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      const h = decodeIcmp(ip, this.icmpScratch);
      if (h !== null) {
        p.icmp = h;
        p.setPayload(buf, start + ICMP_HEADER_LEN, capEnd);
        p.payloadLen = wireLen - ICMP_HEADER_LEN;
        return OUT_PACKET;
      }
      p.truncated = true;
    } else if (proto === IPPROTO_GRE || proto === IPPROTO_IPIP || proto === IPPROTO_IPV6_IN_IP) {
      return this.ipTunnel(proto, buf, start, capEnd);
    }
    p.setPayload(buf, start, capEnd);
    p.payloadLen = wireLen;
    return OUT_PACKET;
  }
}
