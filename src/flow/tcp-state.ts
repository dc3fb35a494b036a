/**
 * TCP endpoint states and Zeek's conn_state, derived the way Zeek's base/protocols/conn/main.zeek
 * does from the two endpoint states and the history.
 */
import { TCP_ACK, TCP_FIN, TCP_RST, TCP_SYN } from '../decode/packet.js';

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

export type ConnState =
  | 'S0'
  | 'S1'
  | 'SF'
  | 'REJ'
  | 'S2'
  | 'S3'
  | 'RSTO'
  | 'RSTR'
  | 'RSTOS0'
  | 'RSTRH'
  | 'SH'
  | 'SHR'
  | 'OTH';

export interface TcpEndpoints {
  orig: EndpointState;
  resp: EndpointState;
}

/** Applies one segment's flags to the sender's state (and to the peer's, for the handshake). */
export function tcpTransition(ep: TcpEndpoints, fromOrig: boolean, flags: number, hasData: boolean): void {
  const self = fromOrig ? ep.orig : ep.resp;
  const peer = fromOrig ? ep.resp : ep.orig;
  let next = self;
  let nextPeer = peer;
  if (flags & TCP_RST) {
    next = EndpointState.Reset;
  } else if (flags & TCP_FIN) {
    if (self !== EndpointState.Reset) next = EndpointState.Closed;
  } else if (flags & TCP_SYN) {
    if (flags & TCP_ACK) {
      if (self === EndpointState.Inactive || self === EndpointState.SynSent) next = EndpointState.SynAckSent;
      if (peer === EndpointState.SynSent) nextPeer = EndpointState.Established;
    } else if (self === EndpointState.Inactive) {
      next = EndpointState.SynSent;
    }
  } else if (flags & TCP_ACK || hasData) {
    if (self === EndpointState.Inactive) next = EndpointState.Partial;
    else if (self === EndpointState.SynAckSent) next = EndpointState.Established;
    else if (self === EndpointState.SynSent && peer !== EndpointState.Inactive) next = EndpointState.Established;
    // The ACK that completes the three-way handshake establishes the responder too.
    if (flags & TCP_ACK && peer === EndpointState.SynAckSent) nextPeer = EndpointState.Established;
  }
  if (fromOrig) {
    ep.orig = next;
    ep.resp = nextPeer;
  } else {
    ep.resp = next;
    ep.orig = nextPeer;
  }
}

const inactive = (s: EndpointState): boolean => s === EndpointState.Inactive || s === EndpointState.Partial;

/** Zeek's conn_state for a TCP connection. `history` is the Zeek-style history string. */
export function tcpConnState(ep: TcpEndpoints, origBytes: number, respBytes: number, history: string): ConnState {
  const os = ep.orig;
  const rs = ep.resp;
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
  const closing = (s: EndpointState): boolean => s === EndpointState.Closed || s === EndpointState.Reset;
  const up = (s: EndpointState): boolean => s === EndpointState.Established || s === EndpointState.Partial;
  return !closing(ep.orig) && !closing(ep.resp) && (up(ep.orig) || up(ep.resp));
}

/** An attempt that never became a connection: no answer, refused, or given up. */
export function isFailedAttempt(state: ConnState): boolean {
  return state === 'S0' || state === 'REJ' || state === 'RSTOS0' || state === 'SH';
}
