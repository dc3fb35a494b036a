/**
 * HTTP/2 cleartext (h2c prior knowledge, as gRPC without TLS uses) probe: the client connection preface
 * "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 section 3.4).
 *
 * Detecting gRPC itself (content-type application/grpc) would need HPACK decoding: not done here.
 */
import type { ProbeResult } from './probe.js';

const PREFACE = Uint8Array.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', (c) => c.charCodeAt(0));
/** The 24-byte client connection preface (a copy: changing it does not change the probe). */
export const HTTP2_PREFACE: Uint8Array = PREFACE.slice();

const NO: { status: 'no' } = Object.freeze({ status: 'no' as const });
const NEED_MORE: { status: 'need-more' } = Object.freeze({ status: 'need-more' as const });
/** The preface says nothing beyond "this is HTTP/2": a match carries no information. */
const MATCH: { status: 'match'; info: null } = Object.freeze({ status: 'match' as const, info: null });

/**
 * Probe the client's first bytes for the HTTP/2 connection preface: need-more while the bytes are a
 * strict prefix of it, match once it is complete (whatever follows it).
 */
export function probeHttp2Preface(bytes: Uint8Array): ProbeResult<null> {
  const n = bytes.length;
  const cmp = Math.min(n, PREFACE.length);
  for (let k = 0; k < cmp; k++) if (bytes[k] !== PREFACE[k]) return NO;
  return n < PREFACE.length ? NEED_MORE : MATCH;
}
