#!/usr/bin/env node
/**
 * Writes test/corpus-regressions/hostile-clienthello.pcap: what a compromised machine can put in front
 * of a reviewer's terminal. Deterministic (fixed times, sequence numbers and bytes): running it again
 * gives the same file, and test/robustness/hostile.test.ts checks that it does.
 *
 *   flow 1  10.0.0.2:40000 -> 203.0.113.5:443  TLS ClientHello whose SNI holds an OSC title change,
 *           BEL, a screen clear, a C1 CSI (U+009B), <script>, a right-to-left override and DEL; its
 *           ALPN list holds an SGR colour sequence and a C1 CSI
 *   flow 2  10.0.0.2:40001 -> 203.0.113.5:80   HTTP request whose target holds a C1 CSI (visible bytes
 *           only are valid there) and whose Host header holds SGR, CSI, bidi controls (RLO, the Arabic
 *           letter mark, LRI) and HTML
 *
 * Both are violations under the native matrix with --node 10.0.0.2 (node -> Internet), so both are
 * listed, with their evidence, in the table's violations section.
 *
 * Usage: node test/robustness/make-hostile.mjs [OUTPUT]   (default: the fixture path above)
 */
import { writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const HOSTILE_SNI = '\u001b]0;pwned\u0007\u001b[2J\u009b31m<script>alert(1)</script>\u202e\u007f.evil.example';
export const HOSTILE_ALPN = ['h2', '\u001b[31mred\u009b0m'];
export const HOSTILE_TARGET = '/\u009b2J<script>';
export const HOSTILE_HOST = '\u001b[1;31mhost\u009b2J\u202e\u061c\u2066<img src=x onerror=alert(1)>';

const enc = new TextEncoder();
const u16 = (n) => [(n >> 8) & 0xff, n & 0xff];

/** A TLS 1.2-framed ClientHello with exactly these SNI and ALPN bytes. */
export function clientHello(sni, alpn) {
  const name = [...enc.encode(sni)];
  const sniList = [0, ...u16(name.length), ...name];
  const ext = [...u16(0), ...u16(sniList.length + 2), ...u16(sniList.length), ...sniList];
  const protos = alpn.flatMap((a) => {
    const b = [...enc.encode(a)];
    return [b.length, ...b];
  });
  ext.push(...u16(16), ...u16(protos.length + 2), ...u16(protos.length), ...protos);
  const body = [3, 3, ...new Array(32).fill(7), 0, ...u16(2), 0x13, 0x01, 1, 0, ...u16(ext.length), ...ext];
  const hs = [1, 0, ...u16(body.length), ...body];
  return Uint8Array.from([22, 3, 1, ...u16(hs.length), ...hs]);
}

export function httpRequest(target, host) {
  return enc.encode(`GET ${target} HTTP/1.1\r\nHost: ${host}\r\nUser-Agent: netmatrix-test\r\n\r\n`);
}

/** Ethernet + IPv4 + TCP (checksums zero, as on offloading NICs). */
function tcpFrame(src, dst, sport, dport, flags, seq, payload = new Uint8Array(0)) {
  const f = new Uint8Array(54 + payload.length);
  const dv = new DataView(f.buffer);
  f.set([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1], 0);
  dv.setUint16(12, 0x0800);
  f[14] = 0x45;
  dv.setUint16(16, 40 + payload.length);
  f[22] = 64;
  f[23] = 6;
  f.set(src, 26);
  f.set(dst, 30);
  dv.setUint16(34, sport);
  dv.setUint16(36, dport);
  dv.setUint32(38, seq >>> 0);
  f[46] = 0x50;
  f[47] = flags;
  dv.setUint16(48, 65535);
  f.set(payload, 54);
  return f;
}

/** A whole connection client -> server carrying `request`: handshake, data, FINs. */
function connection(t0, sport, dport, request) {
  const c = [10, 0, 0, 2];
  const s = [203, 0, 113, 5];
  const SYN = 2, ACK = 0x10, FIN = 1, PSH = 8;
  return [
    [t0, tcpFrame(c, s, sport, dport, SYN, 100)],
    [t0 + 0.001, tcpFrame(s, c, dport, sport, SYN | ACK, 900)],
    [t0 + 0.002, tcpFrame(c, s, sport, dport, ACK, 101)],
    [t0 + 0.003, tcpFrame(c, s, sport, dport, PSH | ACK, 101, request)],
    [t0 + 0.004, tcpFrame(c, s, sport, dport, FIN | ACK, 101 + request.length)],
    [t0 + 0.005, tcpFrame(s, c, dport, sport, FIN | ACK, 901)],
    [t0 + 0.006, tcpFrame(c, s, sport, dport, ACK, 102 + request.length)],
  ];
}

/** The fixture's bytes: little-endian microsecond pcap, Ethernet. */
export function buildHostileCapture() {
  const frames = [
    ...connection(1_700_000_000, 40000, 443, clientHello(HOSTILE_SNI, HOSTILE_ALPN)),
    ...connection(1_700_000_001, 40001, 80, httpRequest(HOSTILE_TARGET, HOSTILE_HOST)),
  ];
  const out = new Uint8Array(24 + frames.reduce((n, [, d]) => n + 16 + d.length, 0));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, 0xa1b2c3d4, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, 262144, true);
  dv.setUint32(20, 1, true);
  let at = 24;
  for (const [ts, data] of frames) {
    const sec = Math.floor(ts);
    dv.setUint32(at, sec, true);
    dv.setUint32(at + 4, Math.round((ts - sec) * 1e6), true);
    dv.setUint32(at + 8, data.length, true);
    dv.setUint32(at + 12, data.length, true);
    out.set(data, at + 16);
    at += 16 + data.length;
  }
  return out;
}

export const FIXTURE = fileURLToPath(new URL('../corpus-regressions/hostile-clienthello.pcap', import.meta.url));

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const out = process.argv[2] ?? FIXTURE;
  writeFileSync(out, buildHostileCapture());
  process.stdout.write(`wrote ${out}\n`);
}
