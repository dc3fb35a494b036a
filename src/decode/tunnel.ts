/**
 * Tunnel headers, as Zeek's packet analyzers read them: GRE (IP protocol 47: plain, transparent
 * Ethernet bridging, ERSPAN types I/II/III, PPTP's enhanced GRE carrying PPP) and the UDP tunnels
 * VXLAN, GTPv1-U, Teredo and AYIYA. Each parser fills a caller-owned TunnelResult with where the
 * inner packet starts and what it is; nothing is copied and nothing is thrown. IP in IP (protocols 4
 * and 41) needs no parser: the inner IP header follows the outer one.
 *
 * The decoder (decoder.ts) walks into them, at most MAX_TUNNEL_DEPTH deep.
 */
import { weird, type Weird, type WeirdCode } from './weird.js';

/** Zeek's Tunnel::max_depth: tunnels inside more tunnels than this are not decoded (a weird). */
export const MAX_TUNNEL_DEPTH = 2;

/** UDP tunnels by kind (index into UDP_TUNNEL_NAMES). */
export const UDP_VXLAN = 1;
export const UDP_GTP = 2;
export const UDP_TEREDO = 3;
export const UDP_AYIYA = 4;
export const UDP_TUNNEL_NAMES: readonly string[] = Object.freeze(['', 'vxlan', 'gtp', 'teredo', 'ayiya']);

/**
 * The UDP port of each tunnel decoded (Zeek's scripts/base/packet-protocols/{vxlan,gtpv1,teredo,ayiya}:
 * 4789, 2152, 3544, 5072; GTP-C's 2123 carries signalling, not packets, and is not decoded). Zeek also
 * adds them to its likely_server_ports, and so does the engine (isTunnelServerPort): a datagram from
 * such a port to one that is not a service port comes from the server.
 */
export const UDP_TUNNEL_PORTS: ReadonlyMap<number, number> = new Map([
  [4789, UDP_VXLAN],
  [2152, UDP_GTP],
  [3544, UDP_TEREDO],
  [5072, UDP_AYIYA],
]);

/** Tunnel kind by UDP port (0: none): one array read per UDP packet. */
export const UDP_TUNNEL_BY_PORT = new Uint8Array(65536);
for (const [port, kind] of UDP_TUNNEL_PORTS) UDP_TUNNEL_BY_PORT[port] = kind;

export function isUdpTunnelPort(port: number): boolean {
  return UDP_TUNNEL_BY_PORT[port] !== 0;
}

/** GTP-C, the signalling beside GTP-U: not decoded, but Zeek's gtpv1_ports has it. */
export const GTP_C_PORT = 2123;

/**
 * The UDP ports Zeek's tunnel analyzers add to likely_server_ports (scripts/base/packet-protocols/
 * {vxlan,gtpv1,teredo,ayiya}/main.zeek): the tunnels' ports and GTP-C's. The engine takes them as
 * server ports when it orients a flow by its ports.
 */
export function isTunnelServerPort(port: number): boolean {
  return UDP_TUNNEL_BY_PORT[port] !== 0 || port === GTP_C_PORT;
}

/** What the inner packet is. */
export const INNER_ETHERNET = 1;
export const INNER_IPV4 = 4;
export const INNER_IPV6 = 6;
/** An ethertype (TunnelResult.ethertype) heads the inner packet's network layer (GRE's protocol type). */
export const INNER_ETHERTYPE = 2;

/** parse* results. */
export const T_INNER = 0;
/** Not this tunnel (a content check failed, or a message that carries no packet): the datagram is just data. */
export const T_NONE = 1;
/** A broken header: TunnelResult.weird. */
export const T_WEIRD = 2;

export interface TunnelResult {
  /** T_INNER: what follows and where. */
  inner: number;
  offset: number;
  ethertype: number;
  /** The encapsulation's name in flows' `encapsulation` ('gre', 'erspan', 'pptp', 'vxlan', ...). */
  kind: string;
  weird: Weird | null;
}

export function newTunnelResult(): TunnelResult {
  return { inner: 0, offset: 0, ethertype: 0, kind: '', weird: null };
}

function bad(out: TunnelResult, code: WeirdCode, detail: string): number {
  out.weird = weird(code, detail);
  return T_WEIRD;
}

