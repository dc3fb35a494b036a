/**
 * NetFlow-style records -> connections. An exporter writes one record per direction (two-way records,
 * IPFIX biflows, carry both), and splits a long connection into several records at its active and
 * inactive timeouts. Here records of one 5-tuple, in either direction, are merged into one connection
 * while the next record starts at most MERGE_GAP (60 s) after the connection's last packet; a SYN
 * after the connection closed starts a new one. The initiator is decided once the connection is
 * complete (see initiator()).
 *
 * Records arrive in export order, roughly by their end: a connection is kept until MERGE_GAP of
 * record time has passed its last packet, or HOLD_OPEN for a TCP connection still open (the exporter
 * may still send its next piece at its active timeout, and judged alone its first piece would look
 * open), and at most PENDING_MAX are kept (the oldest go first).
 */
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type ConnState } from '../model/vocabulary.js';
import { openFromState, type ConnRecord } from './record.js';

export const MERGE_GAP = 60;
/** Seconds an open connection waits for its next record (an exporter's active timeout, 30 min by default in nfcapd's probes and softflowd's 1 h bound). */
export const HOLD_OPEN = 3600;
export const PENDING_MAX = 500_000;


/** One flow record, one direction (or two: `out*`). */
export interface DirectionalRecord {
  transport: 'tcp' | 'udp';
  src: string;
  srcPort: number;
  dst: string;
  dstPort: number;
  /** Seconds since the epoch. */
  first: number;
  last: number;
  packets: number;
  bytes: number;
  /** TCP flags ORed over the record's packets; undefined when the record has none. */
  flags: number | undefined;
  /** Two-way record: the reverse direction's counters (src is then the first direction). */
  outPackets?: number;
  outBytes?: number;
  outFlags?: number | undefined;
}

interface Side {
  ip: string;
  port: number;
  packets: number;
  bytes: number;
  flags: number;
  /** A record of this side had SYN without ACK. */
  synOnly: boolean;
  first: number;
  records: number;
}

interface Conn {
  key: string;
  transport: 'tcp' | 'udp';
  a: Side;
  b: Side;
  first: number;
  last: number;
  hasFlags: boolean;
  /** A two-way record said this side spoke first. */
  twoWayFirst: Side | undefined;
}

const side = (ip: string, port: number): Side => ({ ip, port, packets: 0, bytes: 0, flags: 0, synOnly: false, first: Infinity, records: 0 });

function closed(c: Conn): boolean {
  const f = c.a.flags | c.b.flags;
  return (f & TCP_RST) !== 0 || ((c.a.flags & TCP_FIN) !== 0 && (c.b.flags & TCP_FIN) !== 0);
}

export interface MergeStats {
  records: number;
  connections: number;
  /** Records merged into a connection that already had one. */
  merged: number;
}

export class RecordMerger {
  private readonly conns = new Map<string, Conn>();
  private clock = -Infinity;
  private lastSweep = -Infinity;
  readonly stats: MergeStats = { records: 0, connections: 0, merged: 0 };

  constructor(
    private readonly onRecord: (rec: ConnRecord) => void,
    /** The matrix's service ports (the judge's isServicePort): the server side when nothing else says. */
    private readonly isServicePort: (transport: 'tcp' | 'udp', port: number) => boolean,
  ) {}

