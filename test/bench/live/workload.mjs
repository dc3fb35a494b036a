/**
 * Workloads of the live-capture benchmark (test/bench/live.mjs): classic pcap files that tcpreplay
 * sends from namespace A to namespace B. Plain JavaScript, no dependency.
 *
 * File format: classic pcap, little-endian, microsecond magic 0xa1b2c3d4, version 2.4, snaplen 262144,
 * LINKTYPE_ETHERNET; a 24-byte file header, then per packet a 16-byte record header and the frame.
 * Every frame: Ethernet II (destination = the B side's veth MAC, source = A's), IPv4 without options
 * (DF, TTL 64, header checksum), then UDP or TCP with a correct checksum over the pseudo-header.
 * Timestamps are 10 µs apart (tcpreplay --topspeed and --pps ignore them).
 *
 * - udp: 60-byte frames (64 bytes on a wire with the FCS; a veth carries no FCS): 14 Ethernet + 20 IP +
 *   8 UDP + 18 bytes of payload, from the node A-addr to the researcher B-addr port 123 (NTP: a host
 *   service, out of the matrix's scope, so netmatrix judges these flows without an alert per flow).
 *   `udpFlowPackets` consecutive packets share one 5-tuple (source port); every flow is unique.
 * - tcp: short connections node A-addr:ephemeral -> researcher B-addr:50051, 8 packets each: SYN,
 *   SYN-ACK, ACK, the client's data (a small TLS 1.3 ClientHello, SNI "researcher", ALPN h2: the
 *   matrix's gRPC row, so each connection is allowed and raises no alert), the server's ACK, FIN-ACK,
 *   FIN-ACK, ACK. Both directions are replayed from A (the B side's kernel does not answer them: the
 *   benchmark drops them at B's netfilter hook, after the capture tap). Every connection has its own
 *   4-tuple.
 *
 * Unique tuples: source ports 1024..65535 (64,512 of them) on the first source address; past that the
 * source address steps through the other host addresses of A's /24 (hosts .1-.254 except B's), so a
 * file of up to about 16 million flows never repeats a tuple. netmatrix gets `--node A/24` so every
 * source stays a node.
 */
import { fold, PcapWriter, sum16, writeEthIp } from '../generate.mjs';

export const FRAME_UDP = 60;
export const TCP_PACKETS_PER_CONN = 8;
export const UDP_PORT = 123;
export const TCP_PORT = 50051;

const PORT_LO = 1024;
const PORTS = 65536 - PORT_LO;

