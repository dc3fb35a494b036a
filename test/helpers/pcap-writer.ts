/**
 * Writes classic pcap files (Ethernet, IPv4, TCP) for tests that need crafted packets the lab cannot
 * produce with real software (a hostile SNI, say). Checksums are left zero, as captures on offloading
 * NICs have them.
 */
export interface TcpSpec {
  ts: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  flags: number;
  seq: number;
  payload?: Uint8Array;
}

function ipBytes(ip: string): number[] {
  return ip.split('.').map(Number);
}

export function tcpFrame(p: TcpSpec): Uint8Array {
  const payload = p.payload ?? new Uint8Array(0);
  const frame = new Uint8Array(14 + 20 + 20 + payload.length);
  const dv = new DataView(frame.buffer);
  frame.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  dv.setUint16(12, 0x0800);
  frame[14] = 0x45;
  dv.setUint16(16, 20 + 20 + payload.length);
  frame[22] = 64;
  frame[23] = 6;
  frame.set(ipBytes(p.src), 26);
  frame.set(ipBytes(p.dst), 30);
  dv.setUint16(34, p.sport);
  dv.setUint16(36, p.dport);
  dv.setUint32(38, p.seq >>> 0);
  dv.setUint32(42, 0);
  frame[46] = 5 << 4;
  frame[47] = p.flags;
  dv.setUint16(48, 65535);
  frame.set(payload, 54);
  return frame;
}

export function pcapFile(frames: { ts: number; data: Uint8Array }[], linkType = 1): Uint8Array {
  const size = 24 + frames.reduce((n, f) => n + 16 + f.data.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 262144, true);
  dv.setUint32(20, linkType, true);
  let at = 24;
  for (const f of frames) {
    const sec = Math.floor(f.ts);
    dv.setUint32(at, sec, true);
    dv.setUint32(at + 4, Math.round((f.ts - sec) * 1e6), true);
    dv.setUint32(at + 8, f.data.length, true);
    dv.setUint32(at + 12, f.data.length, true);
    out.set(f.data, at + 16);
    at += 16 + f.data.length;
  }
  return out;
}

/** A TLS 1.2-style ClientHello carrying exactly the given SNI and ALPN bytes (no validation). */
export function craftedClientHello(sni: Uint8Array, alpn: string[]): Uint8Array {
  const ext: number[] = [];
  const u16 = (n: number): number[] => [(n >> 8) & 0xff, n & 0xff];
  const sniList = [0, ...u16(sni.length), ...sni];
  ext.push(...u16(0), ...u16(sniList.length + 2), ...u16(sniList.length), ...sniList);
  const enc = new TextEncoder();
  const protos = alpn.flatMap((a) => {
    const b = [...enc.encode(a)];
    return [b.length, ...b];
  });
  ext.push(...u16(16), ...u16(protos.length + 2), ...u16(protos.length), ...protos);
  const body = [3, 3, ...new Array<number>(32).fill(7), 0, ...u16(2), 0x13, 0x01, 1, 0, ...u16(ext.length), ...ext];
  const hs = [1, 0, ...u16(body.length), ...body];
  return new Uint8Array([22, 3, 1, ...u16(hs.length), ...hs]);
}

/** A whole TCP connection client -> server carrying `request`, as pcap frames. */
export function tcpConnectionFrames(t0: number, src: string, sport: number, dst: string, dport: number, request: Uint8Array): { ts: number; data: Uint8Array }[] {
  const SYN = 2;
  const ACK = 0x10;
  const FIN = 1;
  const PSH = 8;
  const c = { src, dst, sport, dport };
  const s = { src: dst, dst: src, sport: dport, dport: sport };
  const specs: TcpSpec[] = [
    { ...c, ts: t0, flags: SYN, seq: 100 },
    { ...s, ts: t0 + 0.001, flags: SYN | ACK, seq: 900 },
    { ...c, ts: t0 + 0.002, flags: ACK, seq: 101 },
    { ...c, ts: t0 + 0.003, flags: PSH | ACK, seq: 101, payload: request },
    { ...c, ts: t0 + 0.004, flags: FIN | ACK, seq: 101 + request.length },
    { ...s, ts: t0 + 0.005, flags: FIN | ACK, seq: 901 },
    { ...c, ts: t0 + 0.006, flags: ACK, seq: 102 + request.length },
  ];
  return specs.map((p) => ({ ts: p.ts, data: tcpFrame(p) }));
}
