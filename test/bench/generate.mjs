#!/usr/bin/env node
/**
 * Benchmark workload generator: a deterministic, realistic classic pcap (Ethernet, IPv4, µs) of a
 * Fed-BioMed deployment seen from a mirror port, with every flow interleaved in time:
 *
 *   grpc       node -> researcher TCP/50051: three-way handshake, a TLS 1.3 ClientHello the way a
 *              current browser-grade stack writes it (GREASE, SNI "researcher", ALPN h2,
 *              supported_versions, an X25519MLKEM768 key share: a 1.5 KB record, two segments), the
 *              ServerHello flight (ML-KEM ciphertext, CCS, encrypted handshake records), then HTTP/2 in
 *              TLS application data records both ways (polls, task downloads, model uploads, PINGs),
 *              FIN close. It carries most of the packets.
 *   liveness   node -> researcher TCP/50051, bare connect/close (6 packets).
 *   secagg     node -> node TCP/14000-14002: MP-SPDZ-like length-prefixed messages, a few KB each
 *              way, closed with FIN.
 *   wireguard  node -> vpnserver UDP/51820: 148-byte initiation, 92-byte response, transport data
 *              (full-size 1452-byte and ACK-size 96-byte messages, 32-byte keepalives), rekeying every
 *              2 minutes.
 *   gui        127.0.0.1 -> 127.0.0.1:8484 (loopback, MSS 65483): HTTP/1.1 GETs with Host, responses.
 *   scan       an outsider SYN-scanning a node (nmap style: one source port, random closed ports
 *              answered by RST/ACK, a few open ones answered by SYN/ACK then reset by the scanner).
 *
 * Everything comes from a seeded PRNG (sfc32): the same arguments give the same bytes. The packet
 * count is exact; the flow count is exact (it is recorded per kind in the manifest).
 *
 * Usage: node test/bench/generate.mjs [--packets N] [--flows M] [--seed S] --out FILE.pcap
 * Writes FILE.pcap, FILE.hosts.yaml (the inventory) and FILE.manifest.json (what was generated, the
 * inventory flags to give netmatrix).
 *
 * `--profile transfer [--files F]`: the second workload, a rotated set of pcap files with long
 * transfers in offload-sized frames, IPv6 and VLAN tags (transfer.mjs, built on this module's
 * exports).
 */
import { closeSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseCli } from 'node:util';
import { Rng } from '../helpers/random.mjs';

// The seeded PRNG (splitmix32 seeding, sfc32 generator; never Math.random) is the tests' own.
export { Rng };

// ---------------------------------------------------------------------------------------------------
// The lab: who is who.

export const NETWORK = {
  researcher: '10.20.0.1',
  vpnserver: '10.20.0.10',
  nodeCidr: '10.20.1.0/24',
  nodeCount: 16,
  /** Nodes are 10.20.1.1 .. 10.20.1.16. */
  node: (i) => `10.20.1.${i + 1}`,
  scanners: ['198.51.100.23', '203.0.113.77', '192.0.2.200', '198.51.100.161'],
  localhost: '127.0.0.1',
};

/** The netmatrix inventory flags for this workload (each address of the /24 is one machine). */
export const INVENTORY_FLAGS = ['--node', NETWORK.nodeCidr, '--researcher', NETWORK.researcher, '--vpnserver', NETWORK.vpnserver];

export const PORTS = { grpc: 50051, secagg: [14000, 14001, 14002], wireguard: 51820, gui: 8484 };

/** Ports a scan never probes: GUI ports (would add gui-not-localhost) and the secagg range. */
function scanExcluded(port) {
  return port === 8484 || port === 8443 || port === 8888 || port === 6006 || (port >= 14000 && port <= 14099);
}

export function ipNum(text) {
  return text.split('.').reduce((n, p) => ((n << 8) | Number(p)) >>> 0, 0);
}

export function macOf(ip) {
  return Uint8Array.from([0x02, 0x00, (ip >>> 24) & 255, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255]);
}

const ROUTER_MAC = Uint8Array.from([0x02, 0x00, 0x00, 0x00, 0x00, 0xfe]);
const ZERO_MAC = new Uint8Array(6);

// ---------------------------------------------------------------------------------------------------
// pcap writing: records go straight into a large chunk, flushed with writeSync.

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;

export class PcapWriter {
  constructor(path, chunkSize = 8 << 20) {
    this.fd = openSync(path, 'w');
    this.buf = Buffer.allocUnsafe(chunkSize);
    this.pos = 0;
    this.bytes = 0;
    this.packets = 0;
    const h = this.buf;
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(262144, 16);
    h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    this.pos = 24;
  }
  /** Reserves a record of frameLen bytes at time tUs; returns the frame's offset in this.buf. */
  record(tUs, frameLen) {
    if (this.pos + 16 + frameLen > this.buf.length) this.flush();
    const b = this.buf;
    const o = this.pos;
    b.writeUInt32LE(Math.floor(tUs / 1e6), o);
    b.writeUInt32LE(tUs % 1e6, o + 4);
    b.writeUInt32LE(frameLen, o + 8);
    b.writeUInt32LE(frameLen, o + 12);
    this.pos = o + 16 + frameLen;
    this.packets++;
    return o + 16;
  }
  flush() {
    let off = 0;
    while (off < this.pos) off += writeSync(this.fd, this.buf, off, this.pos - off);
    this.bytes += this.pos;
    this.pos = 0;
  }
  close() {
    this.flush();
    closeSync(this.fd);
  }
}

export function sum16(b, start, end, sum) {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i] << 8) | b[i + 1];
  if (i < end) sum += b[i] << 8;
  return sum;
}

export function fold(sum) {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return ~sum & 0xffff;
}

export function writeEthIp(b, o, dmac, smac, src, dst, proto, ipLen, ipId, ttl) {
  b.set(dmac, o);
  b.set(smac, o + 6);
  b[o + 12] = 0x08;
  b[o + 13] = 0x00;
  const ip = o + 14;
  b[ip] = 0x45;
  b[ip + 1] = 0;
  b.writeUInt16BE(ipLen, ip + 2);
  b.writeUInt16BE(ipId & 0xffff, ip + 4);
  b.writeUInt16BE(0x4000, ip + 6); // DF
  b[ip + 8] = ttl;
  b[ip + 9] = proto;
  b[ip + 10] = 0;
  b[ip + 11] = 0;
  b.writeUInt32BE(src, ip + 12);
  b.writeUInt32BE(dst, ip + 16);
  b.writeUInt16BE(fold(sum16(b, ip, ip + 20, 0)), ip + 10);
  return ip + 20;
}

export const OPT_LEN = { syn: 20, ts: 12, mss: 4, none: 0 };

/**
 * The TCP header of step `s` at b[t] (checksum left 0) and its options; returns where the payload
 * goes. Shared by both workload profiles.
 */