function found(out: TunnelResult, kind: string, inner: number, offset: number, ethertype = 0): number {
  out.kind = kind;
  out.inner = inner;
  out.offset = offset;
  out.ethertype = ethertype;
  out.weird = null;
  return T_INNER;
}

const u16 = (d: Uint8Array, i: number): number => (d[i]! << 8) | d[i + 1]!;

/** GRE header at data[s], captured up to data[e] (Zeek's GRE analyzer, its checks and weirds). */
export function parseGre(data: Uint8Array, s: number, e: number, out: TunnelResult): number {
  const len = e - s;
  if (len < 4) return bad(out, 'truncated_GRE', `truncated header (${len < 0 ? 0 : len} of 4 bytes)`);
  const flags = u16(data, s);
  const proto = u16(data, s + 2);
  const version = flags & 7;
  // Checksum and reserved, key, sequence number, acknowledgement (enhanced GRE).
  const greLen = 4 + (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0) + (flags & 0x0080 ? 4 : 0);
  if (version !== 0 && version !== 1) return bad(out, 'unknown_gre_version', `version ${version}`);
  let ethLen = 0;
  let erspanLen = 0;
  let kind = 'gre';
  let inner = INNER_ETHERTYPE;
  if (version === 0) {
    if (proto === 0x6558) {
      // Transparent Ethernet bridging.
      if (len <= greLen + 14) return bad(out, 'truncated_GRE', 'truncated Ethernet frame');
      ethLen = 14;
      inner = INNER_ETHERNET;
    } else if (proto === 0x88be) {
      // ERSPAN type I (no header), or type II (8-byte header) when the sequence number is present.
      if (len <= greLen + 14) return bad(out, 'truncated_GRE', 'truncated ERSPAN');
      ethLen = 14;
      if (flags & 0x1000) erspanLen = 8;
      kind = 'erspan';
      inner = INNER_ETHERNET;
    } else if (proto === 0x22eb) {
      // ERSPAN type III: a 12-byte header, and an 8-byte platform subheader when its O bit is set.
      if (len <= greLen + 14 + 12) return bad(out, 'truncated_GRE', 'truncated ERSPAN type III');
      ethLen = 14;
      erspanLen = 12;
      if (data[s + greLen + 11]! & 1) {
        if (len <= greLen + 12 + 8 + 14) return bad(out, 'truncated_GRE', 'truncated ERSPAN type III platform subheader');
        erspanLen += 8;
      }
      kind = 'erspan';
      inner = INNER_ETHERNET;
    }
  } else if (proto !== 0x880b) {
    return bad(out, 'egre_protocol_type', `protocol type 0x${proto.toString(16).padStart(4, '0')}`);
  }
  if (flags & 0x4000) return bad(out, 'gre_routing', 'routing present');
  if (flags & 0x0078) return bad(out, 'unknown_gre_flags', `flags 0x${flags.toString(16).padStart(4, '0')}`);
  const pptpLen = version === 1 ? 4 : 0;
  if (len < greLen + pptpLen + ethLen + erspanLen) return bad(out, 'truncated_GRE', `truncated header (${len} of ${greLen + pptpLen + ethLen + erspanLen} bytes)`);
  if (version === 1) {
    // PPTP: PPP's address and control, then its protocol.
    const ppp = u16(data, s + greLen + 2);
    if (ppp === 0x0021) return found(out, 'pptp', INNER_IPV4, s + greLen + 4);
    if (ppp === 0x0057) return found(out, 'pptp', INNER_IPV6, s + greLen + 4);
    return bad(out, 'non_ip_packet_in_encap', `PPP protocol 0x${ppp.toString(16).padStart(4, '0')}`);
  }
  return found(out, kind, inner, s + greLen + erspanLen, proto);
}

/**
 * A UDP tunnel's header at data[s] (the UDP payload), captured up to data[e]; `wireEnd` is where the
 * UDP payload ends on the wire.
 */
export function parseUdpTunnel(kind: number, data: Uint8Array, s: number, e: number, wireEnd: number, out: TunnelResult): number {
  switch (kind) {
    case UDP_VXLAN:
      // Flags, reserved, VNI, reserved (8 bytes), then Ethernet.
      if (e - s < 8) return bad(out, 'vxlan_truncated_header', `truncated header (${e - s} of 8 bytes)`);
      return found(out, 'vxlan', INNER_ETHERNET, s + 8);
    case UDP_GTP:
      return gtp(data, s, e, out);
    case UDP_TEREDO:
      return teredo(data, s, e, wireEnd, out);
    case UDP_AYIYA:
      return ayiya(data, s, e, out);
    default:
      return T_NONE;
  }
}

