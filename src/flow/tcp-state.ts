/**
 * TCP endpoint states and Zeek's conn_state. The state machine is Zeek's
 * (src/packet_analysis/protocol/tcp/TCPSessionAdapter.cc: UpdateStateMachine and the Update*State
 * functions, init_endpoint, update_last_seq), and conn_state is derived from the two endpoint
 * states and the history as scripts/base/protocols/conn/main.zeek's conn_state() does.
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/packet.js';
import type { ConnState } from '../model/vocabulary.js';

export const enum EndpointState {
  Inactive = 0,
  SynSent = 1,
  SynAckSent = 2,
  /** Data seen without a handshake (mid-stream pickup). */
  Partial = 3,
  Established = 4,
  /** Sent a FIN. */
  Closed = 5,
  /** Sent a RST. */
  Reset = 6,
}

export type { ConnState };

/** One side of a TCP connection (Zeek's TCP_Endpoint, the parts conn_state and history need). */
export interface TcpEndpoint {
  state: EndpointState;
  /** The state before the last change (Zeek's prev_state). */
  prev: EndpointState;
  /** Zeek's start_seq and last_seq (uint32): where the side's sequence space starts and how far it went. */
  startSeq: number;
  lastSeq: number;
  /** The side sent a FIN or a RST that closed it (Zeek's did_close, near enough: see isClosed). */
  didClose: boolean;
  /** Sequence numbers of the last SYN, FIN (its end) and RST, for repeated S/F/R letters. */
  histSyn: number;
  histFin: number;
  histRst: number;
  /** Retransmitted data segments and zero-window advertisements (the T and W letters' counters). */
  rxmt: number;
  win0: number;
  /**
   * Zeek's reassembler for this side, as far as content gaps go: its data is contiguous up to
   * `reassem` (Zeek's last_reassem_seq, absolute) for the sequence space starting at `reassemBase`;
   * `blocks` holds data seen beyond a hole ([start, end) pairs, at most MAX_BLOCKS); `gaps` counts
   * the holes the peer acknowledged (the G letter's counter).
   */
  reassem: number;
  reassemBase: number;
  reassemInit: boolean;
  blocks: number[] | undefined;
  gaps: number;
}

export interface TcpEndpoints {
  orig: TcpEndpoint;
  resp: TcpEndpoint;
}

export function newTcpEndpoint(): TcpEndpoint {
  return {
    state: EndpointState.Inactive,
    prev: EndpointState.Inactive,
    startSeq: 0,
    lastSeq: 0,
    didClose: false,
    histSyn: 0,
    histFin: 0,
    histRst: 0,
    rxmt: 0,
    win0: 0,
    reassem: 0,
    reassemBase: 0,
    reassemInit: false,
    blocks: undefined,
    gaps: 0,
  };
}

/** Out-of-order ranges kept per side at most; data beyond them is taken as seen. */
const MAX_BLOCKS = 16;

/** The side's reassembly point follows its sequence space (a new SYN starts it again). */
function syncReassem(ep: TcpEndpoint): void {
  if (ep.reassemInit && ep.reassemBase === ep.startSeq) return;
  ep.reassemInit = true;
  ep.reassemBase = ep.startSeq;
  ep.reassem = (ep.startSeq + 1) >>> 0;
  ep.blocks = undefined;
}

/** Moves the reassembly point over the kept ranges it reaches. */
function absorb(ep: TcpEndpoint): void {
  const b = ep.blocks as number[];
  for (let i = 0; i < b.length; ) {
    if (seqDelta(b[i]!, ep.reassem) <= 0) {
      if (seqDelta(b[i + 1]!, ep.reassem) > 0) ep.reassem = b[i + 1]!;
      b.splice(i, 2);
      i = 0;
    } else i += 2;
  }
  if (b.length === 0) ep.blocks = undefined;
}

/** `len` bytes of the side's data from sequence number `seq` were seen. */
export function dataSeen(ep: TcpEndpoint, seq: number, len: number): void {
  syncReassem(ep);
  const end = (seq + len) >>> 0;
  if (seqDelta(seq, ep.reassem) <= 0) {
    if (seqDelta(end, ep.reassem) > 0) {
      ep.reassem = end;
      if (ep.blocks) absorb(ep);
    }
  } else if (ep.blocks === undefined) ep.blocks = [seq, end];
  else {
    const b = ep.blocks;
    // Segments in order after the hole extend the last range.
    if (b[b.length - 1] === seq) b[b.length - 1] = end;
    else if (b.length < 2 * MAX_BLOCKS) b.push(seq, end);
  }
}

