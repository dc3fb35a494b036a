/**
 * The connection table: one lookup per packet with a canonical key, initiator detection (SYN sender;
 * flipped on a SYN-ACK first; mid-stream pickups decided by the matrix's service ports), TCP state,
 * port reuse, idle timeouts and a cap on live flows. Time comes only from the packets.
 */
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN, type Packet } from '../decode/packet.js';
import {
  addHistory,
  checkHistory,
  hasHistory,
  H_ACK,
  H_DATA,
  H_FIN,
  H_FIN_RST,
  H_MULTI,
  H_RST,
  H_SYN,
  newFlow,
  scaledHistory,
  type EndReason,
  type Flow,
} from './flow.js';
import { FlowIndex } from './hash-index.js';
import { ICMP_ONE_WAY, icmpCounterpart } from './icmp.js';
import { directedKeyOf, flowKeyOf, newFlowKey, type FlowKey } from './key.js';
import type { PayloadObserver, PayloadObservers } from './payload.js';
import { StreamPrefix } from './reassembly.js';
import {
  ackReceived,
  dataSeen,
  EndpointState,
  initEndpoint,
  isClean,
  isClosed,
  seqDelta,
  tcpTransition,
  updateLastSeq,
  type TcpEndpoint,
} from './tcp-state.js';

export interface FlowTableOptions {
  /** Seconds without packets before a TCP flow is ended (Zeek's tcp_inactivity_timeout: 5 min). */
  tcpIdleTimeout: number;
  /** Seconds without packets before a UDP flow is ended (Zeek's udp_inactivity_timeout: 1 min). */
  udpIdleTimeout: number;
  /** Seconds without packets before an ICMP flow is ended (Zeek's icmp_inactivity_timeout: 1 min). */
  icmpIdleTimeout: number;
  /** The same for other IP protocols (Zeek's unknown_ip_inactivity_timeout: 1 min). */
  otherIdleTimeout: number;
  /** Seconds a closed/reset TCP flow lingers for its last ACKs (Zeek's tcp_close_delay: 5 s). */
  closeDelay: number;
  /** Live flows kept at most; beyond it the oldest flow is ended (reason "evicted") and counted. */
  maxFlows: number;
  /** Ports the matrix serves on (decides the server of a flow picked up mid-stream). */
  isServicePort: (transport: 'tcp' | 'udp', port: number) => boolean;
}

export const DEFAULT_FLOW_OPTIONS: FlowTableOptions = {
  tcpIdleTimeout: 300,
  udpIdleTimeout: 60,
  icmpIdleTimeout: 60,
  otherIdleTimeout: 60,
  closeDelay: 5,
  maxFlows: 100_000,
  isServicePort: () => false,
};

export interface FlowTableStats {
  flows: number;
  active: number;
  evicted: number;
  timedOut: number;
  /**
   * IP packets not tracked as connections, as Zeek tracks none for them: TCP and UDP packets whose
   * header was cut off, ICMP messages shorter than their 8-byte header, IPv6 "no next header" (Teredo
   * bubbles), IPv6 ESP and mobility headers.
   */
  otherPackets: number;
}

const EMPTY = new Uint8Array(0);

/** Sweep for timeouts every this many seconds of packet time. */
const SWEEP_INTERVAL = 5;

function isSteady(s: EndpointState): boolean {
  return s === EndpointState.Established || s === EndpointState.Partial;
}

export class FlowTable<P extends PayloadObserver = PayloadObserver> {
  /** Live flows by id; Map order is creation order (the oldest first, for eviction). */
  private readonly flows = new Map<number, Flow<P>>();
  /** Lookup by canonical key (hash-index.ts). */
  private readonly index = new FlowIndex<Flow<P>>();
  /** The current packet's canonical key (key.ts), refilled for every packet. */
  private readonly key: FlowKey = newFlowKey();
  /** Closed flows waiting out closeDelay: flow id -> time they closed. */
  private readonly closing = new Map<number, number>();
  private nextId = 1;
  private now = -Infinity;
  private lastSweep = -Infinity;
  readonly stats: FlowTableStats = { flows: 0, active: 0, evicted: 0, timedOut: 0, otherPackets: 0 };
  private readonly opts: FlowTableOptions;

