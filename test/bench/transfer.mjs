/**
 * The benchmark's second workload profile, `transfer` (`node test/bench/generate.mjs --profile
 * transfer`): a Fed-BioMed training campaign captured on the researcher's hypervisor, on the bridge
 * to the site trunk. Shaped differently from the default profile on purpose:
 *
 *   - few, long gRPC/TLS connections that move models (downloads from the researcher, uploads from
 *     the nodes, 0.4-6 MB each) between long runs of polls; many more data packets per gRPC
 *     connection than in the default profile;
 *   - segments as a capture on the sending host sees them: what the researcher and the node VMs on
 *     the same host send leaves in GSO/TSO frames of up to 45 full segments (Linux's TSO autosizing:
 *     about 1 ms of data at the path's rate; IP packets up to 65,212 bytes; the pcap's snaplen is
 *     262,144), acknowledged by the far receiver every 2 or 4 wire segments (acknowledgement numbers
 *     inside a frame); what remote sites send arrives as full-size segments (MSS 1448 over IPv4,
 *     1428 over IPv6) acknowledged every second segment;
 *   - dual-stack hosts: about a fifth of the flows over IPv6 (nodes, researcher, vpnserver and the
 *     scanners all have an IPv6 address; the hosts file pairs each machine's two addresses);
 *   - 802.1Q: the nodes of one site (every third node) sit in VLAN 120, their frames are tagged
 *     (about a third of the frames);
 *   - many small flows besides: liveness probes, SYN scans, secagg, WireGuard (the default
 *     profile's builders, on this profile's hosts, over either IP version);
 *   - written as a rotated set: F files of ceil(P/F) packets each, named as dumpcap names a ring
 *     buffer (`-b packets:N`): PREFIX_NNNNN_YYYYMMDDhhmmss.pcap, each a complete pcap with its own
 *     header; flows continue across the file boundaries.
 *
 * Deterministic from the seed (the tests' Rng); packet and flow counts exact; checksums valid.
 */
import { closeSync, mkdirSync, openSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import {
  appRecords, buildLiveness, buildScan, buildSecagg, buildWireguard, clientHello, ephemeral, fold, Heap, ipNum, macOf,
  OPT_LEN, Pool, Rng, serverFlight, sortSteps, sum16, TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN, TcpScript, WG_MIN_PACKETS, writeTcpHeader,
} from './generate.mjs';

export const TRANSFER_NETWORK = {
  researcher: '10.30.0.1',
  researcher6: 'fd00:30::1',
  vpnserver: '10.30.0.10',
  vpnserver6: 'fd00:30::a',
  nodeCidr: '10.30.1.0/24',
  nodeCidr6: 'fd00:30:1::/64',
  nodeCount: 24,
  /** Nodes are 10.30.1.1 .. 10.30.1.24 and fd00:30:1::1 .. fd00:30:1::18. */
  node: (i) => `10.30.1.${i + 1}`,
  node6: (i) => `fd00:30:1::${(i + 1).toString(16)}`,
  /** Nodes 1-4 are VMs on the researcher's host (the capture point); the rest are remote sites. */
  localNodes: 4,
  vlan: 120,
  /** Every third node (1, 4, 7, ...) is in VLAN 120. */
  inVlan: (i) => i % 3 === 0,
  scanners: ['198.51.100.41', '203.0.113.9', '192.0.2.77'],
  scanners6: ['2001:db8:5ca::41', '2001:db8:5ca::9', '2001:db8:5ca::77'],
};

/** The same inventory as flags: each address of a block is one machine (the hosts file pairs them). */
export const TRANSFER_INVENTORY_FLAGS = [
  '--node', TRANSFER_NETWORK.nodeCidr, '--node', TRANSFER_NETWORK.nodeCidr6,
  '--researcher', TRANSFER_NETWORK.researcher, '--researcher', TRANSFER_NETWORK.researcher6,
  '--vpnserver', TRANSFER_NETWORK.vpnserver, '--vpnserver', TRANSFER_NETWORK.vpnserver6,
];

export const TRANSFER_PORTS = { grpc: 50051, wireguard: 51820 };

/** 16 bytes of an IPv6 address written in full or with one `::`. */
export function ip6Bytes(text) {
  const [head, tail] = text.includes('::') ? text.split('::') : [text, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array(8 - h.length - t.length).fill('0'), ...t];
  if (groups.length !== 8) throw new Error(`bad IPv6 address ${text}`);
  const b = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    b[2 * i] = v >>> 8;
    b[2 * i + 1] = v & 255;
  });
  return b;
}

const MSS4 = 1448; // 1500 - 20 - 20 - 12 (timestamps)
const MSS6 = 1428; // 1500 - 40 - 20 - 12
/** Segments per GSO frame at most: 45 x 1448 + 52 = 65,212 <= 65,535 (IPv4 total length). */
const GSO_MAX_SEGS = 45;
const ETHERTYPE_VLAN = 0x8100;

// ---------------------------------------------------------------------------------------------------
// Rotated pcap set.

function stamp(tUs) {
  return new Date(Math.floor(tUs / 1000)).toISOString().replace(/[-:T]/g, '').slice(0, 14);
}

