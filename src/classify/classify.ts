/**
 * Flow classification, payload first: the client's first bytes (TCP-reassembled, up to 16 KiB) go
 * through the TLS, HTTP/2 preface and HTTP/1 probes; UDP datagrams through the WireGuard probe. Ports
 * are the last resort and belong to the judge, which knows the matrix (see policy/judge.ts).
 */
import type { Service } from '../model/vocabulary.js';
import type { Flow } from '../flow/flow.js';
import type { PayloadObserver, PayloadObservers } from '../flow/payload.js';
import { probeHttpRequest } from './http.js';
import { probeHttp2Preface } from './http2.js';
import type { ProbeResult } from './probe.js';
import { probeTlsClientHello, probeTlsServerHello } from './tls.js';
import { probeWireGuard } from './wireguard.js';

/** Client bytes examined at most: post-quantum ClientHellos span several segments. */
export const CLIENT_PREFIX_CAP = 16 * 1024;
/** Server bytes examined at most (a ServerHello with an ML-KEM key share is about 1.2 KB). */
export const SERVER_PREFIX_CAP = 8 * 1024;
/** WireGuard message types are noted over the first datagrams only. */
const UDP_DATAGRAMS_PROBED = 16;

export interface TlsEvidence {
  /** Negotiated version when the ServerHello was seen, else the highest version the client offered. */
  version: string;
  sni?: string;
  alpn: string[];
  /** ALPN the server selected. */
  alpnSelected?: string;
  helloRetry?: boolean;
  /** TLS alert description sent by the server instead of a ServerHello. */
  alert?: number;
}

export interface HttpEvidence {
  method: string;
  target: string;
  host?: string;
  upgrade?: string;
}

export interface PayloadClassification {
  /** Service read from the payload; `unknown` when bytes were seen but no probe matched. */
  service: Service | undefined;
  tls?: TlsEvidence;
  http?: HttpEvidence;
  /** WireGuard message types seen (1 initiation, 2 response, 3 cookie, 4 data). */
  wireguard?: number[];
  /** Datagrams or first bytes that did not match while the flow was otherwise WireGuard/TLS. */
  anomalies: number;
}

type ClientProbe = 'tls' | 'h2' | 'http';
/** Every probe, where each flow starts (shared: `possible` is replaced, never changed in place). */
const ALL_CLIENT_PROBES: readonly ClientProbe[] = ['tls', 'h2', 'http'];

/**
 * Per-flow probing state. Fed only with in-order client/server prefixes (TCP) or datagrams (UDP);
 * finished as soon as the evidence is in so the buffers can be dropped.
 */
export class PayloadClassifier implements PayloadObserver {
  result: PayloadClassification = { service: undefined, anomalies: 0 };
  clientDone = false;
  serverDone = false;
  private possible: readonly ClientProbe[] = ALL_CLIENT_PROBES;
  private datagrams = 0;

  get done(): boolean {
    return this.clientDone && this.serverDone;
  }

  /** The client's contiguous prefix grew. `pickup`: the flow began mid-stream (no handshake seen). */
  clientBytes(bytes: Uint8Array, full: boolean, pickup: boolean): void {
    if (this.clientDone) return;
    const still: ClientProbe[] = [];
    for (const probe of this.possible) {
      const r = this.runClientProbe(probe, bytes);
      if (r === 'match') {
        this.clientDone = true;
        if (probe !== 'tls') this.serverDone = true;
        return;
      }
      if (r === 'need-more') still.push(probe);
    }
    this.possible = still;
    if (still.length === 0 || full) {
      // Mid-stream, a TLS connection shows records (types 20-23, version 3.x), not a ClientHello.
      if (pickup && looksLikeTlsRecord(bytes)) {
        this.result.service = 'tls';
      } else {
        this.result.service = 'unknown';
      }
      this.clientDone = true;
      this.serverDone = true;
    }
  }

  /** The server's contiguous prefix grew. */
  serverBytes(bytes: Uint8Array, full: boolean): void {
    if (this.serverDone) return;
    if (this.result.service === 'tls' && this.result.tls) {
      const r = probeTlsServerHello(bytes);
      if (r.status === 'match') {
        const tls = this.result.tls;
        if (r.info.alert !== undefined) tls.alert = r.info.alert;
        else tls.version = r.info.version;
        if (r.info.alpn !== undefined) tls.alpnSelected = r.info.alpn;
        if (r.info.helloRetry) tls.helloRetry = true;
        this.serverDone = true;
      } else if (r.status === 'no' || full) {
        this.serverDone = true;
      }
      return;
    }
    // Otherwise the server's bytes wait (bounded by the stream cap) until the client's side is
    // decided: an HTTP/2 server sends its SETTINGS without waiting for the client's preface.
    if (this.clientDone) this.serverDone = true;
  }

