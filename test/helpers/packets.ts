/**
 * Decoded packets for flow and judgement tests, built field by field (the decoders have their own
 * tests on real captures). TLS payloads come from tls.ts.
 */
import type { Packet } from '../../src/decode/packet.js';
import { ACK, FIN, PSH, RST, SYN } from './frames.js';

export { ACK, FIN, PSH, RST, SYN };

export interface Seg {
  ts: number;
  src: string;
  sport: number;
  dst: string;
  dport: number;
  flags?: number;
  seq?: number;
  payload?: Uint8Array;
}

/** The fields every packet has: IPv4 or IPv6 by the source address, `header` bytes of transport header before `payload`. */
function ipPacket(s: { ts: number; src: string; dst: string }, proto: number, header: number, payload: Uint8Array): Packet {
  const v6 = s.src.includes(':');
  return {
    ts: s.ts,
    ipVersion: v6 ? 6 : 4,
    src: s.src,
    dst: s.dst,
    proto,
    payload,
    payloadLen: payload.length,
    ipLen: (v6 ? 40 : 20) + header + payload.length,
    truncated: false,
    reassembled: false,
  };
}

export function tcp(s: Seg): Packet {
  return {
    ...ipPacket(s, 6, 20, s.payload ?? new Uint8Array(0)),
    tcp: { srcPort: s.sport, dstPort: s.dport, seq: s.seq ?? 0, ack: 0, flags: s.flags ?? ACK, window: 65535, headerLen: 20 },
  };
}

export function udp(s: Omit<Seg, 'flags' | 'seq'>): Packet {
  const payload = s.payload ?? new Uint8Array(0);
  return { ...ipPacket(s, 17, 8, payload), udp: { srcPort: s.sport, dstPort: s.dport, length: 8 + payload.length } };
}

/** An ICMP (IPv4) or ICMPv6 (IPv6 addresses) message; `payload` is what follows its 8-byte header. */
export function icmp(s: { ts: number; src: string; dst: string; type: number; code?: number; payload?: Uint8Array }): Packet {
  return { ...ipPacket(s, s.src.includes(':') ? 58 : 1, 8, s.payload ?? new Uint8Array(0)), icmp: { type: s.type, code: s.code ?? 0 } };
}

/** A packet of another IP protocol (OSPF 89, VRRP 112, ESP 50, ...) with `len` bytes of IP payload. */
export function ipProto(s: { ts: number; src: string; dst: string; proto: number; len?: number }): Packet {
  return ipPacket(s, s.proto, 0, new Uint8Array(s.len ?? 0));
}

/**
 * A whole TCP connection: handshake, client bytes, server bytes, FIN both ways (or `end` = 'open',
 * 'rst-by-server', 'refused', 'unanswered').
 */
export function connection(opts: {
  t0: number;
  client: string;
  cport: number;
  server: string;
  sport: number;
  request?: Uint8Array;
  response?: Uint8Array;
  end?: 'fin' | 'open' | 'refused' | 'unanswered';
}): Packet[] {
  const { t0, client, cport, server, sport } = opts;
  const c = { src: client, sport: cport, dst: server, dport: sport };
  const s = { src: server, sport, dst: client, dport: cport };
  const out: Packet[] = [tcp({ ...c, ts: t0, flags: SYN, seq: 1000 })];
  if (opts.end === 'unanswered') return out;
  if (opts.end === 'refused') {
    out.push(tcp({ ...s, ts: t0 + 0.001, flags: RST | ACK, seq: 0 }));
    return out;
  }
  out.push(tcp({ ...s, ts: t0 + 0.001, flags: SYN | ACK, seq: 5000 }));
  out.push(tcp({ ...c, ts: t0 + 0.002, flags: ACK, seq: 1001 }));
  let cseq = 1001;
  let sseq = 5001;
  if (opts.request) {
    out.push(tcp({ ...c, ts: t0 + 0.003, flags: PSH | ACK, seq: cseq, payload: opts.request }));
    cseq += opts.request.length;
  }
  if (opts.response) {
    out.push(tcp({ ...s, ts: t0 + 0.004, flags: PSH | ACK, seq: sseq, payload: opts.response }));
    sseq += opts.response.length;
  }
  if (opts.end === 'open') return out;
  out.push(tcp({ ...c, ts: t0 + 0.005, flags: FIN | ACK, seq: cseq }));
  out.push(tcp({ ...s, ts: t0 + 0.006, flags: FIN | ACK, seq: sseq }));
  out.push(tcp({ ...c, ts: t0 + 0.007, flags: ACK, seq: cseq + 1 }));
  return out;
}

export const H2_PREFACE = new TextEncoder().encode('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