/**
 * Writes one packet stream as a ring of pcap files of `perFile` packets (the last one the rest), each
 * opened when its first packet comes and named after that packet's time, as dumpcap names them.
 */
export class RotatingPcapWriter {
  constructor(stem, perFile, chunkSize = 8 << 20) {
    this.stem = stem;
    this.perFile = perFile;
    this.buf = Buffer.allocUnsafe(chunkSize);
    this.pos = 0;
    this.fd = undefined;
    this.files = [];
    this.packets = 0;
    this.bytes = 0;
  }
  open(tUs) {
    this.close();
    const path = `${this.stem}_${String(this.files.length + 1).padStart(5, '0')}_${stamp(tUs)}.pcap`;
    this.fd = openSync(path, 'w');
    this.files.push({ file: path, packets: 0, bytes: 24, firstTs: tUs / 1e6 });
    const h = this.buf;
    h.writeUInt32LE(0xa1b2c3d4, 0);
    h.writeUInt16LE(2, 4);
    h.writeUInt16LE(4, 6);
    h.writeInt32LE(0, 8);
    h.writeUInt32LE(0, 12);
    h.writeUInt32LE(262144, 16); // snaplen: room for 64 KB offload frames
    h.writeUInt32LE(1, 20); // LINKTYPE_ETHERNET
    this.pos = 24;
  }
  record(tUs, frameLen) {
    const cur = this.files[this.files.length - 1];
    if (cur === undefined || cur.packets === this.perFile) this.open(tUs);
    if (this.pos + 16 + frameLen > this.buf.length) this.flush();
    const b = this.buf;
    const o = this.pos;
    b.writeUInt32LE(Math.floor(tUs / 1e6), o);
    b.writeUInt32LE(tUs % 1e6, o + 4);
    b.writeUInt32LE(frameLen, o + 8);
    b.writeUInt32LE(frameLen, o + 12);
    this.pos = o + 16 + frameLen;
    const f = this.files[this.files.length - 1];
    f.packets++;
    f.bytes += 16 + frameLen;
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
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
  }
}

// ---------------------------------------------------------------------------------------------------
// Frames: Ethernet, optional 802.1Q tag, IPv4 or IPv6, TCP or UDP. The payload is a Buffer (`data`)
// or a range of a record stream (`stream`, `off`, `len`) written straight into the frame.


function payloadLen(s) {
  return s.data ? s.data.length : s.stream ? s.len : 0;
}

/** Ethernet (+ VLAN) and IP headers; returns the offset of the transport header. */
function writeHeaders(b, o, k, fromClient, proto, l4Len, ipId, ttl) {
  b.set(fromClient ? k.smac : k.cmac, o);
  b.set(fromClient ? k.cmac : k.smac, o + 6);
  let p = o + 12;
  if (k.vlan) {
    b.writeUInt16BE(ETHERTYPE_VLAN, p);
    b.writeUInt16BE(k.vlan, p + 2); // PCP 0, DEI 0
    p += 4;
  }
  if (k.v6) {
    b.writeUInt16BE(0x86dd, p);
    const ip = p + 2;
    b.writeUInt32BE((0x60000000 | (fromClient ? k.cflow : k.sflow)) >>> 0, ip);
    b.writeUInt16BE(l4Len, ip + 4);
    b[ip + 6] = proto;
    b[ip + 7] = ttl;
    b.set(fromClient ? k.cip6 : k.sip6, ip + 8);
    b.set(fromClient ? k.sip6 : k.cip6, ip + 24);
    return ip + 40;
  }
  b.writeUInt16BE(0x0800, p);
  const ip = p + 2;
  b[ip] = 0x45;
  b[ip + 1] = 0;
  b.writeUInt16BE(20 + l4Len, ip + 2);
  b.writeUInt16BE(ipId & 0xffff, ip + 4);
  b.writeUInt16BE(0x4000, ip + 6); // DF
  b[ip + 8] = ttl;
  b[ip + 9] = proto;
  b[ip + 10] = 0;
  b[ip + 11] = 0;
  b.writeUInt32BE(fromClient ? k.cip : k.sip, ip + 12);
  b.writeUInt32BE(fromClient ? k.sip : k.cip, ip + 16);
  b.writeUInt16BE(fold(sum16(b, ip, ip + 20, 0)), ip + 10);
  return ip + 20;
}

/** Pseudo-header sum: the two addresses, the protocol, the transport length. */
function pseudoSum(b, l4, k, proto, l4Len) {
  if (k.v6) return sum16(b, l4 - 32, l4, 0) + proto + l4Len; // the addresses end the IPv6 header
  return sum16(b, l4 - 8, l4, 0) + proto + l4Len;
}

function frameLen(k, l4Len) {
  return 14 + (k.vlan ? 4 : 0) + (k.v6 ? 40 : 20) + l4Len;
}

function emitTcp(w, s) {
  const k = s.conn;
  const fromClient = s.c;
  const plen = payloadLen(s);
  const optLen = OPT_LEN[s.opt];
  const tcpLen = 20 + optLen + plen;
  const o = w.record(s.t, frameLen(k, tcpLen));
  const b = w.buf;
  const t = writeHeaders(b, o, k, fromClient, 6, tcpLen, s.ipId, s.ttl);
  const p = writeTcpHeader(b, t, s, optLen);
  if (s.data) b.set(s.data, p);
  else if (s.stream) s.stream.write(b, p, s.off, s.len);
  b.writeUInt16BE(fold(sum16(b, t, t + tcpLen, pseudoSum(b, t, k, 6, tcpLen))), t + 16);
}