  add(record: DirectionalRecord): void {
    this.stats.records++;
    // Some exporters write a last packet before the first (softflowd's IPFIX): the record is one instant.
    const r = record.last < record.first ? { ...record, last: record.first } : record;
    const forward = r.src < r.dst || (r.src === r.dst && r.srcPort <= r.dstPort);
    const key = forward ? `${r.transport} ${r.src} ${r.srcPort} ${r.dst} ${r.dstPort}` : `${r.transport} ${r.dst} ${r.dstPort} ${r.src} ${r.srcPort}`;
    let c = this.conns.get(key);
    if (c && (r.first > c.last + MERGE_GAP || r.last < c.first - MERGE_GAP || (closed(c) && r.first > c.last && r.flags !== undefined && (r.flags & TCP_SYN) !== 0))) {
      this.finish(c);
      c = undefined;
    }
    if (!c) {
      c = {
        key,
        transport: r.transport,
        a: forward ? side(r.src, r.srcPort) : side(r.dst, r.dstPort),
        b: forward ? side(r.dst, r.dstPort) : side(r.src, r.srcPort),
        first: r.first,
        last: r.last,
        hasFlags: false,
        twoWayFirst: undefined,
      };
      this.conns.set(key, c);
      if (this.conns.size > PENDING_MAX) {
        const oldest = this.conns.values().next().value as Conn;
        this.finish(oldest);
      }
    } else this.stats.merged++;
    const from = forward ? c.a : c.b;
    const to = forward ? c.b : c.a;
    this.direction(c, from, r.first, r.packets, r.bytes, r.flags);
    if (r.outPackets !== undefined && r.outPackets > 0) {
      this.direction(c, to, r.first, r.outPackets, r.outBytes ?? 0, r.outFlags);
      c.twoWayFirst ??= from;
    }
    if (r.first < c.first) c.first = r.first;
    if (r.last > c.last) c.last = r.last;
    if (r.last > this.clock) this.clock = r.last;
    if (this.clock - this.lastSweep >= MERGE_GAP) this.sweep();
  }

  private direction(c: Conn, s: Side, first: number, packets: number, bytes: number, flags: number | undefined): void {
    s.packets += packets;
    s.bytes += bytes;
    s.records++;
    if (first < s.first) s.first = first;
    if (flags !== undefined && c.transport === 'tcp') {
      c.hasFlags = true;
      s.flags |= flags;
      if ((flags & TCP_SYN) !== 0 && (flags & TCP_ACK) === 0) s.synOnly = true;
    }
  }

  /** Connections whose last packet is far enough behind the newest record are complete. */
  private sweep(): void {
    this.lastSweep = this.clock;
    for (const c of this.conns.values()) {
      // Only an open TCP connection waits long: judged alone, its first piece would look open
      // (secagg-not-closed). A UDP flow or a flagless record cut in two is judged the same either way.
      const hold = c.transport === 'tcp' && c.hasFlags && !closed(c) ? HOLD_OPEN : MERGE_GAP;
      if (this.clock - c.last > hold) this.finish(c);
    }
  }

  /** The end of the records: every connection is complete. */
  flush(): void {
    for (const c of [...this.conns.values()].sort((x, y) => x.first - y.first)) this.finish(c);
  }

  private finish(c: Conn): void {
    if (this.conns.get(c.key) === c) this.conns.delete(c.key);
    this.stats.connections++;
    const client = this.initiator(c);
    const server = client === c.a ? c.b : c.a;
    const { state, history } = connState(c, client, server);
    this.onRecord({
      transport: c.transport,
      ipProto: c.transport === 'tcp' ? 6 : 17,
      client: { ip: client.ip, port: client.port },
      server: { ip: server.ip, port: server.port },
      start: c.first,
      end: c.last,
      origPackets: client.packets,
      origBytes: client.bytes,
      respPackets: server.packets,
      respBytes: server.bytes,
      state,
      history,
      open: c.transport === 'tcp' && openFromState(state, history),
      zeekServices: [],
    });
  }

  /**
   * Who initiated: the side that sent a SYN without ACK (where flags exist); else the first direction
   * of a two-way record; else the side whose first packet is earlier; else the side not on a service
   * port of the matrix when the other is; else, for a one-way connection, its sender; else the higher
   * port (the lower address on a tie).
   */
  private initiator(c: Conn): Side {
    const { a, b } = c;
    if (c.hasFlags && a.synOnly !== b.synOnly) return a.synOnly ? a : b;
    if (c.twoWayFirst) return c.twoWayFirst;
    const both = a.records > 0 && b.records > 0;
    if (both && a.first !== b.first) return a.first < b.first ? a : b;
    const aService = this.isServicePort(c.transport, a.port);
    const bService = this.isServicePort(c.transport, b.port);
    if (aService !== bService) return aService ? b : a;
    if (!both) return a.records > 0 ? a : b;
    if (a.port !== b.port) return a.port > b.port ? a : b;
    return a;
  }
}