  constructor(
    opts: Partial<FlowTableOptions>,
    private readonly onEnd: (flow: Flow<P>) => void,
    private readonly payload: PayloadObservers<P>,
  ) {
    this.opts = { ...DEFAULT_FLOW_OPTIONS, ...opts };
  }

  /** Feeds one packet; returns its flow, or undefined when its transport header was cut off. */
  add(p: Packet, fileIndex = 0): Flow<P> | undefined {
    if (p.ts > this.now) this.now = p.ts;
    if (this.now - this.lastSweep >= SWEEP_INTERVAL) this.sweep();
    const tcp = p.tcp;
    const udp = p.udp;
    if (!tcp && !udp) return this.other(p, fileIndex);
    const sport = tcp ? tcp.srcPort : (udp as NonNullable<typeof udp>).srcPort;
    const dport = tcp ? tcp.dstPort : (udp as NonNullable<typeof udp>).dstPort;
    const key = this.key;
    flowKeyOf(p, sport, dport, key);
    let flow = this.index.get(key);
    // A segment whose header was cut short is counted for its connection and nothing more (Zeek).
    const cut = p.tcpHeaderCut === true;
    const flags = tcp && !cut ? tcp.flags : 0;
    if (flow && tcp && flags & TCP_SYN && isReuse(flow, tcp.seq, flags)) {
      // A new SYN on this 5-tuple starts a new connection (Zeek's IsReuse).
      this.end(flow, 'closed');
      flow = undefined;
    }
    if (!flow) flow = this.create(p, key, fileIndex);
    const fromClient = p.src === flow.client.ip && sport === flow.client.port;
    const dir = fromClient ? flow.orig : flow.resp;
    dir.packets++;
    dir.bytes += p.ipLen;
    dir.payloadBytes += p.payloadLen;
    if (p.ts > flow.end) flow.end = p.ts;
    if (tcp) {
      if (!cut) this.tcpPacket(flow, p, fromClient);
    } else {
      // Zeek's UDP.cc: D for the originator's datagrams, d for the responder's.
      checkHistory(flow, H_DATA, fromClient, 'D');
      if (!flow.classifier.done) flow.classifier.datagram(p.payload);
    }
    return flow;
  }

  /** A new flow for TCP/UDP packet `p`, whose canonical key is `key`. */
  private create(p: Packet, key: FlowKey, fileIndex: number): Flow<P> {
    if (this.flows.size >= this.opts.maxFlows) this.evictOldest();
    const transport = p.tcp ? 'tcp' : 'udp';
    const ports = p.tcp ?? (p.udp as NonNullable<Packet['udp']>);
    const sport = ports.srcPort;
    const dport = ports.dstPort;
    let srcIsClient = true;
    let pickup = false;
    if (p.tcp) {
      const f = p.tcpHeaderCut ? 0 : p.tcp.flags;
      if (f & TCP_SYN) {
        srcIsClient = !(f & TCP_ACK); // SYN-ACK first: the receiver initiated
      } else {
        pickup = true;
        srcIsClient = this.pickupSrcIsClient(transport, sport, dport);
      }
    } else {
      // Zeek (IPBasedAnalyzer::NewConn) never flips a datagram sent to the limited broadcast address.
      srcIsClient = p.dst === '255.255.255.255' || this.pickupSrcIsClient(transport, sport, dport);
    }
    const client = srcIsClient ? { ip: p.src, port: sport } : { ip: p.dst, port: dport };
    const server = srcIsClient ? { ip: p.dst, port: dport } : { ip: p.src, port: sport };
    const flow = newFlow({
      id: this.nextId++,
      transport,
      ipVersion: p.ipVersion,
      client,
      server,
      ts: p.ts,
      fileIndex,
      classifier: this.payload.create(),
      key,
      encapsulation: p.encapsulation,
    });
    flow.pickup = pickup;
    if (!srcIsClient) {
      flow.flipped = true;
      flow.history = '^';
    }
    this.flows.set(flow.id, flow);
    this.index.set(flow);
    this.stats.flows++;
    this.stats.active = this.flows.size;
    return flow;
  }