export function writeTcpHeader(b, t, s, optLen) {
  const k = s.conn;
  const fromClient = s.c;
  b.writeUInt16BE(fromClient ? k.cport : k.sport, t);
  b.writeUInt16BE(fromClient ? k.sport : k.cport, t + 2);
  b.writeUInt32BE(s.seq >>> 0, t + 4);
  b.writeUInt32BE(s.ack >>> 0, t + 8);
  b[t + 12] = ((20 + optLen) / 4) << 4;
  b[t + 13] = s.flags;
  b.writeUInt16BE(s.win, t + 14);
  b[t + 16] = 0;
  b[t + 17] = 0;
  b[t + 18] = 0;
  b[t + 19] = 0;
  let p = t + 20;
  if (s.opt === 'syn') {
    // MSS, SACK permitted, timestamps, NOP, window scale 7 (Linux order)
    b[p] = 2; b[p + 1] = 4; b.writeUInt16BE(k.mss + 12, p + 2); // advertised: MTU - 40
    b[p + 4] = 4; b[p + 5] = 2;
    b[p + 6] = 8; b[p + 7] = 10; b.writeUInt32BE(s.tsval >>> 0, p + 8); b.writeUInt32BE(s.tsecr >>> 0, p + 12);
    b[p + 16] = 1; b[p + 17] = 3; b[p + 18] = 3; b[p + 19] = 7;
    p += 20;
  } else if (s.opt === 'ts') {
    b[p] = 1; b[p + 1] = 1; b[p + 2] = 8; b[p + 3] = 10;
    b.writeUInt32BE(s.tsval >>> 0, p + 4); b.writeUInt32BE(s.tsecr >>> 0, p + 8);
    p += 12;
  } else if (s.opt === 'mss') {
    b[p] = 2; b[p + 1] = 4; b.writeUInt16BE(k.v6 ? 1440 : 1460, p + 2); // MTU 1500 - 40 (IPv4) or - 60 (IPv6)
    p += 4;
  }
  return p;
}

/** One TCP segment (step) into the writer. */
function emitTcp(w, s) {
  const k = s.conn;
  const fromClient = s.c;
  const plen = s.data ? s.data.length : 0;
  const optLen = OPT_LEN[s.opt];
  const tcpLen = 20 + optLen + plen;
  const ipLen = 20 + tcpLen;
  const o = w.record(s.t, 14 + ipLen);
  const b = w.buf;
  const src = fromClient ? k.cip : k.sip;
  const dst = fromClient ? k.sip : k.cip;
  const t = writeEthIp(
    b, o,
    fromClient ? k.smac : k.cmac,
    fromClient ? k.cmac : k.smac,
    src, dst, 6, ipLen,
    s.ipId, s.ttl,
  );
  const p = writeTcpHeader(b, t, s, optLen);
  if (plen) b.set(s.data, p);
  // Pseudo-header: src, dst, protocol, TCP length.
  let sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 6 + tcpLen;
  sum = sum16(b, t, t + tcpLen, sum);
  b.writeUInt16BE(fold(sum), t + 16);
}