  /**
   * The flow ended before the probes decided. `client`/`server`: the bytes seen (possibly empty).
   * A ClientHello cut short is still TLS; a server that spoke alone is read by its first bytes.
   */
  finish(client: Uint8Array, server: Uint8Array): void {
    if (this.clientDone) return;
    this.clientDone = true;
    this.serverDone = true;
    if (client.length > 0) {
      if (this.possible.includes('tls') && client[0] === 0x16) this.result.service = 'tls';
      return;
    }
    if (server.length > 0) this.result.service = looksLikeHttp2Settings(server) ? 'h2c' : 'unknown';
  }

  datagram(payload: Uint8Array): void {
    if (payload.length === 0 || this.datagrams >= UDP_DATAGRAMS_PROBED) return;
    this.datagrams++;
    const r = probeWireGuard(payload);
    if (r.status === 'match') {
      if (this.result.service === undefined) this.result.service = 'wireguard';
      const seen = (this.result.wireguard ??= []);
      if (!seen.includes(r.info.messageType)) seen.push(r.info.messageType);
    } else {
      if (this.result.service === undefined) this.result.service = 'unknown';
      else if (this.result.service === 'wireguard') this.result.anomalies++;
    }
    if (this.datagrams >= UDP_DATAGRAMS_PROBED) {
      this.clientDone = true;
      this.serverDone = true;
    }
  }

  private runClientProbe(probe: ClientProbe, bytes: Uint8Array): 'match' | 'no' | 'need-more' {
    switch (probe) {
      case 'tls': {
        const r = probeTlsClientHello(bytes);
        if (r.status === 'match') {
          const tls: TlsEvidence = { version: r.info.maxVersion, alpn: r.info.alpn };
          if (r.info.sni !== undefined) tls.sni = r.info.sni;
          this.result.service = 'tls';
          this.result.tls = tls;
        }
        return r.status;
      }
      case 'h2': {
        const r: ProbeResult<unknown> = probeHttp2Preface(bytes);
        if (r.status === 'match') this.result.service = 'h2c';
        return r.status;
      }
      case 'http': {
        const r = probeHttpRequest(bytes);
        if (r.status === 'match') {
          const http: HttpEvidence = { method: r.info.method, target: r.info.target };
          if (r.info.host !== undefined) http.host = r.info.host;
          if (r.info.upgrade !== undefined) http.upgrade = r.info.upgrade;
          this.result.http = http;
          this.result.service = 'http';
        }
        return r.status;
      }
    }
  }
}

/** A flow whose payload went through the classifier. */
export type ClassifiedFlow = Flow<PayloadClassifier>;

/** The flow table's payload observers: one classifier per flow. */
export const PAYLOAD_CLASSIFIERS: PayloadObservers<PayloadClassifier> = {
  create: () => new PayloadClassifier(),
  clientPrefixCap: CLIENT_PREFIX_CAP,
  serverPrefixCap: SERVER_PREFIX_CAP,
};

/** A TLS record header: content type 20-24, version 3.0-3.4, length within the record limit. */
export function looksLikeTlsRecord(bytes: Uint8Array): boolean {
  if (bytes.length < 5) return false;
  const type = bytes[0] as number;
  const major = bytes[1] as number;
  const minor = bytes[2] as number;
  const len = ((bytes[3] as number) << 8) | (bytes[4] as number);
  return type >= 20 && type <= 24 && major === 3 && minor <= 4 && len > 0 && len <= 16384 + 2048;
}

/** An HTTP/2 SETTINGS frame on stream 0: what an h2c server sends first, before any request. */
export function looksLikeHttp2Settings(bytes: Uint8Array): boolean {
  if (bytes.length < 9) return false;
  const len = ((bytes[0] as number) << 16) | ((bytes[1] as number) << 8) | (bytes[2] as number);
  const stream = (((bytes[5] as number) & 0x7f) << 24) | ((bytes[6] as number) << 16) | ((bytes[7] as number) << 8) | (bytes[8] as number);
  return bytes[3] === 0x04 && (bytes[4] === 0 || bytes[4] === 1) && stream === 0 && len % 6 === 0 && len <= 16384;
}