  /**
   * A packet that is neither TCP nor UDP. ICMP and ICMPv6 are connections keyed as Zeek keys them
   * (icmp.ts: type and counterpart type, or type and code one way); any other IP protocol is Zeek's
   * unknown_transport, keyed by its addresses and protocol number with ports 0. Either way the first
   * sender is the originator, the state is OTH and the history empty. What Zeek makes no connection of
   * (notConnection) is only counted.
   */
  private other(p: Packet, fileIndex: number): Flow<P> | undefined {
    const icmp = p.icmp;
    const key = this.key;
    const proto = p.proto;
    let sport = 0;
    let dport = 0;
    if (icmp) {
      const counterpart = icmpCounterpart(proto === IPPROTO_ICMPV6, icmp.type, icmp.code);
      sport = icmp.type;
      dport = counterpart & 0xffff;
      if (counterpart & ICMP_ONE_WAY) directedKeyOf(p, sport, dport, key);
      else flowKeyOf(p, sport, dport, key);
    } else if (notConnection(proto, p.ipVersion)) {
      this.stats.otherPackets++;
      return undefined;
    } else flowKeyOf(p, 0, 0, key);
    let flow = this.index.get(key);
    if (!flow) {
      if (this.flows.size >= this.opts.maxFlows) this.evictOldest();
      flow = newFlow({
        id: this.nextId++,
        transport: icmp ? 'icmp' : 'unknown_transport',
        ipVersion: p.ipVersion,
        client: { ip: p.src, port: sport },
        server: { ip: p.dst, port: dport },
        ts: p.ts,
        fileIndex,
        classifier: this.payload.create(),
        key,
        encapsulation: p.encapsulation,
      });
      // Nothing is classified: the observer is done before it starts.
      flow.classifier.finish(EMPTY, EMPTY);
      this.flows.set(flow.id, flow);
      this.index.set(flow);
      this.stats.flows++;
      this.stats.active = this.flows.size;
    }
    const fromClient = p.src === flow.client.ip && sport === flow.client.port;
    const dir = fromClient ? flow.orig : flow.resp;
    dir.packets++;
    dir.bytes += p.ipLen;
    // Zeek counts the bytes after the ICMP header; nothing for other protocols.
    if (icmp) dir.payloadBytes += p.payloadLen;
    if (p.ts > flow.end) flow.end = p.ts;
    return flow;
  }

  /**
   * Without a SYN: the side on a service port is the server; otherwise the first sender is the client
   * (Zeek's WantConnection with its likely_server_ports: packet_analysis/protocol/udp/UDP.cc, tcp/TCP.cc).
   */
  private pickupSrcIsClient(transport: 'tcp' | 'udp', sport: number, dport: number): boolean {
    const srcService = this.opts.isServicePort(transport, sport);
    const dstService = this.opts.isServicePort(transport, dport);
    if (srcService && !dstService) return false;
    return true;
  }

