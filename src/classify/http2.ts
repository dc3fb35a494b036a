/**
 * HTTP/2 cleartext (h2c prior knowledge, as gRPC without TLS uses) probe: the client connection preface
 * "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" (RFC 9113 section 3.4), then the types of the frames that follow.
 *
 * Detecting gRPC itself (content-type application/grpc) would need HPACK decoding: not done here.
 */
import type { Http2Info, ProbeResult } from './probe.js';

const PREFACE = Uint8Array.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', (c) => c.charCodeAt(0));
/** The 24-byte client connection preface (a copy: changing it does not change the probe). */
export const HTTP2_PREFACE: Uint8Array = PREFACE.slice();
/** At most this many frame types are listed. */
export const HTTP2_MAX_FRAMES = 16;
/** Bytes after the preface that are walked for frame headers. */
export const HTTP2_PROBE_MAX_BYTES = 16 * 1024;

const NO: { status: 'no' } = Object.freeze({ status: 'no' as const });
const NEED_MORE: { status: 'need-more' } = Object.freeze({ status: 'need-more' as const });

const FRAME_TYPE_NAMES: readonly string[] = [
  'DATA',
  'HEADERS',
  'PRIORITY',
  'RST_STREAM',
  'SETTINGS',
  'PUSH_PROMISE',
  'PING',
  'GOAWAY',
  'WINDOW_UPDATE',
  'CONTINUATION',
];

/** "DATA", "HEADERS", ... for types 0..9; others as "0x%02x" (e.g. ALTSVC "0x0a", ORIGIN "0x0c"). */
export function http2FrameTypeName(type: number): string {
  return FRAME_TYPE_NAMES[type] ?? '0x' + (type & 0xff).toString(16).padStart(2, '0');
}

/**
 * Probe the client's first bytes for the HTTP/2 connection preface. need-more while the bytes are a
 * strict prefix of it; on a match, info.frames lists the frame types whose 9-byte header follows.
 */
export function probeHttp2Preface(bytes: Uint8Array): ProbeResult<Http2Info> {
  const n = bytes.length;
  const cmp = Math.min(n, PREFACE.length);
  for (let k = 0; k < cmp; k++) if (bytes[k] !== PREFACE[k]) return NO;
  if (n < PREFACE.length) return NEED_MORE;

  const frames: string[] = [];
  const end = Math.min(n, PREFACE.length + HTTP2_PROBE_MAX_BYTES);
  let p = PREFACE.length;
  while (p + 9 <= end && frames.length < HTTP2_MAX_FRAMES) {
    const len = ((bytes[p] ?? 0) << 16) | ((bytes[p + 1] ?? 0) << 8) | (bytes[p + 2] ?? 0);
    frames.push(http2FrameTypeName(bytes[p + 3] ?? 0));
    p += 9 + len;
  }
  return { status: 'match', info: { frames } };
}