/**
 * The peer acknowledged the side's data up to `ack` (Zeek's TCP_Reassembler::AckReceived): true when
 * that covers bytes never seen, a content gap (then delivered as such: the reassembly point moves on).
 */
export function ackReceived(ep: TcpEndpoint, ack: number): boolean {
  if (ep.state === EndpointState.Inactive) return false;
  syncReassem(ep);
  let a = ack;
  // An ACK of the side's FIN acknowledges one sequence number that is not data.
  if (ep.histFin !== 0 && seqDelta(a, ep.lastSeq) >= 0) a = (ep.lastSeq - 1) >>> 0;
  if (seqDelta(a, ep.reassem) <= 0) return false;
  ep.reassem = a;
  if (ep.blocks) absorb(ep);
  return true;
}

/** Zeek's is_clean (TCP_Reassembler.cc): established, or closed from established. Gaps count only then. */
export function isClean(ep: TcpEndpoint): boolean {
  return ep.state === EndpointState.Established || (ep.state === EndpointState.Closed && ep.prev === EndpointState.Established);
}

function setState(ep: TcpEndpoint, s: EndpointState): void {
  if (s === ep.state) return;
  ep.prev = ep.state;
  ep.state = s;
  if (s === EndpointState.Closed || s === EndpointState.Reset) ep.didClose = true;
}

/** Signed 32-bit distance from b to a in sequence space (Zeek's seq_delta). */
export function seqDelta(a: number, b: number): number {
  return (a - b) | 0;
}

/** Zeek's TOO_LARGE_SEQ_DELTA (TCPSessionAdapter.cc). */
const TOO_LARGE_SEQ_DELTA = 1048576;

/**
 * Zeek's init_endpoint (TCPSessionAdapter.cc): the sender's sequence space, set by its first
 * segment (a SYN, or a pickup as though a SYN had come just before) and again by a SYN that restarts it.
 */
export function initEndpoint(ep: TcpEndpoint, flags: number, seq: number, lastSeq: number): void {
  const syn = (flags & TCP_SYN) !== 0;
  switch (ep.state) {
    case EndpointState.Inactive:
      if (syn) {
        ep.startSeq = seq;
        ep.lastSeq = lastSeq;
      } else {
        ep.startSeq = (seq - 1) >>> 0;
        // The first segment of a pickup is not a retransmission.
        ep.lastSeq = seq;
      }
      break;
    case EndpointState.SynSent:
    case EndpointState.SynAckSent:
      if (syn && seq !== ep.startSeq) {
        ep.startSeq = seq;
        ep.lastSeq = lastSeq;
      }
      break;
    case EndpointState.Established:
    case EndpointState.Partial:
      if (syn) {
        ep.startSeq = seq;
        ep.lastSeq = lastSeq;
      }
      break;
    case EndpointState.Reset:
      if (syn && ep.prev === EndpointState.Inactive) {
        ep.startSeq = seq;
        ep.lastSeq = lastSeq;
      }
      break;
    default:
      break;
  }
}

/**
 * Zeek's update_last_seq (TCPSessionAdapter.cc): moves the side's last sequence number forward and
 * returns true when a segment with data did not (a retransmission: Zeek's DidRxmit, the T letter).
 */
export function updateLastSeq(ep: TcpEndpoint, lastSeq: number, flags: number, len: number): boolean {
  const delta = seqDelta(lastSeq, ep.lastSeq);
  if (flags & (TCP_SYN | TCP_RST) && (delta > TOO_LARGE_SEQ_DELTA || delta < -TOO_LARGE_SEQ_DELTA)) return false;
  if (flags & TCP_FIN && ep.lastSeq === ((ep.startSeq + 1) >>> 0)) {
    ep.lastSeq = lastSeq;
    return false;
  }
  if (ep.state === EndpointState.Reset) return false;
  if (delta > 0) {
    ep.lastSeq = lastSeq;
    return false;
  }
  return len > 0;
}

/**
 * Zeek's UpdateStateMachine (TCPSessionAdapter.cc) for one segment from `self` (the originator's
 * side when `fromOrig`). Zeek's SYN/SYN-ACK reversal flip is left out: the flow table orients a
 * connection whose first packet is a SYN-ACK when it creates it.
 */