  /**
   * One TCP segment, as Zeek's TCPSessionAdapter::Process handles it: the sender's sequence space
   * (init_endpoint), the history letters (update_history), zero windows (update_window),
   * retransmissions (update_last_seq), then the state machine (UpdateStateMachine).
   */
  private tcpPacket(flow: Flow<P>, p: Packet, fromClient: boolean): void {
    const tcp = p.tcp as NonNullable<Packet['tcp']>;
    const flags = tcp.flags;
    const len = p.payloadLen;
    const hasData = len > 0;
    const self = fromClient ? flow.tcp.orig : flow.tcp.resp;
    // Most segments of a long transfer: no state transition, no new history letter, nothing left to
    // classify, nothing closing. They cost this check, a zero-window test and the sequence counter.
    if (
      flow.steady &&
      !(flags & (TCP_SYN | TCP_FIN | TCP_RST)) &&
      (hasData ? hasHistory(flow, H_DATA, fromClient) : !(flags & TCP_ACK) || hasHistory(flow, H_ACK, fromClient))
    ) {
      // Both sides are Established or Partial: neither reset nor closed.
      if (tcp.window === 0) scaledHistory(flow, ++self.win0, fromClient, 'W');
      const end = (tcp.seq + len) >>> 0;
      if (seqDelta(end, self.lastSeq) > 0) self.lastSeq = end;
      else if (hasData) scaledHistory(flow, ++self.rxmt, fromClient, 'T');
      if (hasData) dataSeen(self, tcp.seq, len);
      if (flags & TCP_ACK) this.ack(flow, fromClient, tcp.ack);
      return;
    }
    const peer = fromClient ? flow.tcp.resp : flow.tcp.orig;
    // Zeek's get_segment_len: SYN and FIN take a sequence number each; a RST's data does not count.
    const segLen = flags & TCP_RST ? (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0) : len + (flags & TCP_SYN ? 1 : 0) + (flags & TCP_FIN ? 1 : 0);
    const end = (tcp.seq + segLen) >>> 0;
    initEndpoint(self, flags, tcp.seq, end);
    updateHistory(flow, self, fromClient, flags, (tcp.seq - self.startSeq) >>> 0, len);
    // update_window: a zero window is worth a letter unless it comes with or after a RST, or after
    // the peer's FIN.
    if (tcp.window === 0 && !(flags & TCP_RST) && peer.state !== EndpointState.Closed && self.state !== EndpointState.Reset) {
      scaledHistory(flow, ++self.win0, fromClient, 'W');
    }
    // init_peer: an ACK from this side starts the silent peer's sequence space.
    if (flags & TCP_ACK && peer.state === EndpointState.Inactive) {
      peer.startSeq = peer.lastSeq = (tcp.ack - 1) >>> 0;
    }
    if (updateLastSeq(self, end, flags, len)) scaledHistory(flow, ++self.rxmt, fromClient, 'T');
    tcpTransition(flow.tcp, fromClient, flags, len);
    if (hasData && !(flags & TCP_RST)) dataSeen(self, flags & TCP_SYN ? (tcp.seq + 1) >>> 0 : tcp.seq, len);
    if (flags & TCP_ACK) this.ack(flow, fromClient, tcp.ack);

    const classifier = flow.classifier;
    if (!classifier.done) {
      let stream = fromClient ? flow.origStream : flow.respStream;
      // A direction's prefix is made at its SYN (which fixes where the stream starts) or its first
      // data: a scan's flows carry neither from the server and no data at all.
      if (stream === undefined && (flags & TCP_SYN || hasData)) {
        if (fromClient) stream = flow.origStream = new StreamPrefix(this.payload.clientPrefixCap);
        else stream = flow.respStream = new StreamPrefix(this.payload.serverPrefixCap);
      }
      if (stream) {
        if (flags & TCP_SYN) stream.setIsn(tcp.seq);
        const payload = p.payload;
        if (payload.length > 0 && stream.add(tcp.seq, payload)) {
          if (fromClient) {
            classifier.clientBytes(stream.bytes, stream.full, flow.pickup);
            if (classifier.clientDone && flow.respStream && flow.respStream.length > 0) {
              classifier.serverBytes(flow.respStream.bytes, flow.respStream.full);
            }
          } else {
            classifier.serverBytes(stream.bytes, stream.full);
          }
        }
      }
      if (classifier.done) this.releaseStreams(flow);
    }

    const o = flow.tcp.orig.state;
    const r = flow.tcp.resp.state;
    const terminal =
      o === EndpointState.Reset || r === EndpointState.Reset || (o === EndpointState.Closed && r === EndpointState.Closed);
    if (terminal && !this.closing.has(flow.id)) this.closing.set(flow.id, p.ts);
    // Established or Partial on both sides: tcpTransition leaves such endpoints as they are for a
    // segment without SYN, FIN or RST, and initEndpoint their sequence start.
    flow.steady = classifier.done && isSteady(o) && isSteady(r);
  }

