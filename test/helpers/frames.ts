/**
 * Test-only builders for synthetic frames: link, IP and transport headers field by field (checksums
 * are left at 0, as captures on offloading NICs have them: the decoder does not check them). Files of
 * these frames come from pcap.ts and pcapng.ts; decoded packets for flow tests from packets.ts.
 */
import type { RawFrame } from '../../src/capture/frame.js';
import type { DecodeOutcome, Packet } from '../../src/decode/packet.js';
import type { WeirdCode } from '../../src/decode/weird.js';

/** The weird code of a malformed outcome; undefined for any other outcome. */
export function weirdOf(o: DecodeOutcome | undefined): WeirdCode | undefined {
  return o?.kind === 'malformed' ? o.code : undefined;
}

export function bytes(...parts: (Uint8Array | number[])[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export function ascii(s: string): Uint8Array {
  return Uint8Array.from(s, (c) => c.charCodeAt(0));
}

export function frame(linkType: number, data: Uint8Array, ts = 1000): RawFrame {
  return {
    tsSec: Math.floor(ts),
    tsNsec: Math.round((ts - Math.floor(ts)) * 1e9),
    linkType,
    caplen: data.length,
    origLen: data.length,
    data,
    interfaceId: 0,
    offset: 0,
  };
}

const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
const u32 = (n: number): number[] => [(n >>> 24) & 0xff, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff];

export interface Ip4Opts {
  src?: number[];
  dst?: number[];
  proto?: number;
  id?: number;
  /** More fragments. */
  mf?: boolean;
  /** Fragment offset in bytes (multiple of 8). */
  fragOffset?: number;
  /** Options bytes (multiple of 4). */
  options?: number[];
  /** Override IHL (in 32-bit words). */
  ihl?: number;
  /** Override total length. */
  totalLen?: number;
  version?: number;
}

export function ipv4(o: Ip4Opts, payload: Uint8Array): Uint8Array {
  const opts = o.options ?? [];
  const ihl = o.ihl ?? 5 + opts.length / 4;
  const total = o.totalLen ?? 20 + opts.length + payload.length;
  const ff = (o.mf ? 0x2000 : 0) | ((o.fragOffset ?? 0) >> 3);
  return bytes(
    [((o.version ?? 4) << 4) | (ihl & 0xf), 0, ...u16(total), ...u16(o.id ?? 1), ...u16(ff), 64, o.proto ?? 6, 0, 0],
    o.src ?? [10, 0, 0, 1],
    o.dst ?? [10, 0, 0, 2],
    opts,
    payload,
  );
}

/** IPv6 address text (full or with ::) to bytes, for building test packets. */
export function v6(addr: string): number[] {
  const [head, tail] = addr.includes('::') ? addr.split('::') : [addr, undefined];
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return groups.flatMap((g) => u16(parseInt(g, 16)));
}

export interface Ip6Opts {
  src?: string;
  dst?: string;
  nh?: number;
  /** Override payload length. */
  plen?: number;
  version?: number;
}

export function ipv6(o: Ip6Opts, payload: Uint8Array): Uint8Array {
  return bytes(
    [(o.version ?? 6) << 4, 0, 0, 0, ...u16(o.plen ?? payload.length), o.nh ?? 6, 64],
    v6(o.src ?? '2001:db8::1'),
    v6(o.dst ?? '2001:db8::2'),
    payload,
  );
}

/** Generic extension header (hop-by-hop, routing, destination options): len in 8-byte units beyond the first 8. */
export function ext6(next: number, units = 0): number[] {
  return [next, units, ...Array<number>(6 + units * 8).fill(0)];
}

export function frag6(next: number, offset: number, more: boolean, id: number): number[] {
  return [next, 0, ...u16(offset | (more ? 1 : 0)), ...u32(id)];
}

export interface TcpOpts {
  sport?: number;
  dport?: number;
  seq?: number;
  ack?: number;
  flags?: number;
  /** Header length in bytes (options are zero-filled). */
  hl?: number;
  /** Override the data offset nibble. */
  doff?: number;
  win?: number;
}

export function tcp(o: TcpOpts, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  const hl = o.hl ?? 20;
  const doff = o.doff ?? hl / 4;
  return bytes(
    [...u16(o.sport ?? 1234), ...u16(o.dport ?? 80), ...u32(o.seq ?? 0), ...u32(o.ack ?? 0)],
    [doff << 4, o.flags ?? 0x02, ...u16(o.win ?? 65535), 0, 0, 0, 0],
    new Array<number>(Math.max(0, hl - 20)).fill(1),
    payload,
  );
}

export function udp(o: { sport?: number; dport?: number; len?: number }, payload: Uint8Array = new Uint8Array(0)): Uint8Array {
  return bytes([...u16(o.sport ?? 5353), ...u16(o.dport ?? 53), ...u16(o.len ?? 8 + payload.length), 0, 0], payload);
}

const MACS = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11];

/** Ethernet II with optional stacked tags [tpid, tci]; `macs` is destination then source (12 bytes). */
export function eth(ethertype: number, payload: Uint8Array, tags: [number, number][] = [], macs: number[] = MACS): Uint8Array {
  const t: number[] = [];
  for (const [tpid, tci] of tags) t.push(...u16(tpid), ...u16(tci));
  return bytes(macs, t, u16(ethertype), payload);
}

export function sll(protocol: number, payload: Uint8Array, hatype = 1): Uint8Array {
  return bytes([0, 0, ...u16(hatype), 0, 6, 1, 2, 3, 4, 5, 6, 0, 0, ...u16(protocol)], payload);
}

export function sll2(protocol: number, payload: Uint8Array, hatype = 1): Uint8Array {
  return bytes([...u16(protocol), 0, 0, 0, 0, 0, 1, ...u16(hatype), 0, 6, 1, 2, 3, 4, 5, 6, 0, 0], payload);
}

/** Dotted IPv4 text to bytes, for building test packets. */
export function v4(addr: string): number[] {
  return addr.split('.').map(Number);
}

/** The MACs of tcpFrame: 02:00:00:00:00:02 <- 02:00:00:00:00:01, whichever way the segment goes. */
const HOST_MACS = [2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1];

/** TCP flags. */
export const FIN = 0x01;
export const SYN = 0x02;
export const RST = 0x04;
export const PSH = 0x08;
export const ACK = 0x10;

export interface TcpSegment {
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq: number;
  payload?: Uint8Array;
  /** IPv4 identification (0 unless given). */
  id?: number;
}

/** Ethernet + IPv4 (no options) + TCP (no options, ack 0, window 65535). */
export function tcpFrame(s: TcpSegment): Uint8Array {
  const segment = tcp({ sport: s.sport, dport: s.dport, seq: s.seq >>> 0, flags: s.flags }, s.payload);
  return eth(0x0800, ipv4({ src: v4(s.src), dst: v4(s.dst), proto: 6, id: s.id ?? 0 }, segment), [], HOST_MACS);
}

/** A frame and its capture time, for pcap.ts. */
export interface TimedFrame {
  /** Seconds since the epoch (pcap.ts keeps it to the microsecond). */
  ts: number;
  data: Uint8Array;
}

/**
 * A whole TCP connection client -> server as Ethernet frames: handshake, `request` in one segment,
 * FIN both ways, the last ACK; a millisecond apart from t0.
 */
export function tcpConnectionFrames(c: { t0: number; client: string; cport: number; server: string; sport: number; request: Uint8Array }): TimedFrame[] {
  const up = { src: c.client, dst: c.server, sport: c.cport, dport: c.sport };
  const down = { src: c.server, dst: c.client, sport: c.sport, dport: c.cport };
  const n = c.request.length;
  const segs: [TcpSegment, number][] = [
    [{ ...up, flags: SYN, seq: 100 }, 0],
    [{ ...down, flags: SYN | ACK, seq: 900 }, 0.001],
    [{ ...up, flags: ACK, seq: 101 }, 0.002],
    [{ ...up, flags: PSH | ACK, seq: 101, payload: c.request }, 0.003],
    [{ ...up, flags: FIN | ACK, seq: 101 + n }, 0.004],
    [{ ...down, flags: FIN | ACK, seq: 901 }, 0.005],
    [{ ...up, flags: ACK, seq: 102 + n }, 0.006],
  ];
  return segs.map(([s, dt]) => ({ ts: c.t0 + dt, data: tcpFrame(s) }));
}

/** What every decoded packet must satisfy, whatever the input (the fuzz tests check it). */
export function packetInvariants(p: Packet): boolean {
  return (
    p.payloadLen >= 0 &&
    p.payload.length <= p.payloadLen &&
    p.ipLen >= p.payloadLen &&
    p.src.length > 0 &&
    p.dst.length > 0 &&
    Number.isFinite(p.ts) &&
    (p.tcp === undefined || (p.proto === 6 && p.tcp.headerLen >= 20 && p.tcp.seq >= 0 && p.tcp.ack >= 0)) &&
    (p.udp === undefined || (p.proto === 17 && p.udp.length >= 8 && p.payloadLen === p.udp.length - 8))
  );
}

// Encapsulations (src/decode/link.ts and tunnel.ts), outermost header first.

/** An MPLS label stack (bottom-of-stack set on the last label) followed by `payload`. */
export function mpls(labels: number[], payload: Uint8Array): Uint8Array {
  const stack = labels.flatMap((label, i) => u32(((label << 12) | (i === labels.length - 1 ? 0x100 : 0) | 64) >>> 0));
  return bytes(stack, payload);
}

/** A PPPoE session header (session 1) and the PPP protocol, then `payload` (ethertype 0x8864). */
export function pppoe(pppProtocol: number, payload: Uint8Array): Uint8Array {
  return bytes([0x11, 0, 0, 1, ...u16(payload.length + 2), ...u16(pppProtocol)], payload);
}

/** An 802.1ah I-tag and the customer's Ethernet header (ethertype 0x88e7). */
export function pbb(ethertype: number, payload: Uint8Array): Uint8Array {
  return bytes([0, 0, 0, 42], MACS, u16(ethertype), payload);
}

/** A Cisco VN-tag (ethertype 0x8926) and the next ethertype. */
export function vntag(ethertype: number, payload: Uint8Array): Uint8Array {
  return bytes([0x80, 0x01, 0x00, 0x02], u16(ethertype), payload);
}

/** Cisco FabricPath: the 16-byte outer header (its ethertype 0x8903 at bytes 12-13) before an Ethernet frame. */
export function fabricpath(ethernetFrame: Uint8Array): Uint8Array {
  return bytes(MACS, u16(0x8903), [0, 0], ethernetFrame);
}

/** A LINKTYPE_PPP frame: address, control, protocol. */
export function pppFrame(pppProtocol: number, payload: Uint8Array): Uint8Array {
  return bytes([0xff, 0x03, ...u16(pppProtocol)], payload);
}

/** An 802.11 data frame (QoS data when `qos`), LLC/SNAP and `ethertype`, then `payload`. */
export function wifi(ethertype: number, payload: Uint8Array, o: { qos?: boolean; fourAddresses?: boolean; protectedFrame?: boolean; fc?: number } = {}): Uint8Array {
  const fc = o.fc ?? (o.qos ? 0x88 : 0x08);
  const flags = (o.fourAddresses ? 0x03 : 0x01) | (o.protectedFrame ? 0x40 : 0);
  const header = [fc, flags, 0, 0, ...MACS, 1, 2, 3, 4, 5, 6, 0, 0];
  if (o.fourAddresses) header.push(7, 8, 9, 10, 11, 12);
  if (o.qos) header.push(0, 0);
  return bytes(header, [0xaa, 0xaa, 0x03, 0, 0, 0], u16(ethertype), payload);
}

/** A radiotap header of `len` bytes (little-endian length) before an 802.11 frame. */
export function radiotap(frame80211: Uint8Array, len = 8): Uint8Array {
  return bytes([0, 0, len & 0xff, len >> 8], new Uint8Array(len - 4), frame80211);
}

/** A GRE header: flags/version and protocol, with the optional fields the flags name (zeroed). */
export function gre(o: { flags?: number; version?: number; protocol: number }, payload: Uint8Array): Uint8Array {
  const flags = o.flags ?? 0;
  const n = (flags & 0x8000 ? 4 : 0) + (flags & 0x2000 ? 4 : 0) + (flags & 0x1000 ? 4 : 0) + (flags & 0x0080 ? 4 : 0);
  return bytes(u16(flags | (o.version ?? 0)), u16(o.protocol), new Uint8Array(n), payload);
}

/** A VXLAN header (VNI 42) before an Ethernet frame. */
export function vxlan(ethernetFrame: Uint8Array): Uint8Array {
  return bytes([0x08, 0, 0, 0, 0, 0, 42, 0], ethernetFrame);
}

/** A GTPv1-U header (T-PDU unless `type`), with the sequence number fields when `seq`. */
export function gtp(payload: Uint8Array, o: { type?: number; seq?: boolean; version?: number } = {}): Uint8Array {
  const opt = o.seq ? [0, 1, 0, 0] : [];
  return bytes([((o.version ?? 1) << 5) | 0x10 | (o.seq ? 0x02 : 0), o.type ?? 0xff, ...u16(payload.length + opt.length), 0, 0, 0, 1], opt, payload);
}

/** Teredo: an optional origin indication before the IPv6 packet. */
export function teredo(ipv6Packet: Uint8Array, origin = false): Uint8Array {
  return origin ? bytes([0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff], ipv6Packet) : ipv6Packet;
}

/** AYIYA: identity of 16 bytes, signature of 20 bytes, opcode `opcode` (1: forward), next header `next`. */
export function ayiya(next: number, payload: Uint8Array, opcode = 1): Uint8Array {
  return bytes([0x41, 0x52, 0x10 | opcode, next, 0, 0, 0, 0], new Uint8Array(16 + 20), payload);
}
