/**
 * A decoded packet. Decoders never throw on packet bytes: they return a DecodeOutcome that says
 * what was found or why nothing usable was (a weird, see weird.ts).
 */
import type { WeirdCode } from './weird.js';

export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number; // uint32
  ack: number; // uint32
  /** TCP flags byte (FIN=0x01 SYN=0x02 RST=0x04 PSH=0x08 ACK=0x10 URG=0x20 ECE=0x40 CWR=0x80). */
  flags: number;
  window: number;
  headerLen: number;
}

export interface UdpHeader {
  srcPort: number;
  dstPort: number;
  /** Length field of the UDP header. */
  length: number;
}

/** ICMP (IPv4) or ICMPv6 header: the flow table keys ICMP connections by type and code as Zeek does. */
export interface IcmpHeader {
  type: number;
  code: number;
}

/**
 * Where the IP layer says the transport header lies: buf[start, capEnd) was captured, wireLen bytes
 * were on the wire. The decoder refills one of these per packet for decodeTcp / decodeUdp.
 */
export interface IpPayload {
  buf: Uint8Array;
  start: number;
  capEnd: number;
  wireLen: number;
  /** IPv6 jumbogram (RFC 2675): a UDP length field of 0 means "the IP payload length". */
  jumbo: boolean;
}

export { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN } from '../model/vocabulary.js';

export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMP = 1;
export const IPPROTO_ICMPV6 = 58;

export interface Packet {
  /** Seconds since the epoch (float), from the frame. */
  ts: number;
  ipVersion: 4 | 6;
  /** Addresses in canonical text form: dotted quad, or RFC 5952 compressed IPv6 (lower case). */
  src: string;
  dst: string;
  /**
   * textDigest() of src and dst (model/address.ts), from the decoder's address cache; the flow table
   * hashes with them. Packets made without them (tests) have them computed from the texts.
   */
  srcKey?: number;
  dstKey?: number;
  /** Upper-layer protocol after IPv6 extension headers (6 TCP, 17 UDP, ...). */
  proto: number;
  tcp?: TcpHeader | undefined;
  udp?: UdpHeader | undefined;
  /** ICMP/ICMPv6 type and code (proto 1 or 58, when its 8-byte header was captured). */
  icmp?: IcmpHeader | undefined;
  /**
   * Transport payload bytes that were captured (a view into the frame, or into a reassembled
   * datagram for IP fragments). May be shorter than payloadLen when the capture was truncated.
   */
  payload: Uint8Array;
  /**
   * Transport payload length on the wire, from the IP/UDP length fields (>= payload.length). For ICMP
   * the bytes after its 8-byte header (what Zeek counts as orig_bytes/resp_bytes).
   */
  payloadLen: number;
  /** Bytes of the IP packet on the wire (IP total length; for reassembled fragments the whole datagram). */
  ipLen: number;
  /** True when the capture cut the packet short (snaplen) or lengths disagree with captured bytes. */
  truncated: boolean;
  /** True when this packet was reassembled from IP fragments. */
  reassembled: boolean;
  /**
   * The encapsulations the packet came through, outermost first ('vlan', 'mpls', 'pppoe', 'pbb',
   * 'vntag', 'fabricpath', 'gre', 'erspan', 'pptp', 'ip-in-ip', 'vxlan', 'gtp', 'teredo', 'ayiya');
   * undefined for a plain packet.
   */
  encapsulation?: readonly string[] | undefined;
  /**
   * The TCP header's options were cut off by the snaplen: ports and flags are known, but Zeek's TCP
   * analyzer drops such a segment (truncated_header) after counting it for its connection, and so
   * does the flow table.
   */
  tcpHeaderCut?: boolean;
}

export type DecodeOutcome =
  | { kind: 'packet'; packet: Packet }
  /** An IP fragment was stored; the datagram is not complete yet. */
  | { kind: 'fragment' }
  /** Not IP (ARP, LLDP, ...) or an IP protocol we do not track: counted, not an error. */
  | { kind: 'skip'; reason: string }
  /** Broken headers: a weird (see weird.ts), e.g. code IPv4_min_header_size, detail "header length 16 < 20". */
  | { kind: 'malformed'; code: WeirdCode; detail: string };