  /**
   * An ACK from one side: when it covers the other side's data that was never seen, that is a content
   * gap, written `G`/`g` for the side whose data is missing (Zeek's TCP_Endpoint::Gap, scaled like
   * `T`), while both sides are established or cleanly closing.
   */
  private ack(flow: Flow<P>, fromClient: boolean, ack: number): void {
    const self = fromClient ? flow.tcp.orig : flow.tcp.resp;
    const peer = fromClient ? flow.tcp.resp : flow.tcp.orig;
    if (ackReceived(peer, ack) && isClean(peer) && isClean(self)) scaledHistory(flow, ++peer.gaps, !fromClient, 'G');
  }

  private releaseStreams(flow: Flow<P>): void {
    flow.origStream?.release();
    flow.respStream?.release();
    flow.origStream = undefined;
    flow.respStream = undefined;
  }

  private end(flow: Flow<P>, reason: EndReason): void {
    this.flows.delete(flow.id);
    this.closing.delete(flow.id);
    this.index.delete(flow);
    this.stats.active = this.flows.size;
    flow.endReason = reason;
    if (!flow.classifier.done && flow.transport === 'tcp') {
      flow.classifier.finish(flow.origStream?.bytes ?? EMPTY, flow.respStream?.bytes ?? EMPTY);
    }
    this.releaseStreams(flow);
    this.onEnd(flow);
  }

  /**
   * One iterator kept across evictions. A fresh `for..of` over the Map would restart at its first
   * slot and walk every slot an earlier delete left empty (V8 compacts them only on a rehash),
   * making each eviction O(evicted so far): a 1M-SYN scan at --max-flows 20000 would take minutes.
   * Every entry before the kept iterator's position has been evicted, so its next entry is still
   * the oldest live flow; entries added later come after it (Map order is creation order).
   */
  private evictIter: Iterator<[number, Flow<P>]> | undefined;

  private evictOldest(): void {
    // Map iteration order is creation order: the next entry is the oldest flow.
    for (let attempt = 0; attempt < 2; attempt++) {
      this.evictIter ??= this.flows.entries();
      const next = this.evictIter.next();
      if (next.done) {
        // A finished iterator stays finished: start again from the front.
        this.evictIter = undefined;
        continue;
      }
      const flow = next.value[1];
      this.stats.evicted++;
      this.end(flow, 'evicted');
      return;
    }
  }

  /** Ends closed flows after closeDelay and idle flows after their timeout. */
  private sweep(): void {
    this.lastSweep = this.now;
    for (const [id, closedAt] of this.closing) {
      if (this.now - closedAt >= this.opts.closeDelay) {
        const flow = this.flows.get(id);
        if (flow) this.end(flow, 'closed');
        else this.closing.delete(id);
      }
    }
    for (const flow of this.flows.values()) {
      if (this.now - flow.end >= this.idleTimeout(flow)) {
        this.stats.timedOut++;
        this.end(flow, 'idle');
      }
    }
  }

  private idleTimeout(flow: Flow<P>): number {
    switch (flow.transport) {
      case 'tcp':
        return this.opts.tcpIdleTimeout;
      case 'udp':
        return this.opts.udpIdleTimeout;
      case 'icmp':
        return this.opts.icmpIdleTimeout;
      case 'unknown_transport':
        return this.opts.otherIdleTimeout;
    }
  }

