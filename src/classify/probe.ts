/**
 * Result of a protocol probe over the first bytes of one direction of a flow.
 * - match: the bytes are this protocol (with what was read from them)
 * - no: the bytes are certainly not this protocol
 * - need-more: the bytes are a valid prefix; more bytes are needed to decide
 */
export type ProbeResult<T> = { status: 'match'; info: T } | { status: 'no' } | { status: 'need-more' };

export interface TlsClientHelloInfo {
  /** legacy_version of the ClientHello as "TLSv1.2" etc. */
  legacyVersion: string;
  /** Highest non-GREASE version in supported_versions, or legacyVersion when absent. */
  maxVersion: string;
  sni?: string;
  alpn: string[];
}

export interface TlsServerHelloInfo {
  /** Negotiated version: supported_versions in the ServerHello when present, else legacy version. */
  version: string;
  /** ALPN selected by the server, if any. */
  alpn?: string;
}

export interface HttpRequestInfo {
  method: string;
  target: string;
  version: string;
  host?: string;
  /** Value of an Upgrade header (e.g. "h2c"), if present. */
  upgrade?: string;
}

export interface WireGuardInfo {
  /** 1 initiation, 2 response, 3 cookie reply, 4 transport data. */
  messageType: 1 | 2 | 3 | 4;
}