function emitUdp(w, s) {
  const k = s.conn;
  const fromClient = s.c;
  const udpLen = 8 + s.data.length;
  const o = w.record(s.t, frameLen(k, udpLen));
  const b = w.buf;
  const u = writeHeaders(b, o, k, fromClient, 17, udpLen, s.ipId, 64);
  b.writeUInt16BE(fromClient ? k.cport : k.sport, u);
  b.writeUInt16BE(fromClient ? k.sport : k.cport, u + 2);
  b.writeUInt16BE(udpLen, u + 4);
  b[u + 6] = 0;
  b[u + 7] = 0;
  b.set(s.data, u + 8);
  b.writeUInt16BE(fold(sum16(b, u, u + udpLen, pseudoSum(b, u, k, 17, udpLen))) || 0xffff, u + 6);
}

// ---------------------------------------------------------------------------------------------------
// TLS application data of any size without holding it: records of 16,401 bytes (16 KiB of HTTP/2
// plus type and tag) after a 5-byte header, bodies read from the random pool (wrapping).

const REC_BODY = 16384 + 17;

class RecordStream {
  constructor(rng, pool, total) {
    if (total < 27) throw new Error(`record stream of ${total} bytes`);
    this.pool = pool.buf;
    this.base = rng.int(0, this.pool.length - 1);
    this.total = total;
    // Record starts and body lengths, as appRecords cuts them (no remainder too short for a record).
    const starts = [];
    const lens = [];
    for (let o = 0; o < total; ) {
      let len = Math.min(total - o - 5, REC_BODY);
      if (total - o - 5 - len > 0 && total - o - 5 - len < 22) len -= 22;
      starts.push(o);
      lens.push(len);
      o += 5 + len;
    }
    this.starts = starts;
    this.lens = lens;
  }
  /** Writes bytes [from, from + len) of the stream at b[p]. */
  write(b, p, from, len) {
    const pool = this.pool;
    const n = pool.length;
    let src = (this.base + from) % n;
    let done = 0;
    while (done < len) {
      const k = Math.min(len - done, n - src);
      pool.copy(b, p + done, src, src + k);
      done += k;
      src = 0;
    }
    // Headers of the records that start within (or whose header reaches into) the range.
    const starts = this.starts;
    let lo = 0;
    let hi = starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (starts[mid] <= from) lo = mid;
      else hi = mid - 1;
    }
    for (let i = lo; i < starts.length && starts[i] < from + len; i++) {
      const s = starts[i];
      const hdr = [0x17, 0x03, 0x03, this.lens[i] >>> 8, this.lens[i] & 255];
      for (let j = 0; j < 5; j++) {
        const at = s + j;
        if (at >= from && at < from + len) b[p + at - from] = hdr[j];
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// A TCP connection seen from the capture point, with each end near it (on the capturing host: it
// sends offload frames, answers without delay) or far (its packets and answers come one RTT later).

/** Frames and receiver ACKs a message of `len` bytes costs (the plan below, counted). */
function bulkPlan(len, mss, gsoSegs, ackEvery, end) {
  const n = Math.max(1, Math.ceil(len / mss));
  let frames = n;
  if (gsoSegs > 0) {
    // Slow start from 10 segments, doubling per round trip; a flight leaves in frames of gsoSegs
    // segments, fewer while the window is small (a quarter of it).
    frames = 0;
    let cwnd = 10;
    for (let sent = 0; sent < n; ) {
      const flight = Math.min(cwnd, n - sent);
      const per = Math.max(1, Math.min(gsoSegs, Math.floor(cwnd / 4)));
      frames += Math.ceil(flight / per);
      sent += flight;
      cwnd = Math.min(cwnd * 2, 1024);
    }
  }
  const acks = Math.floor(n / ackEvery) - (end === 'reply' && n % ackEvery === 0 ? 1 : 0) + (end === 'ack' && n % ackEvery !== 0 ? 1 : 0);
  return { segments: n, frames, acks, packets: frames + acks };
}

class Connection extends TcpScript {
  /**
   * near: [client, server] at the capture point. rtt: µs between the capture point and the far end.
   * rate: bytes per µs on the path. ackEvery: [client, server] acknowledge every that many segments.
   */
  constructor(conn, t0, rng, { near, rtt, rate, ackEvery }) {
    super(conn, t0, rtt, rng);
    this.near = near;
    this.rate = rate;
    this.ackEvery = ackEvery;
  }

  /** Delay before `fromClient`'s answer to what was just seen is seen. */
  turn(fromClient) {
    return this.near[fromClient ? 0 : 1] ? this.rng.int(20, 150) : this.rtt + this.rng.int(50, 1500);
  }

  handshake() {
    this.seg(true, TCP_SYN, null, this.t, 'syn');
    this.t += this.turn(false);
    this.seg(false, TCP_SYN | TCP_ACK, null, this.t, 'syn');
    this.t += this.turn(true);
    this.seg(true, TCP_ACK, null, this.t);
  }

  /**
   * Segments per offload frame from `fromClient`'s side: none from a far sender (the capture sees the
   * wire); from a near one, what Linux's TSO autosizing allows, about 1 ms of data at the pacing
   * rate, 2 to 45 segments.
   */
  gsoSegs(fromClient) {
    if (!this.near[fromClient ? 0 : 1]) return 0;
    return Math.max(2, Math.min(GSO_MAX_SEGS, Math.floor((this.rate * 1000) / this.conn.mss)));
  }

  cost(fromClient, len, end) {
    return bulkPlan(len, this.conn.mss, this.gsoSegs(fromClient), this.ackEvery[fromClient ? 1 : 0], end).packets;
  }

  /**
   * One message of `len` bytes (a Buffer, or a record stream of that length). `end` as in the
   * default profile: 'reply' (the peer's answer carries the last ACK), 'ack', 'none'.
   */
  bulk(fromClient, msg, delay, end) {
    const k = this.conn;
    const mss = k.mss;
    const len = Buffer.isBuffer(msg) ? msg.length : msg.total;
    const gsoSegs = this.gsoSegs(fromClient);
    const gso = gsoSegs > 0;
    const ackEvery = this.ackEvery[fromClient ? 1 : 0];
    const plan = bulkPlan(len, mss, gsoSegs, ackEvery, end);
    const n = plan.segments;
    const base = fromClient ? k.cseq : k.sseq;
    const ackLag = () => (this.near[fromClient ? 1 : 0] ? this.rng.int(15, 80) : this.rtt + this.rng.int(10, 200));
    let t = this.t + delay;
    let cwnd = gso ? 10 : n;
    let seg = 0;
    let frames = 0;
    let acks = 0;
    let lastT = t;
    while (seg < n) {
      const flight = Math.min(cwnd, n - seg);
      const per = gso ? Math.max(1, Math.min(gsoSegs, Math.floor(cwnd / 4))) : 1;
      const flightEnd = seg + flight;
      while (seg < flightEnd) {
        const segs = Math.min(per, flightEnd - seg);
        const from = seg * mss;
        const to = Math.min(len, (seg + segs) * mss);
        const last = seg + segs === n;
        const flags = TCP_ACK | (last ? TCP_PSH : 0);
        if (Buffer.isBuffer(msg)) this.seg(fromClient, flags, msg.subarray(from, to), t);
        else {
          // A range of the record stream: seg() sees no payload, so the sequence moves here.
          this.seg(fromClient, flags, null, t, 'ts', { stream: msg, off: from, len: to - from });
          if (fromClient) k.cseq = (k.cseq + (to - from)) >>> 0;
          else k.sseq = (k.sseq + (to - from)) >>> 0;
        }
        frames++;
        lastT = t;
        // The receiver's ACKs for the wire segments of this frame.
        for (let i = seg + 1; i <= seg + segs; i++) {
          const isLast = i === n;
          if (i % ackEvery === 0 && !(isLast && end === 'reply')) {
            const at = t + Math.round(((i - seg) * mss) / this.rate) + ackLag();
            this.seg(!fromClient, TCP_ACK, null, at, 'ts', { ack: (base + Math.min(len, i * mss)) >>> 0 });
            acks++;
          }
        }
        seg += segs;
        t += Math.max(1, Math.round((to - from) / this.rate));
      }
      if (gso && seg < n) {
        t += this.rtt; // the next flight leaves once this one's ACKs are back
        cwnd = Math.min(cwnd * 2, 1024);
      }
    }
    if (end === 'ack' && n % ackEvery !== 0) {
      this.seg(!fromClient, TCP_ACK, null, lastT + ackLag() + 40_000, 'ts', { ack: (base + len) >>> 0 });
      acks++;
    }
    if (frames !== plan.frames || acks !== plan.acks) throw new Error(`bulk plan ${plan.frames}+${plan.acks}, made ${frames}+${acks}`);
    this.t = lastT;
  }

  close(fromClient, delay) {
    this.t += delay;
    this.seg(fromClient, TCP_FIN | TCP_ACK, null, this.t);
    this.t += this.turn(!fromClient);
    this.seg(!fromClient, TCP_FIN | TCP_ACK, null, this.t);
    this.t += this.turn(fromClient);
    this.seg(fromClient, TCP_ACK, null, this.t);
  }
}

// ---------------------------------------------------------------------------------------------------
// The world: dual-stack hosts.

function makeWorld(rng) {
  const N = TRANSFER_NETWORK;
  const host = (text, text6, rtt, vlan = 0) => {
    const ip = ipNum(text);
    return { text, text6, ip, ip6: ip6Bytes(text6), mac: macOf(ip), rtt, vlan, nextPort: rng.int(32768, 40000), wgPort: rng.int(40000, 50000), ts: rng.u32() };
  };
  const nodes = [];
  for (let i = 0; i < N.nodeCount; i++) {
    const local = i < N.localNodes;
    const h = host(N.node(i), N.node6(i), local ? rng.int(60, 250) : rng.int(3_000, 60_000), N.inVlan(i) ? N.vlan : 0);
    h.local = local;
    // Remote sites: 50-500 Mbit/s; VMs on the host: about 10 Gbit/s through the bridge.
    h.rate = local ? rng.int(900, 1400) : rng.int(6, 60);
    // How often the node acknowledges what it receives: every 2 segments, or per GRO batch.
    h.ackEvery = local ? 2 : rng.pick([2, 2, 2, 4]);
    nodes.push(h);
  }
  const researcher = host(N.researcher, N.researcher6, 0);
  const vpnserver = host(N.vpnserver, N.vpnserver6, 0);
  const scanners = N.scanners.map((s, i) => ({ ...host(s, N.scanners6[i], rng.int(20_000, 140_000)), nextPort: rng.int(40000, 60000) }));
  const byIp = new Map([...nodes, researcher, vpnserver, ...scanners].map((h) => [h.ip, h]));
  return { nodes, researcher, vpnserver, scanners, byIp };
}

/**
 * Puts a flow built on IPv4 addresses (the default profile's builders) on this profile's wire:
 * IPv6 when the actor drew it (the same hosts' IPv6 addresses), the node's VLAN tag.
 */
function dress(world, steps, v6, rng) {
  for (const s of steps) {
    const k = s.conn;
    if (k.dressed) continue;
    k.dressed = true;
    const c = world.byIp.get(k.cip);
    const srv = world.byIp.get(k.sip);
    k.vlan = c?.vlan || srv?.vlan || 0;
    if (v6) {
      k.v6 = true;
      k.cip6 = c.ip6;
      k.sip6 = srv.ip6;
      k.cflow = rng.u32() & 0xfffff;
      k.sflow = rng.u32() & 0xfffff;
    }
  }
  return steps;
}

// ---------------------------------------------------------------------------------------------------
// gRPC model transfers.

const GRPC_MIN_PACKETS = 40;

/** Model sizes: 0.4 to 6 MB, log-uniform. */
function modelSize(rng) {
  return Math.round(400_000 * Math.exp(rng.float() * Math.log(15)));
}

function buildTransferGrpc(ctx, rng, start, budget, v6, session) {
  const { world, pool } = ctx;
  const node = world.nodes[rng.int(0, world.nodes.length - 1)];
  const srv = world.researcher;
  const conn = {
    cip: node.ip, sip: srv.ip, cmac: node.mac, smac: srv.mac,
    cport: ephemeral(node), sport: TRANSFER_PORTS.grpc,
    cseq: rng.u32(), sseq: rng.u32(), cts: node.ts, sts: srv.ts, lastCts: 0, lastSts: 0,
    cipid: rng.int(0, 65535), sipid: rng.int(0, 65535), cttl: 64, sttl: 64,
    mss: v6 ? MSS6 : MSS4, loop: false, noTs: false,
    cSynWin: 64240, sSynWin: 65160, cwin: 8000, swin: 8000, // window scale 7: about 1 MB
    vlan: node.vlan, v6,
    cip6: node.ip6, sip6: srv.ip6, cflow: rng.u32() & 0xfffff, sflow: rng.u32() & 0xfffff,
    dressed: true,
  };
  const s = new Connection(conn, start, rng, {
    near: [node.local, true],
    rtt: node.rtt,
    rate: node.rate,
    ackEvery: [node.ackEvery, 2],
  });
  s.handshake();
  const ch = clientHello(rng, pool);
  const sessionId = ch.subarray(5 + 4 + 2 + 32 + 1, 5 + 4 + 2 + 32 + 1 + 32);
  s.bulk(true, ch, rng.int(100, 600), 'reply');
  s.bulk(false, serverFlight(rng, pool, sessionId), s.turn(false), 'reply');
  s.bulk(true, Buffer.concat([Buffer.from([0x14, 0x03, 0x03, 0x00, 0x01, 0x01]), appRecords(rng, pool, 58), appRecords(rng, pool, rng.int(95, 130))]), s.turn(true), 'reply');
  s.bulk(false, Buffer.concat([appRecords(rng, pool, rng.int(230, 280)), appRecords(rng, pool, rng.int(230, 280)), appRecords(rng, pool, rng.int(50, 70))]), s.turn(false), 'reply');
  s.bulk(true, appRecords(rng, pool, 31), s.turn(true), 'none');

  let remaining = budget - s.steps.length - 3;
  if (remaining < 0) throw new Error(`gRPC flow budget ${budget} too small for its handshake (${s.steps.length})`);
  // Idle time before a request; at least 45 ms so the client's delayed ACK (40 ms) goes first.
  const gap = () => Math.round(Math.min(20e6, rng.exp(session ? 250_000 : 1.2e6)) + rng.int(45_000, 80_000));
  const small = (len) => appRecords(rng, pool, len);
  const poll = () => {
    s.bulk(true, small(rng.int(120, 700)), gap(), 'reply');
    s.bulk(false, small(rng.int(60, 900)), s.turn(false), 'ack');
  };
  /** The largest size <= want whose message costs at most `room` packets (cost grows with size). */
  const fit = (fromClient, want, room, end) => {
    if (s.cost(fromClient, want, end) <= room) return want;
    let lo = 27;
    let hi = want;
    if (s.cost(fromClient, lo, end) > room) return 0;
    while (lo < hi) {
      const mid = Math.floor((lo + hi + 1) / 2);
      if (s.cost(fromClient, mid, end) <= room) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  };
  const transfers = [];
  // A session connection trains: rounds between runs of polls. The others only poll.
  let pollsBeforeRound = session ? rng.int(100, 1000) : Infinity;
  while (remaining > 0) {
    if (remaining >= 3 && pollsBeforeRound <= 0) {
      pollsBeforeRound = rng.int(600, 3000);
      // A training round: the node asks for its task, downloads the model, trains, uploads the update.
      const reqLen = rng.int(150, 600);
      const req = s.cost(true, reqLen, 'reply');
      const down = fit(false, modelSize(rng), remaining - req, 'ack');
      if (down === 0) {
        poll();
        remaining -= 3;
        continue;
      }
      s.bulk(true, small(reqLen), gap(), 'reply');
      s.bulk(false, new RecordStream(rng, pool, down), s.turn(false), 'ack');
      transfers.push(down);
      remaining -= req + s.cost(false, down, 'ack');
      if (remaining >= 3) {
        const ackCost = 2; // the researcher's reply, then the node's ACK of it (1 segment each)
        const up = fit(true, modelSize(rng), remaining - ackCost, 'reply');
        if (up > 0) {
          s.bulk(true, new RecordStream(rng, pool, up), Math.round(rng.float() * 30e6) + 2e6, 'reply');
          transfers.push(up);
          s.bulk(false, small(rng.int(60, 300)), s.turn(false), 'ack');
          remaining -= s.cost(true, up, 'reply') + ackCost;
        }
      }
    } else if (remaining >= 3) {
      poll();
      remaining -= 3;
      pollsBeforeRound--;
    } else if (remaining === 2) {
      s.bulk(true, small(39), gap(), 'reply');
      s.bulk(false, small(39), s.turn(false), 'none');
      remaining -= 2;
    } else {
      s.bulk(true, small(39), gap(), 'none'); // WINDOW_UPDATE
      remaining -= 1;
    }
  }
  s.close(true, rng.int(5_000, 2_000_000));
  if (s.steps.length !== budget) throw new Error(`gRPC flow: ${s.steps.length} packets instead of ${budget}`);
  return { steps: sortSteps(s.steps), flows: 1, transfers };
}

// ---------------------------------------------------------------------------------------------------
// Plan and emission.

/** Default flow count: 1 flow per 24 packets, at least 40,000 at the default size. */
export function defaultTransferFlows(packets) {
  return packets >= 900_000 ? Math.max(40_000, Math.round(packets / 24)) : Math.max(80, Math.round(packets / 24));
}

/** The capture starts at 2026-03-09T13:00:00Z. */
const EPOCH_US = 1_773_061_200 * 1e6;

const KINDS = ['grpc', 'liveness', 'secagg', 'scan', 'wireguard'];

function buildActor(ctx, a) {
  const rng = new Rng(a.seed);
  switch (a.kind) {
    case 'grpc':
      return buildTransferGrpc(ctx, rng, a.start, a.budget, a.v6, a.session);
    case 'liveness':
      return buildLiveness(a.v6 ? ctx.v6 : ctx, rng, a.start, a.node);
    case 'secagg':
      return buildSecagg(a.v6 ? ctx.v6 : ctx, rng, a.start);
    case 'scan':
      return buildScan(ctx, rng, a.start, a.probes);
    case 'wireguard':
      return buildWireguard(ctx, rng, a.start, a.budget);
    default:
      throw new Error(`unknown kind ${a.kind}`);
  }
}

/**
 * Generates the rotated set OUT_00001_*.pcap .. OUT_0000F_*.pcap (`out` names the set: its
 * directory and prefix, `.pcap` dropped), OUT.hosts.yaml and OUT.manifest.json unless writeSidecars
 * is false. Returns the manifest.
 */
export function generateTransferWorkload({ packets = 960_000, flows, files = 4, seed = 1, out, writeSidecars = true, log } = {}) {
  if (!out) throw new Error('generateTransferWorkload: out (the set prefix) is required');
  if (!Number.isInteger(packets) || packets < 1000) throw new Error('--packets must be an integer >= 1000 for the transfer profile');
  if (!Number.isInteger(files) || files < 1 || files > 99 || packets < files * files) throw new Error('--files must be an integer from 1 to 99 (and at most sqrt(packets))');
  const totalFlows = flows ?? defaultTransferFlows(packets);
  if (!Number.isInteger(totalFlows) || totalFlows < 40) throw new Error('--flows must be an integer >= 40');
  const stem = out.replace(/\.pcap$/, '');
  mkdirSync(dirname(stem), { recursive: true });
  const rng = new Rng(seed ^ 0x7a11);
  const world = makeWorld(rng);
  const ctx = { world, pool: new Pool(rng) };
  // The default profile's builders cut segments at ctx.mss (Ethernet over IPv4 when unset).
  ctx.v6 = { ...ctx, mss: MSS6 };
  // 20 minutes per 960,000 packets (the doubled set: twice as long, same rates).
  const durationUs = Math.max(30e6, Math.round((packets / 960_000) * 1200e6));

  const count = {
    scan: Math.round(totalFlows * 0.46),
    liveness: Math.round(totalFlows * 0.4),
    secagg: Math.round(totalFlows * 0.1),
    wireguard: Math.max(1, Math.round(totalFlows * 0.01)),
  };
  count.grpc = totalFlows - count.scan - count.liveness - count.secagg - count.wireguard;
  if (count.grpc < 1) throw new Error('too few flows');

  const actors = [];
  const startIn = (span) => Math.floor(rng.float() * span);
  const drawV6 = () => rng.chance(0.2);
  // A quarter of the gRPC connections are training sessions; the rest poll and go (reconnects).
  for (let i = 0; i < count.grpc; i++) actors.push({ kind: 'grpc', seed: rng.u32(), start: startIn(durationUs * 0.9), v6: drawV6(), session: rng.chance(0.25) });
  for (let i = 0; i < count.wireguard; i++) actors.push({ kind: 'wireguard', seed: rng.u32(), start: startIn(durationUs * 0.9), v6: drawV6() });
  for (let i = 0; i < count.secagg; i++) actors.push({ kind: 'secagg', seed: rng.u32(), start: startIn(durationUs), v6: drawV6() });
  const perNode = Math.ceil(count.liveness / world.nodes.length);
  for (let i = 0; i < count.liveness; i++) {
    const node = i % world.nodes.length;
    const k = Math.floor(i / world.nodes.length);
    const period = durationUs / perNode;
    actors.push({ kind: 'liveness', seed: rng.u32(), node, start: Math.floor(k * period + (node / world.nodes.length) * period + rng.int(0, 50_000)), v6: drawV6() });
  }
  // Scans: bursts of 5-60 probes (one source port each).
  for (let left = count.scan; left > 0; ) {
    const probes = Math.min(left, rng.int(5, 60));
    left -= probes;
    actors.push({ kind: 'scan', seed: rng.u32(), probes, start: startIn(durationUs * 0.98), v6: drawV6() });
  }

  // Count the fixed-shape flows' packets (built again, identically, when emitted).
  const hosts = [...world.nodes, ...world.scanners];
  const savedPorts = hosts.map((h) => [h.nextPort, h.wgPort]);
  let fixed = 0;
  for (const a of actors) {
    if (a.kind === 'grpc' || a.kind === 'wireguard') continue;
    a.count = buildActor(ctx, a).steps.length;
    fixed += a.count;
  }
  hosts.forEach((h, i) => {
    [h.nextPort, h.wgPort] = savedPorts[i];
  });

  // The rest: 90% to the gRPC connections, 10% to WireGuard.
  const rest = packets - fixed;
  const wgTotal = Math.round(rest * 0.1);
  const grpcTotal = rest - wgTotal;
  if (grpcTotal < count.grpc * GRPC_MIN_PACKETS || wgTotal < count.wireguard * WG_MIN_PACKETS) {
    throw new Error(`${packets} packets are too few for ${totalFlows} flows (the small flows alone take ${fixed}); give more --packets or fewer --flows`);
  }
  const distribute = (list, total, min, weight) => {
    const w = list.map((a) => weight(a));
    const sw = w.reduce((x, y) => x + y, 0);
    const extra = total - min * list.length;
    let given = 0;
    list.forEach((a, i) => {
      a.budget = min + Math.floor((extra * w[i]) / sw);
      given += a.budget;
    });
    for (let i = 0; given < total; i = (i + 1) % list.length, given++) list[i].budget++;
  };
  // A quarter of the connections only poll; the others carry from one to many training rounds.
  // Sessions take nearly all of the gRPC packets, in unequal shares.
  const grpcActors = actors.filter((a) => a.kind === 'grpc');
  distribute(grpcActors, grpcTotal, GRPC_MIN_PACKETS, (a) => (a.session ? Math.exp(rng.float() * 3) : 0.01));
  distribute(actors.filter((a) => a.kind === 'wireguard'), wgTotal, WG_MIN_PACKETS, () => 0.5 + rng.float());

  actors.sort((x, y) => x.start - y.start);
  actors.forEach((a, i) => {
    a.id = i;
    a.start += EPOCH_US;
  });

  const perFile = Math.ceil(packets / files);
  const w = new RotatingPcapWriter(stem, perFile);
  const heap = new Heap();
  let next = 0;
  let maxActive = 0;
  const zero = () => Object.fromEntries(KINDS.map((k) => [k, 0]));
  const packetsByKind = zero();
  const dataPacketsByKind = zero();
  const flowsByKind = zero();
  const ipv6 = { flows: 0, packets: 0 };
  const vlan = { id: TRANSFER_NETWORK.vlan, flows: 0, frames: 0 };
  const offload = { frames: 0, maxIpPacketBytes: 0, maxFrameBytes: 0 };
  /** Model downloads and uploads (bytes of TLS records each). */
  const models = { count: 0, bytes: 0, overOneMB: 0, largest: 0 };
  let ipBytes = 0;
  let first;
  let last;
  while (next < actors.length || heap.size > 0) {
    if (next < actors.length && (heap.size === 0 || actors[next].start <= heap.top().steps[heap.top().i].t)) {
      const a = actors[next++];
      const built = buildActor(ctx, a);
      if (a.count !== undefined && built.steps.length !== a.count) throw new Error(`${a.kind} flow: ${built.steps.length} packets, counted ${a.count}`);
      if (built.steps.length === 0) continue;
      if (built.steps[0].t < a.start) throw new Error('a flow starts before its start time');
      dress(world, built.steps, a.v6, new Rng(a.seed ^ 0x6));
      heap.push({ id: a.id, kind: a.kind, steps: built.steps, i: 0 });
      flowsByKind[a.kind] += built.flows;
      for (const n of built.transfers ?? []) {
        models.count++;
        models.bytes += n;
        if (n >= 1e6) models.overOneMB++;
        models.largest = Math.max(models.largest, n);
      }
      if (a.v6) ipv6.flows += built.flows;
      if (built.steps[0].conn.vlan) vlan.flows += built.flows;
      if (heap.size > maxActive) maxActive = heap.size;
      continue;
    }
    const x = heap.top();
    const s = x.steps[x.i];
    const k = s.conn;
    const plen = payloadLen(s);
    if (s.udp) emitUdp(w, s);
    else emitTcp(w, s);
    packetsByKind[x.kind]++;
    ipBytes += (k.v6 ? 40 : 20) + (s.udp ? 8 : 20 + OPT_LEN[s.opt]) + plen;
    if (plen > 0) dataPacketsByKind[x.kind]++;
    if (k.v6) ipv6.packets++;
    if (k.vlan) vlan.frames++;
    if (!s.udp && plen > k.mss) {
      offload.frames++;
      const l4 = 20 + OPT_LEN[s.opt] + plen;
      offload.maxIpPacketBytes = Math.max(offload.maxIpPacketBytes, (k.v6 ? 40 : 20) + l4);
      offload.maxFrameBytes = Math.max(offload.maxFrameBytes, frameLen(k, l4));
    }
    if (first === undefined) first = s.t;
    last = s.t;
    x.steps[x.i] = undefined;
    x.i++;
    heap.fixTop(x.i >= x.steps.length);
  }
  w.close();
  if (w.packets !== packets) throw new Error(`generated ${w.packets} packets instead of ${packets}`);
  if (w.files.length !== files) throw new Error(`wrote ${w.files.length} files instead of ${files}`);
  const flowsTotal = Object.values(flowsByKind).reduce((x, y) => x + y, 0);
  if (flowsTotal !== totalFlows) throw new Error(`generated ${flowsTotal} flows instead of ${totalFlows}`);

  const N = TRANSFER_NETWORK;
  const manifest = {
    generator: 'test/bench/generate.mjs --profile transfer',
    profile: 'transfer',
    seed,
    files: w.files.map((f) => f.file),
    filesDetail: w.files,
    fileBytes: w.bytes,
    /** IP bytes of all frames (headers included): what netmatrix's flows' `bytes` add up to. */
    ipBytes,
    packets: w.packets,
    flows: { total: flowsTotal, ...flowsByKind },
    packetsByKind,
    dataPacketsByKind,
    ipv6,
    vlan,
    offload,
    models,
    firstTs: first / 1e6,
    lastTs: last / 1e6,
    durationSeconds: (last - first) / 1e6,
    maxConcurrentActors: maxActive,
    inventory: {
      node: [N.nodeCidr, N.nodeCidr6],
      researcher: [N.researcher, N.researcher6],
      vpnserver: [N.vpnserver, N.vpnserver6],
      nodes: world.nodes.map((n) => n.text),
      nodes6: world.nodes.map((n) => n.text6),
      scanners: [...N.scanners, ...N.scanners6],
    },
    netmatrixArgs: [...TRANSFER_INVENTORY_FLAGS],
    expected: {
      grpc: { rule: 'node-researcher-grpc', verdict: 'allowed', service: 'tls' },
      liveness: { rule: 'node-researcher-grpc', verdict: 'allowed', service: 'tls (by port)' },
      secagg: { rule: 'secagg-node', verdict: 'allowed', service: 'mpspdz (by port)' },
      wireguard: { rule: null, verdict: 'violation', findings: ['not-in-matrix'] },
      scan: { rule: null, verdict: 'violation', findings: ['inbound-to-node'] },
    },
  };
  if (writeSidecars) {
    const hostsYaml = [
      '# Inventory of the netmatrix benchmark workload, transfer profile (test/bench/generate.mjs --profile transfer)',
      'hosts:',
      `  - { name: researcher, role: researcher, addresses: [${N.researcher}, "${N.researcher6}"] }`,
      `  - { name: vpnserver, role: vpnserver, addresses: [${N.vpnserver}, "${N.vpnserver6}"] }`,
      ...world.nodes.map((n, i) => `  - { name: node${String(i + 1).padStart(2, '0')}, role: node, addresses: [${n.text}, "${n.text6}"] }`),
      '',
    ].join('\n');
    writeFileSync(`${stem}.hosts.yaml`, hostsYaml);
    manifest.hostsFile = `${stem}.hosts.yaml`;
    writeFileSync(`${stem}.manifest.json`, `${JSON.stringify(manifest, null, 2)}\n`);
  }
  log?.(`${basename(stem)}_*.pcap: ${files} files, ${w.packets} packets, ${flowsTotal} flows, ${(w.bytes / 1e6).toFixed(1)} MB, ${manifest.durationSeconds.toFixed(0)} s of traffic in ${join(dirname(stem))}`);
  return manifest;
}