/** GTPv1-U: only a T-PDU (message type 0xff) carries a packet. */
function gtp(data: Uint8Array, s: number, e: number, out: TunnelResult): number {
  if (e - s < 8) return bad(out, 'gtp_truncated_header', `truncated header (${e - s} of 8 bytes)`);
  const flags = data[s]!;
  // Version 1 and protocol type GTP (not GTP'), else this is not GTPv1.
  if (flags >> 5 !== 1 || !(flags & 0x10)) return T_NONE;
  if (data[s + 1] !== 0xff) return T_NONE;
  let off = s + 8;
  if (flags & 0x07) {
    // Sequence number, N-PDU number and next extension header type, present when any of E, S, PN is.
    if (off + 4 > e) return bad(out, 'gtp_truncated_header', 'truncated optional fields');
    let next = flags & 0x04 ? data[off + 3]! : 0;
    off += 4;
    while (next !== 0) {
      if (off >= e) return bad(out, 'gtp_truncated_header', 'truncated extension header');
      const len = data[off]! * 4;
      if (len === 0) return bad(out, 'gtp_truncated_header', 'extension header of length 0');
      if (off + len > e) return bad(out, 'gtp_truncated_header', 'truncated extension header');
      next = data[off + len - 1]!;
      off += len;
    }
  }
  if (off >= e) return bad(out, 'gtp_payload_not_ip', 'empty T-PDU');
  const v = data[off]! >> 4;
  if (v === 4) return found(out, 'gtp', INNER_IPV4, off);
  if (v === 6) return found(out, 'gtp', INNER_IPV6, off);
  return bad(out, 'gtp_payload_not_ip', `IP version ${v}`);
}

/**
 * Teredo (RFC 4380), as Zeek's Teredo analyzer checks it: optional authentication and origin
 * indication, then an IPv6 header whose payload length accounts for exactly the rest of the datagram
 * (a bubble, no next header and no payload, may have bytes after it). Anything else is not Teredo.
 */
function teredo(data: Uint8Array, s: number, e: number, wireEnd: number, out: TunnelResult): number {
  let off = s;
  let origin = false;
  let auth = false;
  for (;;) {
    if (e - off < 2) return T_NONE;
    const tag = u16(data, off);
    if (tag === 0) {
      if (origin || e - off < 8) return T_NONE;
      origin = true;
      off += 8;
    } else if (tag === 1) {
      if (origin || auth || e - off < 4) return T_NONE;
      const total = 4 + data[off + 2]! + data[off + 3]! + 8 + 1;
      if (e - off < total) return T_NONE;
      auth = true;
      off += total;
    } else if (tag >> 12 === 6) {
      if (e - off < 40) return T_NONE;
      const payload = u16(data, off + 4);
      const rest = wireEnd - off - 40;
      if (payload > rest) return T_NONE;
      if (payload < rest && !(data[off + 6] === 59 && payload === 0)) return T_NONE;
      return found(out, 'teredo', INNER_IPV6, off);
    } else return T_NONE;
  }
}

/** AYIYA: a forward message (opcode 1) carries an IPv4 or IPv6 packet after its identity and signature. */
function ayiya(data: Uint8Array, s: number, e: number, out: TunnelResult): number {
  if (e - s < 8) return bad(out, 'ayiya_truncated_header', `truncated header (${e - s} of 8 bytes)`);
  const hdr = 8 + (1 << (data[s]! >> 4)) + (data[s + 1]! >> 4) * 4;
  if (e - s < hdr) return bad(out, 'ayiya_truncated_header', `truncated header (${e - s} of ${hdr} bytes)`);
  if ((data[s + 2]! & 0x0f) !== 1) return T_NONE;
  if (e - s === hdr) return bad(out, 'ayiya_empty_packet', 'forward message without a packet');
  const next = data[s + 3]!;
  if (next === 4) return found(out, 'ayiya', INNER_IPV4, s + hdr);
  if (next === 41) return found(out, 'ayiya', INNER_IPV6, s + hdr);
  return T_NONE;
}
