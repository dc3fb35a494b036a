/**
 * A connection (Zeek's conn): canonical endpoints with the initiator as `client`, per-direction
 * counters, TCP state and history, and the observer of its payload (the classifier, see payload.ts).
 */
import { newTcpEndpoint, tcpConnState, udpConnState, type ConnState, type TcpEndpoints } from './tcp-state.js';
import type { FlowKey } from './key.js';
import type { FlowTransport } from '../model/vocabulary.js';
import type { PayloadObserver } from './payload.js';
import type { StreamPrefix } from './reassembly.js';

export interface Endpoint {
  ip: string;
  port: number;
}

export interface DirectionStats {
  packets: number;
  /** IP bytes on the wire. */
  bytes: number;
  /** Transport payload bytes. */
  payloadBytes: number;
}

export type EndReason = 'closed' | 'idle' | 'capture-end' | 'evicted';

/** A flow carries the flow table's lookup key (FlowKey, see key.ts). */
export interface Flow<P extends PayloadObserver = PayloadObserver> extends FlowKey {
  /** Sequence number of the flow in the run, from 1. */
  id: number;
  /** As Zeek's `proto`; the IP protocol number (Zeek's `ip_proto`) is `keyProto`. */
  transport: FlowTransport;
  ipVersion: 4 | 6;
  client: Endpoint;
  server: Endpoint;
  start: number;
  end: number;
  orig: DirectionStats;
  resp: DirectionStats;
  /** TCP endpoints (Zeek's TCP_Endpoint state); other flows share one frozen, inactive pair. */
  tcp: TcpEndpoints;
  /**
   * Zeek's history (see addHistory below): S H A D F R I Q T W, upper case for the client, lower case
   * for the server; `^` when the direction was flipped.
   */
  history: string;
  /** The first packet was not the client's: a SYN-ACK, or a mid-stream packet from the server port. */
  flipped: boolean;
  /** No handshake was seen: the capture started in the middle of the connection. */
  pickup: boolean;
  /** What the payload is handed to (the Engine's classifier). */
  classifier: P;
  origStream: StreamPrefix | undefined;
  respStream: StreamPrefix | undefined;
  /** Set once the flow has left the table. */
  endReason: EndReason | undefined;
  /** Letters already in `history` (bit per letter and side). */
  historySeen: number;
  /**
   * Both endpoints are established (or picked up mid-stream) and the classifier is done: a segment
   * without SYN, FIN or RST whose history letter its side already has changes nothing (table.ts).
   */
  steady: boolean;
  /** Where the flow's first packet was: file index in the run. */
  fileIndex: number;
  /** The encapsulations its first packet came through (Packet.encapsulation); undefined for a plain flow. */
  encapsulation: readonly string[] | undefined;
}

/** What a new flow starts from (the flow table fills it once per flow). */
export interface FlowInit<P extends PayloadObserver> {
  id: number;
  transport: FlowTransport;
  ipVersion: 4 | 6;
  client: Endpoint;
  server: Endpoint;
  /** Time of the first packet. */
  ts: number;
  fileIndex: number;
  classifier: P;
  /** The flow's canonical key (copied: the table reuses its key object). */
  key: FlowKey;
  encapsulation?: readonly string[] | undefined;
}

/** A UDP (ICMP, other) flow's `tcp`: one shared, frozen pair of inactive endpoints (nothing writes it). */
const NO_TCP: TcpEndpoints = Object.freeze({ orig: Object.freeze(newTcpEndpoint()), resp: Object.freeze(newTcpEndpoint()) });

export function newFlow<P extends PayloadObserver>(init: FlowInit<P>): Flow<P> {
  const key = init.key;
  return {
    id: init.id,
    transport: init.transport,
    ipVersion: init.ipVersion,
    client: init.client,
    server: init.server,
    start: init.ts,
    end: init.ts,
    orig: { packets: 0, bytes: 0, payloadBytes: 0 },
    resp: { packets: 0, bytes: 0, payloadBytes: 0 },
    tcp: init.transport === 'tcp' ? { orig: newTcpEndpoint(), resp: newTcpEndpoint() } : NO_TCP,
    history: '',
    flipped: false,
    pickup: false,
    classifier: init.classifier,
    origStream: undefined,
    respStream: undefined,
    endReason: undefined,
    historySeen: 0,
    steady: false,
    fileIndex: init.fileIndex,
    encapsulation: init.encapsulation,
    keyLo: key.keyLo,
    keyHi: key.keyHi,
    keyLoPort: key.keyLoPort,
    keyHiPort: key.keyHiPort,
    keyProto: key.keyProto,
    keyHash: key.keyHash,
  };
}

export function connState(flow: Flow): ConnState {
  switch (flow.transport) {
    case 'tcp':
      return tcpConnState(flow.tcp, flow.orig.payloadBytes, flow.resp.payloadBytes, flow.history);
    case 'udp':
      return udpConnState(flow.orig.packets, flow.resp.packets);
    case 'icmp':
    case 'unknown_transport':
      // Zeek's conn_state for anything but TCP and UDP (base/protocols/conn/main.zeek).
      return 'OTH';
  }
}

/**
 * History masks (Zeek's TCP_Endpoint HIST_* and UDP.cc HIST_*_DATA_PKT): a letter guarded by a mask
 * is written the first time its side sends such a packet. S and H share one (HIST_SYN_PKT).
 */
export const H_SYN = 0;
export const H_FIN = 1;
export const H_RST = 2;
export const H_ACK = 3;
export const H_DATA = 4;
/** FIN and RST together: I. */
export const H_FIN_RST = 5;
/** Other combinations of SYN, FIN and RST: Q. */
export const H_MULTI = 6;

/** True when the mask (H_SYN...) has been seen for that side. */
export function hasHistory(flow: Flow, mask: number, fromClient: boolean): boolean {
  return (flow.historySeen & (1 << (mask * 2 + (fromClient ? 0 : 1)))) !== 0;
}

/**
 * Zeek's Connection::CheckHistory: writes `letter` (upper case; lower case for the server) the first
 * time the side's mask is seen and returns false; returns true when it had been seen.
 */
export function checkHistory(flow: Flow, mask: number, fromClient: boolean, letter: string): boolean {
  const bit = 1 << (mask * 2 + (fromClient ? 0 : 1));
  if (flow.historySeen & bit) return true;
  flow.historySeen |= bit;
  flow.history += fromClient ? letter : letter.toLowerCase();
  return false;
}

/** Zeek's AddHistory: the letter again (upper case for the client). */
export function addHistory(flow: Flow, fromClient: boolean, letter: string): void {
  flow.history += fromClient ? letter : letter.toLowerCase();
}

/**
 * Zeek's Connection::ScaledHistoryEntry with its default base 10: a counted event (retransmission,
 * zero window) writes its letter at the 1st, 10th, 100th, ... occurrence.
 */
export function scaledHistory(flow: Flow, count: number, fromClient: boolean, letter: string): void {
  let n = count;
  while (n >= 10 && n % 10 === 0) n /= 10;
  if (n === 1) addHistory(flow, fromClient, letter);
}