function emitUdp(w, s) {
  const k = s.conn;
  const fromClient = s.c;
  const udpLen = 8 + s.data.length;
  const ipLen = 20 + udpLen;
  const o = w.record(s.t, 14 + ipLen);
  const b = w.buf;
  const src = fromClient ? k.cip : k.sip;
  const dst = fromClient ? k.sip : k.cip;
  const u = writeEthIp(b, o, fromClient ? k.smac : k.cmac, fromClient ? k.cmac : k.smac, src, dst, 17, ipLen, s.ipId, 64);
  b.writeUInt16BE(fromClient ? k.cport : k.sport, u);
  b.writeUInt16BE(fromClient ? k.sport : k.cport, u + 2);
  b.writeUInt16BE(udpLen, u + 4);
  b[u + 6] = 0;
  b[u + 7] = 0;
  b.set(s.data, u + 8);
  let sum = (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + 17 + udpLen;
  sum = sum16(b, u, u + udpLen, sum);
  b.writeUInt16BE(fold(sum) || 0xffff, u + 6);
}

// ---------------------------------------------------------------------------------------------------
// Payload material.

/** Random bytes (ciphertext, key shares): slices of one pool, never copied. */
export class Pool {
  constructor(rng, size = 2 << 20) {
    this.buf = rng.fill(Buffer.allocUnsafe(size));
  }
  slice(rng, len) {
    if (len > this.buf.length) throw new Error(`pool too small for ${len} bytes`);
    const off = rng.int(0, this.buf.length - len);
    return this.buf.subarray(off, off + len);
  }
}

/** JSON-ish text for the GUI's responses. */
function textPool(rng, size = 96 * 1024) {
  const parts = [];
  let n = 0;
  const tags = ['#MRI', '#csv', '#images', '#medical-folder', '#flamby', '#ixi'];
  for (let i = 0; n < size; i++) {
    const s = `{"dataset_id":"dataset_${(rng.u32() >>> 0).toString(16)}","name":"site-${i % 97}-cohort","tags":["${rng.pick(tags)}"],"data_type":"${rng.pick(['csv', 'images', 'medical-folder'])}","shape":[${rng.int(10, 90000)},${rng.int(2, 512)}],"dtypes":["float64","int64","object"],"path":"/data/fedbiomed/${i}"},`;
    parts.push(s);
    n += s.length;
  }
  return Buffer.from(parts.join(''), 'latin1');
}

class Bytes {
  constructor() {
    this.a = [];
  }
  u8(v) {
    this.a.push(v & 255);
    return this;
  }
  u16(v) {
    this.a.push((v >>> 8) & 255, v & 255);
    return this;
  }
  bytes(buf) {
    for (let i = 0; i < buf.length; i++) this.a.push(buf[i]);
    return this;
  }
  ascii(s) {
    for (let i = 0; i < s.length; i++) this.a.push(s.charCodeAt(i) & 255);
    return this;
  }
  block(lenBytes, fn) {
    const at = this.a.length;
    for (let i = 0; i < lenBytes; i++) this.a.push(0);
    fn(this);
    let n = this.a.length - at - lenBytes;
    for (let i = lenBytes - 1; i >= 0; i--) {
      this.a[at + i] = n & 255;
      n >>>= 8;
    }
    return this;
  }
  ext(type, fn) {
    return this.u16(type).block(2, fn ?? (() => {}));
  }
  buffer() {
    return Buffer.from(this.a);
  }
}

const GREASE = [0x0a0a, 0x1a1a, 0x2a2a, 0x3a3a, 0x4a4a, 0x5a5a, 0x6a6a, 0x7a7a, 0x8a8a, 0x9a9a, 0xaaaa, 0xbaba, 0xcaca, 0xdada, 0xeaea, 0xfafa];
const X25519MLKEM768 = 0x11ec;
/** ML-KEM-768 encapsulation key (1184) + X25519 (32). */
const MLKEM_CLIENT_SHARE = 1216;
/** ML-KEM-768 ciphertext (1088) + X25519 (32). */
const MLKEM_SERVER_SHARE = 1120;

/** A TLS 1.3 ClientHello record as a current Chromium-class client writes it (about 1.5 KB). */
export function clientHello(rng, pool, sni = 'researcher') {
  const g = () => rng.pick(GREASE);
  const g1 = g();
  let g4 = g();
  if (g4 === g1) g4 = GREASE[(GREASE.indexOf(g1) + 1) % GREASE.length];
  const body = new Bytes()
    .u16(0x0303)
    .bytes(pool.slice(rng, 32))
    .block(1, (b) => b.bytes(pool.slice(rng, 32)))
    .block(2, (b) => {
      b.u16(g());
      for (const cs of [0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035]) b.u16(cs);
    })
    .block(1, (b) => b.u8(0))
    .block(2, (b) => {
      const share2 = g();
      b.ext(g1)
        .ext(0x0000, (e) => e.block(2, (l) => l.u8(0).block(2, (n) => n.ascii(sni))))
        .ext(0x0017)
        .ext(0xff01, (e) => e.u8(0))
        .ext(0x000a, (e) => e.block(2, (l) => l.u16(share2).u16(X25519MLKEM768).u16(0x001d).u16(0x0017).u16(0x0018)))
        .ext(0x000b, (e) => e.block(1, (l) => l.u8(0)))
        .ext(0x0023)
        .ext(0x0010, (e) => e.block(2, (l) => l.block(1, (p) => p.ascii('h2'))))
        .ext(0x0005, (e) => e.u8(1).u16(0).u16(0))
        .ext(0x000d, (e) => e.block(2, (l) => {
          for (const s of [0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601]) l.u16(s);
        }))
        .ext(0x0012)
        .ext(0x0033, (e) => e.block(2, (l) => {
          l.u16(share2).block(2, (k) => k.u8(0));
          l.u16(X25519MLKEM768).block(2, (k) => k.bytes(pool.slice(rng, MLKEM_CLIENT_SHARE)));
          l.u16(0x001d).block(2, (k) => k.bytes(pool.slice(rng, 32)));
        }))
        .ext(0x002d, (e) => e.block(1, (l) => l.u8(1)))
        .ext(0x002b, (e) => e.block(1, (l) => l.u16(g()).u16(0x0304).u16(0x0303)))
        .ext(0x001b, (e) => e.block(1, (l) => l.u16(0x0002)))
        .ext(g4, (e) => e.u8(0));
    })
    .buffer();
  return new Bytes().u8(0x16).u16(0x0301).block(2, (r) => r.u8(0x01).block(3, (h) => h.bytes(body))).buffer();
}

/** ServerHello (ML-KEM ciphertext share), ChangeCipherSpec, the encrypted rest of the server's flight. */
export function serverFlight(rng, pool, sessionId) {
  const sh = new Bytes()
    .u8(0x16)
    .u16(0x0303)
    .block(2, (r) =>
      r.u8(0x02).block(3, (h) =>
        h
          .u16(0x0303)
          .bytes(pool.slice(rng, 32))
          .block(1, (s) => s.bytes(sessionId))
          .u16(0x1301)
          .u8(0)
          .block(2, (e) =>
            e
              .ext(0x002b, (x) => x.u16(0x0304))
              .ext(0x0033, (x) => x.u16(X25519MLKEM768).block(2, (k) => k.bytes(pool.slice(rng, MLKEM_SERVER_SHARE)))),
          ),
      ),
    )
    .buffer();
  const ccs = Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01]);
  // EncryptedExtensions + Certificate (a short chain) + CertificateVerify + Finished, one record.
  const enc = appRecords(rng, pool, rng.int(1500, 2700));
  return Buffer.concat([sh, ccs, enc]);
}