export function ipNum(text) {
  const p = text.split('.').map(Number);
  if (p.length !== 4 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad IPv4 address ${text}`);
  return ((p[0] << 24) | (p[1] << 16) | (p[2] << 8) | p[3]) >>> 0;
}

export function macBytes(text) {
  const p = text.split(':').map((x) => Number.parseInt(x, 16));
  if (p.length !== 6 || p.some((x) => !Number.isInteger(x) || x < 0 || x > 255)) throw new Error(`bad MAC address ${text}`);
  return Uint8Array.from(p);
}



/** The benchmark's pcap writer, with packets 10 µs apart (tcpreplay --topspeed and --pps ignore times). */
class PcapFile extends PcapWriter {
  constructor(path) {
    super(path, 1 << 20);
    this.us = 1_772_442_000 * 1e6;
  }

  /** Reserves a record of `len` bytes; returns the offset of the frame in this.buf. */
  record(len) {
    this.us += 10;
    return super.record(this.us, len);
  }
}

function ethIp(b, o, dmac, smac, src, dst, proto, ipLen, ipId) {
  return writeEthIp(b, o, dmac, smac, src, dst, proto, ipLen, ipId, 64);
}

function pseudo(src, dst, proto, len) {
  return (src >>> 16) + (src & 0xffff) + (dst >>> 16) + (dst & 0xffff) + proto + len;
}

/** Source addresses for unique tuples: A-addr first, then the other hosts of its /24 except B-addr. */
function sources(aAddr, bAddr) {
  const a = ipNum(aAddr);
  const b = ipNum(bAddr);
  const net = a & 0xffffff00;
  const out = [a];
  for (let h = 1; h < 255; h++) {
    const x = (net | h) >>> 0;
    if (x !== a && x !== b) out.push(x);
  }
  return out;
}

function tupleOf(srcs, i) {
  const s = Math.floor(i / PORTS);
  if (s >= srcs.length) throw new Error(`more than ${srcs.length * PORTS} flows: not unique any more`);
  return { src: srcs[s], port: PORT_LO + (i % PORTS) };
}

/** A minimal TLS 1.3 ClientHello record: SNI, ALPN h2, supported_versions, an X25519 key share. */
export function clientHello(sni = 'researcher') {
  const ext = [];
  const u16 = (n) => [(n >> 8) & 0xff, n & 0xff];
  const name = [...Buffer.from(sni, 'ascii')];
  ext.push(...u16(0x0000), ...u16(name.length + 5), ...u16(name.length + 3), 0, ...u16(name.length), ...name);
  ext.push(...u16(0x0010), ...u16(5), ...u16(3), 2, 0x68, 0x32); // ALPN h2
  ext.push(...u16(0x002b), ...u16(3), 2, 0x03, 0x04); // supported_versions TLS 1.3
  ext.push(...u16(0x000a), ...u16(4), ...u16(2), ...u16(0x001d)); // supported_groups x25519
  ext.push(...u16(0x000d), ...u16(4), ...u16(2), ...u16(0x0804)); // signature_algorithms
  const key = Array.from({ length: 32 }, (_, i) => (i * 37 + 11) & 0xff);
  ext.push(...u16(0x0033), ...u16(38), ...u16(36), ...u16(0x001d), ...u16(32), ...key); // key_share
  const random = Array.from({ length: 32 }, (_, i) => (i * 53 + 7) & 0xff);
  const body = [0x03, 0x03, ...random, 0, ...u16(2), ...u16(0x1301), 1, 0, ...u16(ext.length), ...ext];
  const hs = [1, 0, ...u16(body.length), ...body];
  return Uint8Array.from([0x16, 0x03, 0x01, ...u16(hs.length), ...hs]);
}

/**
 * Writes `packets` UDP packets (`flowPackets` per flow) to `out`. Returns {packets, flows, bytes}.
 * @param {{out: string, packets: number, flowPackets?: number, aAddr: string, bAddr: string, aMac: string, bMac: string}} o
 */
export function writeUdpWorkload(o) {
  const per = o.flowPackets ?? 1;
  const w = new PcapFile(o.out);
  const dmac = macBytes(o.bMac);
  const smac = macBytes(o.aMac);
  const dst = ipNum(o.bAddr);
  const srcs = sources(o.aAddr, o.bAddr);
  const payload = Buffer.from('netmatrix-bench-18'); // 18 bytes: a 60-byte frame
  const udpLen = 8 + payload.length;
  let flows = 0;
  for (let i = 0; i < o.packets; i++) {
    const f = Math.floor(i / per);
    if (i % per === 0) flows++;
    const { src, port } = tupleOf(srcs, f);
    const at = w.record(14 + 20 + udpLen);
    const b = w.buf;
    const u = ethIp(b, at, dmac, smac, src, dst, 17, 20 + udpLen, i);
    b.writeUInt16BE(port, u);
    b.writeUInt16BE(UDP_PORT, u + 2);
    b.writeUInt16BE(udpLen, u + 4);
    b[u + 6] = 0;
    b[u + 7] = 0;
    b.set(payload, u + 8);
    b.writeUInt16BE(fold(sum16(b, u, u + udpLen, pseudo(src, dst, 17, udpLen))) || 0xffff, u + 6);
  }
  w.close();
  return { packets: w.packets, flows, bytes: w.bytes };
}

const FIN = 0x01;
const SYN = 0x02;
const PSH = 0x08;
const ACK = 0x10;

/**
 * Writes `packets` (rounded down to whole 8-packet connections) TCP packets to `out`.
 * @param {{out: string, packets: number, aAddr: string, bAddr: string, aMac: string, bMac: string}} o
 */
export function writeTcpWorkload(o) {
  const conns = Math.floor(o.packets / TCP_PACKETS_PER_CONN);
  if (conns < 1) throw new Error(`the TCP workload needs at least ${TCP_PACKETS_PER_CONN} packets`);
  const w = new PcapFile(o.out);
  const bmac = macBytes(o.bMac);
  const amac = macBytes(o.aMac);
  const server = ipNum(o.bAddr);
  const srcs = sources(o.aAddr, o.bAddr);
  const hello = clientHello();
  let ipId = 0;
  const seg = (c, fromClient, flags, seq, ack, data) => {
    const plen = data ? data.length : 0;
    const tcpLen = 20 + plen;
    const at = w.record(14 + 20 + tcpLen);
    const b = w.buf;
    const src = fromClient ? c.src : server;
    const dst = fromClient ? server : c.src;
    // Every frame goes out of A towards B: the B side's MAC is the destination of both directions.
    const t = ethIp(b, at, bmac, amac, src, dst, 6, 20 + tcpLen, ipId++);
    b.writeUInt16BE(fromClient ? c.port : TCP_PORT, t);
    b.writeUInt16BE(fromClient ? TCP_PORT : c.port, t + 2);
    b.writeUInt32BE(seq >>> 0, t + 4);
    b.writeUInt32BE(ack >>> 0, t + 8);
    b[t + 12] = 5 << 4;
    b[t + 13] = flags;
    b.writeUInt16BE(64240, t + 14);
    b[t + 16] = 0;
    b[t + 17] = 0;
    b[t + 18] = 0;
    b[t + 19] = 0;
    if (plen) b.set(data, t + 20);
    b.writeUInt16BE(fold(sum16(b, t, t + tcpLen, pseudo(src, dst, 6, tcpLen))), t + 16);
  };
  for (let i = 0; i < conns; i++) {
    const c = tupleOf(srcs, i);
    const cs = (0x1000_0000 + i * 7919) >>> 0; // client ISN
    const ss = (0x7000_0000 + i * 104729) >>> 0; // server ISN
    const n = hello.length;
    seg(c, true, SYN, cs, 0);
    seg(c, false, SYN | ACK, ss, cs + 1);
    seg(c, true, ACK, cs + 1, ss + 1);
    seg(c, true, PSH | ACK, cs + 1, ss + 1, hello);
    seg(c, false, ACK, ss + 1, cs + 1 + n);
    seg(c, true, FIN | ACK, cs + 1 + n, ss + 1);
    seg(c, false, FIN | ACK, ss + 1, cs + 2 + n);
    seg(c, true, ACK, cs + 2 + n, ss + 2);
  }
  w.close();
  return { packets: w.packets, flows: conns, bytes: w.bytes };
}
