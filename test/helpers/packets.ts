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

export function tcp(s: Seg): Packet {
  const payload = s.payload ?? new Uint8Array(0);
  const v6 = s.src.includes(':');
  return {
    ts: s.ts,
    ipVersion: v6 ? 6 : 4,
    src: s.src,
    dst: s.dst,
    proto: 6,
    tcp: { srcPort: s.sport, dstPort: s.dport, seq: s.seq ?? 0, ack: 0, flags: s.flags ?? ACK, window: 65535, headerLen: 20 },
    payload,
    payloadLen: payload.length,
    ipLen: (v6 ? 40 : 20) + 20 + payload.length,
    truncated: false,
    reassembled: false,
  };
}

export function udp(s: Omit<Seg, 'flags' | 'seq'>): Packet {
  const payload = s.payload ?? new Uint8Array(0);
  const v6 = s.src.includes(':');
  return {
    ts: s.ts,
    ipVersion: v6 ? 6 : 4,
    src: s.src,
    dst: s.dst,
    proto: 17,
    udp: { srcPort: s.sport, dstPort: s.dport, length: 8 + payload.length },
    payload,
    payloadLen: payload.length,
    ipLen: (v6 ? 40 : 20) + 8 + payload.length,
    truncated: false,
    reassembled: false,
  };
}

/** An ICMP (IPv4) or ICMPv6 (IPv6 addresses) message; `payload` is what follows its 8-byte header. */
export function icmp(s: { ts: number; src: string; dst: string; type: number; code?: number; payload?: Uint8Array }): Packet {
  const payload = s.payload ?? new Uint8Array(0);
  const v6 = s.src.includes(':');
  return {
    ts: s.ts,
    ipVersion: v6 ? 6 : 4,
    src: s.src,
    dst: s.dst,
    proto: v6 ? 58 : 1,
    icmp: { type: s.type, code: s.code ?? 0 },
    payload,
    payloadLen: payload.length,
    ipLen: (v6 ? 40 : 20) + 8 + payload.length,
    truncated: false,
    reassembled: false,
  };
}

/** A packet of another IP protocol (OSPF 89, VRRP 112, ESP 50, ...) with `len` bytes of IP payload. */
export function ipProto(s: { ts: number; src: string; dst: string; proto: number; len?: number }): Packet {
  const len = s.len ?? 0;
  const v6 = s.src.includes(':');
  return {
    ts: s.ts,
    ipVersion: v6 ? 6 : 4,
    src: s.src,
    dst: s.dst,
    proto: s.proto,
    payload: new Uint8Array(len),
    payloadLen: len,
    ipLen: (v6 ? 40 : 20) + len,
    truncated: false,
    reassembled: false,
  };
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