/** TLS application data records (type 23) of `total` bytes on the wire, headers included. */
export function appRecords(rng, pool, total) {
  const out = Buffer.allocUnsafe(total);
  let o = 0;
  while (o < total) {
    let len = Math.min(total - o - 5, 16384 + 17);
    // Never leave a remainder too short for a record (header + tag).
    if (total - o - 5 - len > 0 && total - o - 5 - len < 22) len -= 22;
    out[o] = 0x17;
    out[o + 1] = 0x03;
    out[o + 2] = 0x03;
    out.writeUInt16BE(len, o + 3);
    pool.slice(rng, len).copy(out, o + 5);
    o += 5 + len;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Scripts: a flow is a list of steps (one packet each) built when the flow starts. Sequence and
// acknowledgement numbers are assigned in causal order as steps are created; the steps are then
// sorted by capture time (stable) for emission.

const ETH_MSS = 1448; // 1460 minus the timestamps option
const LO_MSS = 65483;

export class TcpScript {
  /**
   * conn: endpoints. rtt: µs between the capture point (the client side) and the server.
   */
  constructor(conn, t0, rtt, rng) {
    this.conn = conn;
    this.t = t0;
    this.rtt = rtt;
    this.rng = rng;
    this.steps = [];
  }

  seg(fromClient, flags, data, t, opt = 'ts', extra) {
    const k = this.conn;
    const len = data ? data.length : 0;
    const tsNow = ((fromClient ? k.cts : k.sts) + Math.floor(t / 1000)) >>> 0;
    const step = {
      t: Math.round(t),
      conn: k,
      c: fromClient,
      flags,
      data,
      seq: fromClient ? k.cseq : k.sseq,
      ack: flags & TCP_ACK ? (fromClient ? k.sseq : k.cseq) : 0,
      win: fromClient ? (flags & TCP_SYN ? k.cSynWin : k.cwin) : flags & TCP_SYN ? k.sSynWin : k.swin,
      tsval: tsNow,
      tsecr: fromClient ? k.lastSts : k.lastCts,
      opt: k.noTs && opt === 'ts' ? 'none' : opt,
      ipId: fromClient ? k.cipid++ : k.sipid++,
      ttl: fromClient ? k.cttl : k.sttl,
    };
    if (extra) Object.assign(step, extra);
    const adv = len + (flags & (TCP_SYN | TCP_FIN) ? 1 : 0);
    if (fromClient) {
      k.cseq = (k.cseq + adv) >>> 0;
      k.lastCts = tsNow;
    } else {
      k.sseq = (k.sseq + adv) >>> 0;
      k.lastSts = tsNow;
    }
    this.steps.push(step);
    return step;
  }

  /** Delay before the peer's answer is seen at the capture point (client side). */
  turn(fromClient) {
    return fromClient ? this.rng.int(20, 400) : this.rtt + this.rng.int(50, 1500);
  }

  handshake() {
    this.seg(true, TCP_SYN, null, this.t, 'syn');
    this.t += this.rtt;
    this.seg(false, TCP_SYN | TCP_ACK, null, this.t, 'syn');
    this.t += this.rng.int(15, 60);
    this.seg(true, TCP_ACK, null, this.t);
  }

  /**
   * One application message as segments. The receiver ACKs every second segment; `end` says what
   * follows: 'reply' (the peer answers at once: its reply carries the last ACK), 'ack' (the receiver
   * acknowledges what it has not yet), 'none'.
   */
  send(fromClient, buf, delay, end) {
    const mss = this.conn.mss;
    const n = Math.max(1, Math.ceil(buf.length / mss));
    const tx = this.conn.loop ? 5 : 13; // µs per full segment on the wire
    const ackLag = fromClient ? this.rtt : this.rng.int(20, 80);
    let t = this.t + delay;
    let cwnd = 10;
    let inFlight = 0;
    for (let i = 0; i < n; i++) {
      if (inFlight === cwnd) {
        // Window full: the next flight leaves once the ACKs are back.
        t += this.rtt;
        cwnd *= 2;
        inFlight = 0;
      }
      const last = i === n - 1;
      this.seg(fromClient, TCP_ACK | (last ? TCP_PSH : 0), buf.subarray(i * mss, Math.min(buf.length, (i + 1) * mss)), t);
      inFlight++;
      const odd = i % 2 === 1;
      if (odd && !(last && end === 'reply')) this.seg(!fromClient, TCP_ACK, null, t + ackLag);
      else if (last && !odd && end === 'ack') this.seg(!fromClient, TCP_ACK, null, t + (fromClient ? this.rtt : 40_000));
      if (!last) t += tx;
    }
    this.t = t;
  }

  /** Orderly close started by `fromClient`: FIN/ACK, FIN/ACK, ACK. */
  close(fromClient, delay) {
    this.t += delay;
    this.seg(fromClient, TCP_FIN | TCP_ACK, null, this.t);
    this.t += fromClient ? this.rtt : this.rng.int(30, 300);
    this.seg(!fromClient, TCP_FIN | TCP_ACK, null, this.t);
    this.t += fromClient ? this.rng.int(15, 60) : this.rtt;
    this.seg(fromClient, TCP_ACK, null, this.t);
  }
}

/** Packets `send` creates for a message of `len` bytes. */
function sendPackets(len, mss, end) {
  const n = Math.max(1, Math.ceil(len / mss));
  return n + Math.floor(n / 2) + (end === 'ack' && n % 2 === 1 ? 1 : 0) - (end === 'reply' && n % 2 === 0 ? 1 : 0);
}

export function sortSteps(steps) {
  return steps.sort((a, b) => a.t - b.t);
}

// ---------------------------------------------------------------------------------------------------
// The world: hosts with their ephemeral port counters, TCP timestamp clocks, RTTs.

function makeWorld(rng) {
  const host = (ipText, rtt) => {
    const ip = ipNum(ipText);
    return { text: ipText, ip, mac: macOf(ip), rtt, nextPort: rng.int(32768, 40000), wgPort: rng.int(40000, 50000), ts: rng.u32() };
  };
  const nodes = [];
  for (let i = 0; i < NETWORK.nodeCount; i++) {
    // Sites: a few on the researcher's LAN, most across a WAN.
    nodes.push(host(NETWORK.node(i), i < 3 ? rng.int(150, 600) : rng.int(4_000, 45_000)));
  }
  return {
    nodes,
    researcher: host(NETWORK.researcher, 0),
    vpnserver: host(NETWORK.vpnserver, 0),
    scanners: NETWORK.scanners.map((s) => ({ ...host(s, rng.int(20_000, 120_000)), nextPort: rng.int(40000, 60000) })),
    localhost: { ...host(NETWORK.localhost, 40), mac: ZERO_MAC },
  };
}

export function ephemeral(h) {
  const p = h.nextPort;
  h.nextPort = p >= 60999 ? 32768 : p + 1;
  return p;
}

function tcpConn(rng, cli, srv, cport, sport, opts = {}) {
  const loop = opts.loop === true;
  return {
    cip: cli.ip,
    sip: srv.ip,
    cmac: opts.cmac ?? cli.mac,
    smac: opts.smac ?? srv.mac,
    cport,
    sport,
    cseq: rng.u32(),
    sseq: rng.u32(),
    cts: cli.ts,
    sts: srv.ts,
    lastCts: 0,
    lastSts: 0,
    cipid: rng.int(0, 65535),
    sipid: rng.int(0, 65535),
    cttl: opts.cttl ?? 64,
    sttl: opts.sttl ?? 64,
    mss: loop ? LO_MSS : (opts.mss ?? ETH_MSS),
    loop,
    noTs: opts.noTs === true,
    cSynWin: loop ? 65495 : 64240,
    sSynWin: loop ? 65483 : 65160,
    cwin: loop ? 512 : 501,
    swin: loop ? 512 : 509,
  };
}

// ---------------------------------------------------------------------------------------------------
// Flow kinds. Each builder gets its own Rng (from the flow's seed) and returns time-sorted steps.
// ctx.mss, when set, is the full segment size of the path (the transfer profile's IPv6 flows).

const GRPC_MIN_PACKETS = 16;
export const WG_MIN_PACKETS = 3;

function buildGrpc(ctx, rng, start, budget) {
  const node = ctx.world.nodes[rng.int(0, ctx.world.nodes.length - 1)];
  const conn = tcpConn(rng, node, ctx.world.researcher, ephemeral(node), PORTS.grpc);
  const s = new TcpScript(conn, start, node.rtt, rng);
  const pool = ctx.pool;
  s.handshake();
  const ch = clientHello(rng, pool);
  const sessionId = ch.subarray(5 + 4 + 2 + 32 + 1, 5 + 4 + 2 + 32 + 1 + 32);
  s.send(true, ch, rng.int(100, 600), 'reply');
  s.send(false, serverFlight(rng, pool, sessionId), s.turn(false), 'reply');
  // Client: CCS + Finished, then the HTTP/2 preface, SETTINGS, WINDOW_UPDATE (one flight).
  s.send(true, Buffer.concat([Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01]), appRecords(rng, pool, 58), appRecords(rng, pool, rng.int(95, 130))]), s.turn(true), 'reply');
  // Server: two NewSessionTickets, SETTINGS, SETTINGS ACK.
  s.send(false, Buffer.concat([appRecords(rng, pool, rng.int(230, 280)), appRecords(rng, pool, rng.int(230, 280)), appRecords(rng, pool, rng.int(50, 70))]), s.turn(false), 'reply');
  // Client: SETTINGS ACK.
  s.send(true, appRecords(rng, pool, 31), s.turn(true), 'none');

  let remaining = budget - s.steps.length - 3;
  if (remaining < 0) throw new Error(`gRPC flow budget ${budget} too small for its handshake (${s.steps.length})`);
  const mss = conn.mss;
  // Idle time between exchanges; at least 45 ms so the client's delayed ACK (40 ms) goes first.
  const gap = () => Math.round(Math.min(30e6, rng.exp(1.6e6)) + rng.int(45_000, 80_000));
  const exchange = (req, resp, reqEnd, respEnd) => {
    s.send(true, appRecords(rng, pool, req), gap(), reqEnd);
    s.send(false, appRecords(rng, pool, resp), s.turn(false), respEnd);
  };
  while (remaining > 0) {
    const r = rng.float();
    let req;
    let resp;
    if (r < 0.55) {
      req = rng.int(120, 700); // task poll / status
      resp = rng.int(60, 900);
    } else if (r < 0.82) {
      req = rng.int(150, 600); // task download / small result
      resp = rng.int(1500, 30_000);
    } else if (r < 0.95) {
      req = rng.int(16_000, 200_000); // model update upload
      resp = rng.int(60, 300);
    } else {
      req = 0; // HTTP/2 PING and its ACK
      resp = 0;
    }
    const cost = req === 0 ? 2 : sendPackets(req, mss, 'reply') + sendPackets(resp, mss, 'ack');
    if (req !== 0 && cost <= remaining) {
      exchange(req, resp, 'reply', 'ack');
      remaining -= cost;
    } else if (remaining >= 3) {
      exchange(rng.int(120, 700), rng.int(60, 900), 'reply', 'ack');
      remaining -= 3;
    } else if (remaining === 2) {
      exchange(39, 39, 'reply', 'none');
      remaining -= 2;
    } else {
      s.send(true, appRecords(rng, pool, 39), gap(), 'none'); // WINDOW_UPDATE
      remaining -= 1;
    }
  }
  s.close(true, rng.int(5_000, 2_000_000));
  if (s.steps.length !== budget) throw new Error(`gRPC flow: ${s.steps.length} packets instead of ${budget}`);
  return { steps: sortSteps(s.steps), flows: 1 };
}