  /** Live capture: time passes without packets (timeouts must still fire). `now` in seconds. */
  advance(now: number): void {
    if (now > this.now) this.now = now;
    if (this.now - this.lastSweep >= SWEEP_INTERVAL) this.sweep();
  }

  /** Packet time of the newest packet (or of the last advance). */
  get time(): number {
    return this.now;
  }

  /** Capture over: every flow still in the table ends now, in creation order. */
  flush(): void {
    for (const flow of this.flows.values()) this.end(flow, this.closing.has(flow.id) ? 'closed' : 'capture-end');
  }
}

/**
 * IP packets that are no connection in Zeek (packet_analysis/protocol/ip/IP.cc): TCP, UDP, ICMP and
 * ICMPv6 whose header was cut off (the decoder left tcp/udp/icmp unset); "no next header" (59: a
 * Teredo bubble, or the weird ipv6_no_next); and in IPv6, ESP (50) and the mobility header (135),
 * where Zeek stops at the last extension header.
 */
function notConnection(proto: number, ipVersion: 4 | 6): boolean {
  switch (proto) {
    case IPPROTO_TCP:
    case IPPROTO_UDP:
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
    case 59:
      return true;
    case 50:
    case 135:
      return ipVersion === 6;
    default:
      return false;
  }
}

/**
 * Zeek's update_history (TCPSessionAdapter.cc). `relSeq` is the segment's sequence number relative
 * to its side's start: a SYN, FIN or RST at a new place writes its letter again.
 */
function updateHistory(flow: Flow, self: TcpEndpoint, fromClient: boolean, flags: number, relSeq: number, len: number): void {
  const syn = flags & TCP_SYN;
  const fin = flags & TCP_FIN;
  const rst = flags & TCP_RST;
  const bits = (syn ? 1 : 0) + (fin ? 1 : 0) + (rst ? 1 : 0);
  if (bits > 1) {
    if (fin && rst) checkHistory(flow, H_FIN_RST, fromClient, 'I');
    else checkHistory(flow, H_MULTI, fromClient, 'Q');
  } else if (bits === 1) {
    if (syn) {
      const code = flags & TCP_ACK ? 'H' : 'S';
      if (checkHistory(flow, H_SYN, fromClient, code) && relSeq !== self.histSyn) addHistory(flow, fromClient, code);
      self.histSyn = relSeq;
    }
    if (fin) {
      // A FIN's sequence number is at the end of its data.
      const at = (relSeq + len) >>> 0;
      if (checkHistory(flow, H_FIN, fromClient, 'F') && at !== self.histFin) addHistory(flow, fromClient, 'F');
      self.histFin = at;
    }
    if (rst) {
      if (checkHistory(flow, H_RST, fromClient, 'R') && relSeq !== self.histRst) addHistory(flow, fromClient, 'R');
      self.histRst = relSeq;
    }
  } else if (len > 0) checkHistory(flow, H_DATA, fromClient, 'D');
  else if (flags & TCP_ACK) checkHistory(flow, H_ACK, fromClient, 'A');
}

/**
 * Zeek's IsReuse (TCPSessionAdapter.cc): a SYN (or a SYN-ACK while the originator has sent nothing)
 * starts a new connection on this 5-tuple when the old one has closed, or when its sequence number is
 * not where the originator's side started.
 */
function isReuse(flow: Flow, seq: number, flags: number): boolean {
  if (flow.transport !== 'tcp') return false;
  const ep = flow.tcp;
  let connOrig = ep.orig;
  if (flags & TCP_ACK) {
    if (ep.orig.state !== EndpointState.Inactive) return false;
    connOrig = ep.resp;
  }
  if (isClosed(ep)) return true;
  if (seq === connOrig.startSeq) return false;
  // The SYN after its SYN-ACK (packets reordered between two interfaces): not a reuse.
  return !(!(flags & TCP_ACK) && connOrig.state === EndpointState.SynAckSent && ep.resp.state === EndpointState.Inactive && seq === ep.resp.startSeq);
}