export function tcpTransition(ep: TcpEndpoints, fromOrig: boolean, flags: number, len: number): void {
  const self = fromOrig ? ep.orig : ep.resp;
  const peer = fromOrig ? ep.resp : ep.orig;
  const syn = (flags & TCP_SYN) !== 0;
  const ack = (flags & TCP_ACK) !== 0;
  const fin = (flags & TCP_FIN) !== 0;
  const rst = (flags & TCP_RST) !== 0;
  switch (self.state) {
    case EndpointState.Inactive:
      // UpdateInactiveState
      if (syn) {
        if (fromOrig) setState(self, ack ? EndpointState.SynAckSent : EndpointState.SynSent);
        else {
          if (peer.state === EndpointState.SynSent) setState(peer, EndpointState.Established);
          setState(self, EndpointState.Established);
        }
      }
      if (fin) setState(self, EndpointState.Closed);
      if (rst) setState(self, EndpointState.Reset);
      if (self.state === EndpointState.Inactive) {
        if (!fromOrig && len === 0 && peer.state === EndpointState.SynSent) {
          // An ACK of the SYN before the SYN-ACK: not a partial connection.
        } else if (ack && peer.state === EndpointState.Established) {
          setState(self, EndpointState.Established);
        } else {
          setState(self, EndpointState.Partial);
        }
      }
      break;
    case EndpointState.SynSent:
    case EndpointState.SynAckSent:
      // UpdateSYN_SentState
      if (fin) setState(self, EndpointState.Closed);
      if (rst) setState(self, EndpointState.Reset);
      break;
    case EndpointState.Established:
    case EndpointState.Partial:
      // UpdateEstablishedState
      if (syn && self.state === EndpointState.Partial && peer.state === EndpointState.Inactive && !ack) {
        setState(self, EndpointState.SynSent);
      }
      if (fin && !rst) {
        setState(self, EndpointState.Closed);
        // The peer sent a FIN and then a RST: that was a normal close after all.
        if (peer.state === EndpointState.Reset && peer.prev === EndpointState.Closed) setState(peer, EndpointState.Closed);
      }
      if (rst) setState(self, EndpointState.Reset);
      break;
    case EndpointState.Closed:
      // UpdateClosedState: a RST after a FIN exchange leaves both closed.
      if (rst && peer.state !== EndpointState.Closed) setState(self, EndpointState.Reset);
      break;
    default:
      // UpdateResetState: nothing changes.
      break;
  }
}

const inactive = (s: EndpointState): boolean => s === EndpointState.Inactive || s === EndpointState.Partial;

/**
 * Zeek's conn_state for a TCP connection (base/protocols/conn/main.zeek). `history` is the Zeek
 * history string; the sizes are payload bytes (Zeek's come from sequence numbers).
 */
export function tcpConnState(ep: TcpEndpoints, origBytes: number, respBytes: number, history: string): ConnState {
  const os = ep.orig.state;
  const rs = ep.resp.state;
  if (rs === EndpointState.Reset) {
    if (
      os === EndpointState.SynSent ||
      os === EndpointState.SynAckSent ||
      (os === EndpointState.Reset && origBytes === 0 && respBytes === 0)
    ) {
      return 'REJ';
    }
    return inactive(os) ? 'RSTRH' : 'RSTR';
  }
  if (os === EndpointState.Reset) {
    if (inactive(rs)) return /^\^?S[^HAFGIQ]*R/.test(history) ? 'RSTOS0' : 'OTH';
    return 'RSTO';
  }
  if (rs === EndpointState.Closed && os === EndpointState.Closed) return 'SF';
  if (os === EndpointState.Closed) return inactive(rs) ? 'SH' : 'S2';
  if (rs === EndpointState.Closed) return inactive(os) ? 'SHR' : 'S3';
  if (os === EndpointState.SynSent && rs === EndpointState.Inactive) return 'S0';
  if (os === EndpointState.Established && rs === EndpointState.Established) return 'S1';
  return 'OTH';
}

/** Zeek's conn_state for UDP: who sent anything. */
export function udpConnState(origPackets: number, respPackets: number): ConnState {
  if (origPackets > 0) return respPackets > 0 ? 'SF' : 'S0';
  return respPackets > 0 ? 'SHR' : 'OTH';
}

/** Data or a completed handshake was seen, and neither side has sent a FIN or a RST. */
export function isOpen(ep: TcpEndpoints): boolean {
  const o = ep.orig.state;
  const r = ep.resp.state;
  const closing = (s: EndpointState): boolean => s === EndpointState.Closed || s === EndpointState.Reset;
  const up = (s: EndpointState): boolean => s === EndpointState.Established || s === EndpointState.Partial;
  return !closing(o) && !closing(r) && (up(o) || up(r));
}

/** Zeek's IsClosed (TCPSessionAdapter.h): either side has closed, by FIN or RST. */
export function isClosed(ep: TcpEndpoints): boolean {
  return ep.orig.didClose || ep.resp.didClose;
}

/** An attempt that never became a connection: no answer, refused, or given up. */
export function isFailedAttempt(state: ConnState): boolean {
  return state === 'S0' || state === 'REJ' || state === 'RSTOS0' || state === 'SH';
}