export function buildLiveness(ctx, rng, start, nodeIndex) {
  const node = ctx.world.nodes[nodeIndex];
  const conn = tcpConn(rng, node, ctx.world.researcher, ephemeral(node), PORTS.grpc, { mss: ctx.mss });
  const s = new TcpScript(conn, start, node.rtt, rng);
  s.handshake();
  s.close(true, rng.int(200, 3000));
  return { steps: s.steps, flows: 1 };
}

export function buildSecagg(ctx, rng, start) {
  const nodes = ctx.world.nodes;
  const a = nodes[rng.int(0, nodes.length - 1)];
  let b = nodes[rng.int(0, nodes.length - 1)];
  if (b === a) b = nodes[(nodes.indexOf(a) + 1) % nodes.length];
  const conn = tcpConn(rng, a, b, ephemeral(a), rng.pick(PORTS.secagg), { mss: ctx.mss });
  const s = new TcpScript(conn, start, Math.round((a.rtt + b.rtt) / 2), rng);
  const msg = (len) => {
    const buf = Buffer.allocUnsafe(len);
    buf.writeUInt32LE(len - 4, 0);
    ctx.pool.slice(rng, len - 4).copy(buf, 4);
    return buf;
  };
  s.handshake();
  // Player ids, then the rounds of the key negotiation.
  s.send(true, Buffer.from([4, 0, 0, 0, nodes.indexOf(a), 0, 0, 0]), rng.int(200, 2000), 'reply');
  s.send(false, Buffer.from([4, 0, 0, 0, nodes.indexOf(b), 0, 0, 0]), s.turn(false), 'reply');
  const rounds = rng.int(2, 5);
  for (let i = 0; i < rounds; i++) {
    s.send(true, msg(rng.int(300, 6000)), rng.int(500, 50_000), 'reply');
    s.send(false, msg(rng.int(300, 6000)), s.turn(false), i === rounds - 1 ? 'ack' : 'reply');
  }
  s.close(true, rng.int(45_000, 150_000));
  return { steps: sortSteps(s.steps), flows: 1 };
}

const GUI_PATHS = [
  ['/api/datasets/list', 'json'],
  ['/api/config/node-id', 'json'],
  ['/api/repository/list', 'json'],
  ['/api/training/history', 'json'],
  ['/api/datasets/preview', 'json'],
  ['/', 'html'],
  ['/static/js/main.8c1f3a2e.js', 'js'],
  ['/static/css/main.41d0b2c7.css', 'css'],
  ['/datasets', 'html'],
];

function guiRequest(rng, path) {
  const cookie = rng.u32().toString(16).padStart(8, '0') + rng.u32().toString(16).padStart(8, '0') + rng.u32().toString(16).padStart(8, '0');
  return Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: localhost:8484\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n` +
      `Accept: ${path.startsWith('/api/') ? 'application/json, text/plain, */*' : '*/*'}\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br, zstd\r\n` +
      `Referer: http://localhost:8484/datasets\r\nConnection: keep-alive\r\nCookie: session=${cookie}\r\nSec-Fetch-Dest: empty\r\nSec-Fetch-Mode: cors\r\nSec-Fetch-Site: same-origin\r\n\r\n`,
    'latin1',
  );
}

function guiResponse(rng, text, kind) {
  const size = kind === 'json' ? rng.int(150, 6000) : kind === 'html' ? rng.int(600, 2500) : rng.int(8000, 60000);
  const off = rng.int(0, text.length - size);
  const body = text.subarray(off, off + size);
  const type = { json: 'application/json', html: 'text/html; charset=utf-8', js: 'text/javascript; charset=utf-8', css: 'text/css; charset=utf-8' }[kind];
  const head = Buffer.from(`HTTP/1.1 200 OK\r\nServer: gunicorn\r\nDate: Mon, 02 Mar 2026 09:14:07 GMT\r\nConnection: keep-alive\r\nContent-Type: ${type}\r\nContent-Length: ${size}\r\n\r\n`, 'latin1');
  return Buffer.concat([head, body]);
}

function buildGui(ctx, rng, start) {
  const lo = ctx.world.localhost;
  const conn = tcpConn(rng, lo, lo, ephemeral(lo), PORTS.gui, { loop: true, cmac: ZERO_MAC, smac: ZERO_MAC });
  const s = new TcpScript(conn, start, lo.rtt, rng);
  s.handshake();
  const requests = rng.int(1, 4);
  for (let i = 0; i < requests; i++) {
    const [path, kind] = rng.pick(GUI_PATHS);
    s.send(true, guiRequest(rng, path), i === 0 ? rng.int(100, 1000) : Math.round(Math.min(10e6, rng.exp(800_000))) + 45_000, 'reply');
    s.send(false, guiResponse(rng, ctx.text, kind), rng.int(300, 20_000), 'ack');
  }
  s.close(true, rng.int(45_000, 5_000_000));
  return { steps: sortSteps(s.steps), flows: 1 };
}

