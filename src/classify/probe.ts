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
  /**
   * True when the ClientHello did not fit in the bytes a probe looks at (16 KiB): the fixed part was
   * read, and extensions only as far as they were present.
   */
  truncated?: boolean;
}

export interface TlsServerHelloInfo {
  /** Negotiated version: supported_versions in the ServerHello when present, else legacy version. */
  version: string;
  /** ALPN selected by the server, if any. */
  alpn?: string;
  /** True when the ServerHello is a TLS 1.3 HelloRetryRequest (random = SHA-256("HelloRetryRequest")). */
  helloRetry?: boolean;
  /**
   * Set when the server's first record is an Alert instead of a ServerHello: the alert description
   * code (e.g. 40 handshake_failure, 70 protocol_version, 112 unrecognized_name). `version` is then
   * the record-layer version.
   */
  alert?: number;
  /** Alert level (1 warning, 2 fatal), set together with `alert`. */
  alertLevel?: number;
}

export interface HttpRequestInfo {
  method: string;
  target: string;
  version: string;
  host?: string;
  /** Value of an Upgrade header (e.g. "h2c"), if present. */
  upgrade?: string;
  /** True when the header block did not end within the bytes a probe looks at (8 KiB). */
  truncated?: boolean;
}

export interface HttpResponseInfo {
  /** "HTTP/1.0", "HTTP/1.1", ... */
  version: string;
  /** Status code, 100..999. */
  status: number;
}

export interface WireGuardInfo {
  /** 1 initiation, 2 response, 3 cookie reply, 4 transport data. */
  messageType: 1 | 2 | 3 | 4;
  /** Sender index (little-endian uint32) of an initiation (1) or response (2). */
  senderIndex?: number;
  /** Receiver index (little-endian uint32) of a response (2), cookie reply (3) or transport data (4). */
  receiverIndex?: number;
}