/** conn_state and a history made from the ORed TCP flags of each side (no order, no retransmissions). */
export function connState(c: Conn, client: Side, server: Side): { state: ConnState; history: string } {
  if (c.transport === 'udp') {
    const state: ConnState = client.packets > 0 ? (server.packets > 0 ? 'SF' : 'S0') : server.packets > 0 ? 'SHR' : 'OTH';
    return { state, history: `${client.packets > 0 ? 'D' : ''}${server.packets > 0 ? 'd' : ''}` };
  }
  const o = client.flags;
  const r = server.flags;
  const has = (f: number, bit: number): boolean => (f & bit) !== 0;
  let history = '';
  if (has(o, TCP_SYN)) history += 'S';
  if (has(r, TCP_SYN)) history += has(r, TCP_ACK) ? 'h' : 's';
  if (has(o, TCP_ACK)) history += 'A';
  if (has(r, TCP_ACK)) history += 'a';
  if (has(o, TCP_PSH)) history += 'D';
  if (has(r, TCP_PSH)) history += 'd';
  if (has(o, TCP_FIN)) history += 'F';
  if (has(r, TCP_FIN)) history += 'f';
  if (has(o, TCP_RST)) history += 'R';
  if (has(r, TCP_RST)) history += 'r';
  if (!c.hasFlags) {
    // No flags recorded (a CSV export without them): answered is taken as a finished connection.
    return { state: server.packets > 0 ? 'SF' : 'S0', history };
  }
  let state: ConnState;
  if (server.packets === 0) {
    if (!has(o, TCP_SYN)) state = 'OTH';
    else if (has(o, TCP_RST)) state = 'RSTOS0';
    else if (has(o, TCP_FIN)) state = 'SH';
    else state = 'S0';
  } else if (has(o, TCP_SYN) && has(r, TCP_RST) && !has(r, TCP_SYN)) state = 'REJ';
  else if (has(o, TCP_FIN) && has(r, TCP_FIN)) state = 'SF';
  else if (has(r, TCP_RST)) state = has(o, TCP_SYN) || has(o, TCP_ACK) ? 'RSTR' : 'RSTRH';
  else if (has(o, TCP_RST)) state = has(r, TCP_SYN) || has(r, TCP_ACK) ? 'RSTO' : 'RSTOS0';
  else if (has(o, TCP_FIN)) state = 'S2';
  else if (has(r, TCP_FIN)) state = 'S3';
  else if (has(o, TCP_SYN) && has(r, TCP_SYN)) state = 'S1';
  else state = 'OTH';
  return { state, history };
}

/** "...AP.SF" (nfdump) or "0x1b" / 27: TCP flags as a number; undefined when absent or unreadable. */
export function parseTcpFlags(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isInteger(v) && v >= 0 && v <= 0x1ff ? v & 0xff : undefined;
  if (typeof v !== 'string' || v === '') return undefined;
  const t = v.trim();
  if (/^0x[0-9a-f]+$/i.test(t)) return parseInt(t, 16) & 0xff;
  if (/^\d+$/.test(t)) return Number(t) & 0xff;
  let f = 0;
  for (const ch of t.toUpperCase()) {
    if (ch === 'F') f |= TCP_FIN;
    else if (ch === 'S') f |= TCP_SYN;
    else if (ch === 'R') f |= TCP_RST;
    else if (ch === 'P') f |= TCP_PSH;
    else if (ch === 'A') f |= TCP_ACK;
    else if (ch === 'U') f |= 0x20;
    else if (ch === 'E') f |= 0x40;
    else if (ch === 'C') f |= 0x80;
    else if (ch !== '.' && ch !== ' ' && ch !== '|' && ch !== ',') return undefined;
  }
  return f;
}