/** One nmap-style SYN scan burst: one scanner, one source port, one node, `probes` distinct ports. */
export function buildScan(ctx, rng, start, probes) {
  const scanner = rng.pick(ctx.world.scanners);
  const node = ctx.world.nodes[rng.int(0, ctx.world.nodes.length - 1)];
  const sport = ephemeral(scanner);
  const seen = new Set();
  const steps = [];
  let t = start;
  const interval = rng.int(300, 6000);
  for (let i = 0; i < probes; i++) {
    let port;
    do port = rng.chance(0.3) ? rng.int(1, 1024) : rng.int(1025, 65535);
    while (seen.has(port) || scanExcluded(port));
    seen.add(port);
    const conn = tcpConn(rng, scanner, node, sport, port, { cmac: ROUTER_MAC, cttl: rng.int(40, 56), noTs: true });
    conn.cSynWin = 1024;
    const s = new TcpScript(conn, t, scanner.rtt, rng);
    s.seg(true, TCP_SYN, null, t, 'mss');
    if (rng.chance(0.1)) {
      // Open port: SYN/ACK, the scanner resets.
      s.seg(false, TCP_SYN | TCP_ACK, null, t + rng.int(30, 120), 'mss');
      s.seg(true, TCP_RST, null, t + scanner.rtt + rng.int(30, 120), 'none', { win: 0 });
    } else {
      conn.sseq = 0;
      s.seg(false, TCP_RST | TCP_ACK, null, t + rng.int(20, 90), 'none', { win: 0 });
    }
    for (const step of s.steps) steps.push(step);
    t += interval + rng.int(0, interval);
  }
  return { steps: sortSteps(steps), flows: probes };
}

function wgPadded(inner) {
  return inner === 0 ? 0 : Math.min(Math.ceil(inner / 16) * 16, Math.max(inner, 1420));
}

export function buildWireguard(ctx, rng, start, budget) {
  const node = ctx.world.nodes[rng.int(0, ctx.world.nodes.length - 1)];
  const vpn = ctx.world.vpnserver;
  const conn = {
    cip: node.ip,
    sip: vpn.ip,
    cmac: node.mac,
    smac: vpn.mac,
    cport: node.wgPort++,
    sport: PORTS.wireguard,
    cipid: rng.int(0, 65535),
    sipid: rng.int(0, 65535),
  };
  const pool = ctx.pool;
  const rtt = node.rtt;
  const steps = [];
  let t = start;
  let counter = [0, 0];
  let index = [0, 0]; // the receiver index each side writes into its transport messages
  let lastHandshake = -Infinity;
  const dgram = (fromClient, data, at) => {
    steps.push({ t: Math.round(at), conn, c: fromClient, data, udp: true, ipId: fromClient ? conn.cipid++ : conn.sipid++ });
  };
  const handshake = () => {
    const cli = rng.u32();
    const srv = rng.u32();
    const init = Buffer.alloc(148);
    init[0] = 1;
    init.writeUInt32LE(cli, 4);
    pool.slice(rng, 148 - 8 - 16).copy(init, 8); // ephemeral, static, timestamp, mac1; mac2 zero
    dgram(true, init, t);
    t += rtt + rng.int(100, 800);
    const resp = Buffer.alloc(92);
    resp[0] = 2;
    resp.writeUInt32LE(srv, 4);
    resp.writeUInt32LE(cli, 8);
    pool.slice(rng, 92 - 12 - 16).copy(resp, 12);
    dgram(false, resp, t);
    index = [srv, cli];
    counter = [0, 0];
    lastHandshake = t;
  };
  const transport = (fromClient, inner, at) => {
    const len = 16 + wgPadded(inner) + 16;
    const m = Buffer.allocUnsafe(len);
    m[0] = 4;
    m[1] = 0;
    m[2] = 0;
    m[3] = 0;
    const side = fromClient ? 0 : 1;
    m.writeUInt32LE(index[side], 4);
    m.writeUInt32LE(counter[side] >>> 0, 8);
    m.writeUInt32LE(0, 12);
    counter[side]++;
    pool.slice(rng, len - 16).copy(m, 16);
    dgram(fromClient, m, at);
  };
  handshake();
  t += rng.int(50, 400);
  transport(true, 0, t); // the initiator's first message confirms the session (keepalive)
  let remaining = budget - 3;
  while (remaining > 0) {
    let idle = Math.min(40e6, rng.exp(1.5e6));
    // Persistent keepalive (25 s) during long silences.
    while (idle > 25e6 && remaining > 0) {
      t += 25e6;
      idle -= 25e6;
      transport(true, 0, t);
      remaining--;
    }
    t += Math.round(idle) + 1000;
    if (t - lastHandshake > 120e6 && remaining >= 2) {
      handshake();
      remaining -= 2;
      continue;
    }
    // A burst: an inner TCP transfer one way, inner ACKs (52 bytes) back every second segment.
    const up = rng.chance(0.5);
    const full = rng.chance(0.7);
    const k = rng.int(1, full ? 40 : 6);
    let at = t;
    for (let i = 0; i < k && remaining > 0; i++) {
      transport(up, full ? 1420 : rng.int(60, 1400), at);
      remaining--;
      if (i % 2 === 1 && remaining > 0) {
        transport(!up, 52, at + (up ? rtt : 60));
        remaining--;
      }
      at += 12;
    }
    t = at;
  }
  if (steps.length !== budget) throw new Error(`WireGuard flow: ${steps.length} packets instead of ${budget}`);
  return { steps: sortSteps(steps), flows: 1 };
}

// ---------------------------------------------------------------------------------------------------
// Plan and emission.

/** Default flow count: 1 flow per 25 packets, at least 20,000 at the default size. */
export function defaultFlows(packets) {
  return packets >= 500_000 ? Math.max(20_000, Math.round(packets / 25)) : Math.max(60, Math.round(packets / 25));
}

/** The capture starts at 2026-03-02T09:00:00Z. */
const EPOCH_US = 1_772_442_000 * 1e6;

function buildActor(ctx, a) {
  const rng = new Rng(a.seed);
  switch (a.kind) {
    case 'grpc':
      return buildGrpc(ctx, rng, a.start, a.budget);
    case 'liveness':
      return buildLiveness(ctx, rng, a.start, a.node);
    case 'secagg':
      return buildSecagg(ctx, rng, a.start);
    case 'gui':
      return buildGui(ctx, rng, a.start);
    case 'scan':
      return buildScan(ctx, rng, a.start, a.probes);
    case 'wireguard':
      return buildWireguard(ctx, rng, a.start, a.budget);
    default:
      throw new Error(`unknown kind ${a.kind}`);
  }
}

/** Binary min-heap of actors keyed by (time of their next step, id). */
export class Heap {
  constructor() {
    this.a = [];
  }
  get size() {
    return this.a.length;
  }
  top() {
    return this.a[0];
  }
  static less(x, y) {
    const tx = x.steps[x.i].t;
    const ty = y.steps[y.i].t;
    return tx < ty || (tx === ty && x.id < y.id);
  }
  push(x) {
    const a = this.a;
    a.push(x);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!Heap.less(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }
  /** The top's key changed (or it must go): restore the heap. */
  fixTop(remove) {
    const a = this.a;
    if (remove) {
      const last = a.pop();
      if (a.length === 0) return;
      a[0] = last;
    }
    let i = 0;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < a.length && Heap.less(a[l], a[m])) m = l;
      if (r < a.length && Heap.less(a[r], a[m])) m = r;
      if (m === i) return;
      [a[i], a[m]] = [a[m], a[i]];
      i = m;
    }
  }
}

/**
 * Generates the workload. Returns the manifest (also written as OUT.manifest.json unless
 * writeSidecars is false).
 */
export function generateWorkload({ packets = 500_000, flows, seed = 1, out, writeSidecars = true, log } = {}) {
  if (!out) throw new Error('generateWorkload: out (the pcap path) is required');
  if (!Number.isInteger(packets) || packets < 200) throw new Error('--packets must be an integer >= 200');
  const totalFlows = flows ?? defaultFlows(packets);
  if (!Number.isInteger(totalFlows) || totalFlows < 12) throw new Error('--flows must be an integer >= 12');
  const rng = new Rng(seed);
  const world = makeWorld(rng);
  const ctx = { world, pool: new Pool(rng), text: textPool(rng) };
  // The capture lasts 15 minutes per 500,000 packets (the doubled file: twice as long, same rates).
  const durationUs = Math.max(20e6, Math.round((packets / 500_000) * 900e6));

  const count = {
    scan: Math.round(totalFlows * 0.35),
    liveness: Math.round(totalFlows * 0.2),
    secagg: Math.round(totalFlows * 0.1),
    gui: Math.round(totalFlows * 0.08),
    wireguard: Math.max(1, Math.round(totalFlows * 0.02)),
  };
  count.grpc = totalFlows - count.scan - count.liveness - count.secagg - count.gui - count.wireguard;
  if (count.grpc < 1) throw new Error('too few flows');

  const actors = [];
  const startIn = (span) => Math.floor(rng.float() * span);
  for (let i = 0; i < count.grpc; i++) actors.push({ kind: 'grpc', seed: rng.u32(), start: startIn(durationUs * 0.96) });
  for (let i = 0; i < count.wireguard; i++) actors.push({ kind: 'wireguard', seed: rng.u32(), start: startIn(durationUs * 0.9) });
  for (let i = 0; i < count.secagg; i++) actors.push({ kind: 'secagg', seed: rng.u32(), start: startIn(durationUs) });
  for (let i = 0; i < count.gui; i++) actors.push({ kind: 'gui', seed: rng.u32(), start: startIn(durationUs) });
  // Liveness: each node checks the researcher at a regular pace (round robin over nodes).
  const perNode = Math.ceil(count.liveness / world.nodes.length);
  for (let i = 0; i < count.liveness; i++) {
    const node = i % world.nodes.length;
    const k = Math.floor(i / world.nodes.length);
    const period = durationUs / perNode;
    actors.push({ kind: 'liveness', seed: rng.u32(), node, start: Math.floor(k * period + (node / world.nodes.length) * period + rng.int(0, 50_000)) });
  }
  // Scans come in bursts of 10-150 probes.
  for (let left = count.scan; left > 0; ) {
    const probes = Math.min(left, rng.int(10, 150));
    left -= probes;
    actors.push({ kind: 'scan', seed: rng.u32(), probes, start: startIn(durationUs * 0.98) });
  }

  // Packets of the fixed-shape flows (built once to count; rebuilt identically when emitted). The
  // ephemeral port counters are saved and restored so the counting pass changes nothing.
  const savedPorts = [...world.nodes, ...world.scanners, world.localhost].map((h) => h.nextPort);
  let fixed = 0;
  const fixedByKind = { scan: 0, liveness: 0, secagg: 0, gui: 0 };
  for (const a of actors) {
    if (a.kind === 'grpc' || a.kind === 'wireguard') continue;
    const n = buildActor(ctx, a).steps.length;
    a.count = n;
    fixed += n;
    fixedByKind[a.kind] += n;
  }
  [...world.nodes, ...world.scanners, world.localhost].forEach((h, i) => {
    h.nextPort = savedPorts[i];
  });

  // The rest: 80% to gRPC (heavy-tailed sizes), 20% to WireGuard.
  const rest = packets - fixed;
  const wgTotal = Math.round(rest * 0.2);
  const grpcTotal = rest - wgTotal;
  if (grpcTotal < count.grpc * GRPC_MIN_PACKETS || wgTotal < count.wireguard * WG_MIN_PACKETS) {
    throw new Error(`${packets} packets are too few for ${totalFlows} flows (the small flows alone take ${fixed}); give more --packets or fewer --flows`);
  }
  const distribute = (list, total, min, weight) => {
    const w = list.map(() => weight());
    const sw = w.reduce((x, y) => x + y, 0);
    const extra = total - min * list.length;
    let given = 0;
    list.forEach((a, i) => {
      a.budget = min + Math.floor((extra * w[i]) / sw);
      given += a.budget;
    });
    for (let i = 0; given < total; i = (i + 1) % list.length, given++) list[i].budget++;
  };
  // Log-normal-ish gRPC sizes: most connections short, a few carrying many rounds.
  distribute(actors.filter((a) => a.kind === 'grpc'), grpcTotal, GRPC_MIN_PACKETS, () => Math.exp(rng.float() * 2.5));
  distribute(actors.filter((a) => a.kind === 'wireguard'), wgTotal, WG_MIN_PACKETS, () => 0.5 + rng.float());

  actors.sort((x, y) => x.start - y.start);
  actors.forEach((a, i) => {
    a.id = i;
    a.start += EPOCH_US;
  });

  const w = new PcapWriter(out);
  const heap = new Heap();
  let next = 0;
  let maxActive = 0;
  const packetsByKind = { grpc: 0, liveness: 0, secagg: 0, gui: 0, scan: 0, wireguard: 0 };
  const flowsByKind = { grpc: 0, liveness: 0, secagg: 0, gui: 0, scan: 0, wireguard: 0 };
  let first;
  let last;
  while (next < actors.length || heap.size > 0) {
    if (next < actors.length && (heap.size === 0 || actors[next].start <= heap.top().steps[heap.top().i].t)) {
      const a = actors[next++];
      const built = buildActor(ctx, a);
      if (a.count !== undefined && built.steps.length !== a.count) throw new Error(`${a.kind} flow: ${built.steps.length} packets, counted ${a.count}`);
      if (built.steps.length === 0) continue;
      if (built.steps[0].t < a.start) throw new Error('a flow starts before its start time');
      heap.push({ id: a.id, kind: a.kind, steps: built.steps, i: 0 });
      flowsByKind[a.kind] += built.flows;
      if (heap.size > maxActive) maxActive = heap.size;
      continue;
    }
    const x = heap.top();
    const s = x.steps[x.i];
    if (s.udp) emitUdp(w, s);
    else emitTcp(w, s);
    packetsByKind[x.kind]++;
    if (first === undefined) first = s.t;
    last = s.t;
    x.steps[x.i] = undefined;
    x.i++;
    heap.fixTop(x.i >= x.steps.length);
  }
  w.close();
  if (w.packets !== packets) throw new Error(`generated ${w.packets} packets instead of ${packets}`);
  const flowsTotal = Object.values(flowsByKind).reduce((x, y) => x + y, 0);
  if (flowsTotal !== totalFlows) throw new Error(`generated ${flowsTotal} flows instead of ${totalFlows}`);

  const manifest = {
    generator: 'test/bench/generate.mjs',
    seed,
    file: out,
    fileBytes: w.bytes,
    packets: w.packets,
    flows: { total: flowsTotal, ...flowsByKind },
    packetsByKind,
    firstTs: first / 1e6,
    lastTs: last / 1e6,
    durationSeconds: (last - first) / 1e6,
    maxConcurrentActors: maxActive,
    inventory: {
      node: [NETWORK.nodeCidr],
      researcher: [NETWORK.researcher],
      vpnserver: [NETWORK.vpnserver],
      nodes: world.nodes.map((n) => n.text),
      scanners: NETWORK.scanners,
    },
    netmatrixArgs: [...INVENTORY_FLAGS],
    expected: {
      // Under the default matrix (native): what netmatrix must say about each kind.
      grpc: { rule: 'node-researcher-grpc', verdict: 'allowed', service: 'tls' },
      liveness: { rule: 'node-researcher-grpc', verdict: 'allowed', service: 'tls (by port)' },
      secagg: { rule: 'secagg-node', verdict: 'allowed', service: 'mpspdz (by port)' },
      gui: { rule: 'node-gui', verdict: 'allowed', service: 'http' },
      wireguard: { rule: null, verdict: 'violation', findings: ['not-in-matrix'], why: 'native has no WireGuard row' },
      scan: { rule: null, verdict: 'violation', findings: ['inbound-to-node'] },
    },
  };
  if (writeSidecars) {
    const stem = out.replace(/\.pcap$/, '');
    const hosts = [
      '# Inventory of the netmatrix benchmark workload (test/bench/generate.mjs)',
      'hosts:',
      `  - { name: researcher, role: researcher, addresses: [${NETWORK.researcher}] }`,
      `  - { name: vpnserver, role: vpnserver, addresses: [${NETWORK.vpnserver}] }`,
      ...world.nodes.map((n, i) => `  - { name: node${String(i + 1).padStart(2, '0')}, role: node, addresses: [${n.text}] }`),
      '',
    ].join('\n');
    writeFileSync(`${stem}.hosts.yaml`, hosts);
    manifest.hostsFile = `${stem}.hosts.yaml`;
    writeFileSync(`${stem}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  }
  log?.(`${basename(out)}: ${w.packets} packets, ${flowsTotal} flows, ${(w.bytes / 1e6).toFixed(1)} MB, ${manifest.durationSeconds.toFixed(0)} s of traffic`);
  return manifest;
}

// ---------------------------------------------------------------------------------------------------
// Command line.

function parseArgs(argv) {
  const { values } = parseCli({
    args: argv,
    options: {
      profile: { type: 'string' }, packets: { type: 'string' }, flows: { type: 'string' }, files: { type: 'string' }, seed: { type: 'string' },
      out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  const profile = values.profile ?? 'default';
  if (profile !== 'default' && profile !== 'transfer') throw new Error(`--profile ${profile}: default or transfer`);
  if (values.files !== undefined && profile !== 'transfer') throw new Error('--files is for --profile transfer (a rotated set)');
  const opts = { profile, packets: Number(values.packets ?? (profile === 'transfer' ? 960_000 : 500_000)), seed: Number(values.seed ?? 1) };
  if (values.flows !== undefined) opts.flows = Number(values.flows);
  if (values.files !== undefined) opts.files = Number(values.files);
  if (values.out !== undefined) opts.out = values.out;
  if (values.help) opts.help = true;
  return opts;
}

const USAGE = `usage: node test/bench/generate.mjs --out FILE.pcap [--packets N (500000)] [--flows M (>= 20000 at 500000)] [--seed S (1)]
       node test/bench/generate.mjs --profile transfer --out DIR/PREFIX [--packets N (960000)] [--flows M (>= 40000 at 960000)]
                                    [--files F (4)] [--seed S (1)]
   (transfer: a rotated set DIR/PREFIX_00001_<time>.pcap ... of F files, DIR/PREFIX.hosts.yaml, DIR/PREFIX.manifest.json)
`;

async function main(argv) {
  const { profile, ...opts } = parseArgs(argv);
  if (opts.help || !opts.out) {
    process.stdout.write(USAGE);
    return opts.help ? 0 : 2;
  }
  const t0 = process.hrtime.bigint();
  const log = (s) => process.stdout.write(`${s}\n`);
  // The transfer profile lives in its own module, which imports this one: loaded once this one has
  // finished evaluating (an awaited import here would wait on itself).
  const m = profile === 'transfer' ? (await import('./transfer.mjs')).generateTransferWorkload({ ...opts, log }) : generateWorkload({ ...opts, log });
  process.stdout.write(`flows: ${JSON.stringify(m.flows)}\npackets by kind: ${JSON.stringify(m.packetsByKind)}\n`);
  if (m.profile === 'transfer') process.stdout.write(`IPv6: ${JSON.stringify(m.ipv6)}, VLAN: ${JSON.stringify(m.vlan)}, offload: ${JSON.stringify(m.offload)}\n`);
  process.stdout.write(`generated in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s\n`);
  process.stdout.write(`inventory: ${m.netmatrixArgs.join(' ')}   (or --hosts ${m.hostsFile})\n`);
  const input = m.files ? m.files.join(' ') : m.file;
  process.stdout.write(`analyze:   node dist/bin/netmatrix.cjs analyze ${input} ${m.netmatrixArgs.join(' ')} --format json > /dev/null\n`);
  return 0;
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`generate: ${err.message}\n`);
      process.exitCode = 2;
    },
  );
}
