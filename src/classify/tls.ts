/**
 * TLS probes: ClientHello (client's first bytes) and ServerHello / Alert (server's first bytes).
 *
 * Pure functions over the first bytes of one direction of a TCP flow, already reassembled in order by
 * the caller. They never throw, look at no more than TLS_PROBE_MAX_BYTES, allocate nothing on the
 * common path (a ClientHello within one record is parsed in place) and at most one buffer of
 * TLS_PROBE_MAX_BYTES when a handshake message is fragmented over several records.
 *
 * Strings (SNI, ALPN) are decoded as UTF-8 with replacement characters and are NOT sanitised here:
 * escaping is the job of the output layer.
 */
import type { ProbeResult, TlsClientHelloInfo, TlsServerHelloInfo } from './probe.js';

/** Bytes of one direction a TLS probe looks at; beyond this an incomplete ClientHello is reported truncated. */
export const TLS_PROBE_MAX_BYTES = 16 * 1024;

/** Longest SNI host name kept (RFC 1035 limit for a DNS name); longer names are cut. */
export const TLS_MAX_SNI_BYTES = 255;
/** At most this many ALPN protocol names are read from a ClientHello. */
export const TLS_MAX_ALPN_ENTRIES = 64;

const CT_ALERT = 21;
const CT_HANDSHAKE = 22;
const HS_CLIENT_HELLO = 1;
const HS_SERVER_HELLO = 2;
/** TLSCiphertext limit (2^14 + 2048); plaintext records are at most 2^14 but we stay lenient. */
const MAX_RECORD_LEN = 16384 + 2048;
/** version(2) random(32) session_id<0..32>(1) cipher_suites<2..>(2+2) compression_methods<1..>(1+1). */
const MIN_CLIENT_HELLO_BODY = 41;
/** version(2) random(32) session_id(1) cipher_suite(2) compression_method(1). */
const MIN_SERVER_HELLO_BODY = 38;

const EXT_SERVER_NAME = 0;
const EXT_ALPN = 16;
const EXT_SUPPORTED_VERSIONS = 43;

/** SHA-256("HelloRetryRequest"), RFC 8446 section 4.1.3. */
const HRR_RANDOM = Uint8Array.from([
  0xcf, 0x21, 0xad, 0x74, 0xe5, 0x9a, 0x61, 0x11, 0xbe, 0x1d, 0x8c, 0x02, 0x1e, 0x65, 0xb8, 0x91,
  0xc2, 0xa2, 0x11, 0x16, 0x7a, 0xbb, 0x8c, 0x5e, 0x07, 0x9e, 0x09, 0xe2, 0xc8, 0xa8, 0x33, 0x9c,
]);

const NO: { status: 'no' } = Object.freeze({ status: 'no' as const });
const NEED_MORE: { status: 'need-more' } = Object.freeze({ status: 'need-more' as const });

const utf8 = new TextDecoder('utf-8', { fatal: false });

/** "SSLv2" (0x0002), "SSLv3", "TLSv1.0" ... "TLSv1.3"; anything else as "0x%04x". */
export function tlsVersionName(version: number): string {
  switch (version) {
    case 0x0002:
      return 'SSLv2';
    case 0x0300:
      return 'SSLv3';
    case 0x0301:
      return 'TLSv1.0';
    case 0x0302:
      return 'TLSv1.1';
    case 0x0303:
      return 'TLSv1.2';
    case 0x0304:
      return 'TLSv1.3';
    default:
      return '0x' + (version & 0xffff).toString(16).padStart(4, '0');
  }
}

/** GREASE values (RFC 8701): 0x0a0a, 0x1a1a, ... 0xfafa. */
export function isGreaseValue(v: number): boolean {
  return (v & 0x0f0f) === 0x0a0a && v >> 8 === (v & 0xff);
}

function u16(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

function u24(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 16) | ((b[i + 1] ?? 0) << 8) | (b[i + 2] ?? 0);
}

/** A handshake message body (after its 4-byte header); complete=false when cut at TLS_PROBE_MAX_BYTES. */
interface HandshakeBody {
  body: Uint8Array;
  complete: boolean;
}

const HS_NO = 0;
const HS_NEED_MORE = 1;

/** Record header check shared by every record we walk: type, major 3, minor <= 4, sane length. */
function recordHeaderOk(b: Uint8Array, off: number, type: number): boolean {
  if (b[off] !== type || b[off + 1] !== 3 || (b[off + 2] ?? 0) > 4) return false;
  const len = u16(b, off + 3);
  return len !== 0 && len <= MAX_RECORD_LEN;
}

/**
 * Extract the first handshake message from a run of handshake records, reassembling it when it is
 * fragmented over several records. `view` is at most TLS_PROBE_MAX_BYTES long.
 */
function readHandshake(
  view: Uint8Array,
  expectedType: number,
  minBodyLen: number,
): HandshakeBody | typeof HS_NO | typeof HS_NEED_MORE {
  const n = view.length;
  // Early, byte-by-byte rejection so that a 1-4 byte prefix is already decided when it can be.
  if (n === 0) return HS_NEED_MORE;
  if (view[0] !== CT_HANDSHAKE) return HS_NO;
  if (n < 2) return HS_NEED_MORE;
  if (view[1] !== 3) return HS_NO;
  if (n < 3) return HS_NEED_MORE;
  if ((view[2] ?? 0) > 4) return HS_NO;
  if (n < 5) return HS_NEED_MORE;
  if (!recordHeaderOk(view, 0, CT_HANDSHAKE)) return HS_NO;
  if (n < 6) return HS_NEED_MORE;
  if (view[5] !== expectedType) return HS_NO;

  // Fast path: the whole message is in the first record (by far the common case): no copy.
  const rec0 = u16(view, 3);
  const avail0 = Math.min(rec0, n - 5);
  if (avail0 >= 4) {
    const bodyLen = u24(view, 6);
    if (bodyLen < minBodyLen) return HS_NO;
    if (4 + bodyLen <= avail0) return { body: view.subarray(9, 9 + bodyLen), complete: true };
    // The first record runs to the end of the bytes (a big ClientHello arriving segment by segment):
    // nothing to gather from later records yet, so no copy either.
    if (5 + rec0 >= n) {
      if (n < TLS_PROBE_MAX_BYTES) return HS_NEED_MORE;
      return { body: view.subarray(9, 5 + avail0), complete: false };
    }
  }

  // Slow path: gather the record payloads until the message is complete.
  let buf: Uint8Array | undefined;
  let got = 0;
  let bodyLen = -1;
  let off = 0;
  while (off + 5 <= n) {
    if (!recordHeaderOk(view, off, CT_HANDSHAKE)) return HS_NO;
    const len = u16(view, off + 3);
    const take = Math.min(len, n - off - 5);
    if (take > 0) {
      if (buf === undefined) buf = new Uint8Array(n);
      buf.set(view.subarray(off + 5, off + 5 + take), got);
      got += take;
    }
    if (bodyLen < 0 && got >= 4) {
      // buf is defined once got > 0.
      const b = buf as Uint8Array;
      if (b[0] !== expectedType) return HS_NO;
      bodyLen = u24(b, 1);
      if (bodyLen < minBodyLen) return HS_NO;
    }
    if (bodyLen >= 0 && got >= 4 + bodyLen) {
      return { body: (buf as Uint8Array).subarray(4, 4 + bodyLen), complete: true };
    }
    off += 5 + len;
  }
  // A record header cut in the middle: the bytes are still a valid prefix.
  if (off < n && n - off < 5) {
    // Check what we have of it so that obvious garbage is rejected early.
    if (view[off] !== CT_HANDSHAKE) return HS_NO;
    if (off + 1 < n && view[off + 1] !== 3) return HS_NO;
    if (off + 2 < n && (view[off + 2] ?? 0) > 4) return HS_NO;
  }
  if (n < TLS_PROBE_MAX_BYTES) return HS_NEED_MORE;
  // Out of budget: report what we have when at least the message header was seen.
  if (bodyLen < 0 || buf === undefined) return HS_NO;
  return { body: buf.subarray(4, got), complete: false };
}

/** Mutable scratch filled by the extension walkers; one per call, no closures. */
interface ClientExtensions {
  sni: string | undefined;
  alpn: string[];
  maxVersion: number; // -1 when no non-GREASE supported_versions entry
}

function readSni(b: Uint8Array, start: number, end: number, out: ClientExtensions): void {
  if (out.sni !== undefined || end - start < 2) return;
  const listEnd = Math.min(start + 2 + u16(b, start), end);
  let q = start + 2;
  while (q + 3 <= listEnd) {
    const nameType = b[q] ?? 0;
    const nameLen = u16(b, q + 1);
    q += 3;
    if (q + nameLen > listEnd) return;
    if (nameType === 0 && nameLen > 0) {
      out.sni = utf8.decode(b.subarray(q, q + Math.min(nameLen, TLS_MAX_SNI_BYTES)));
      return;
    }
    q += nameLen;
  }
}

function readAlpnList(b: Uint8Array, start: number, end: number, out: string[], max: number): void {
  if (end - start < 2) return;
  const listEnd = Math.min(start + 2 + u16(b, start), end);
  let q = start + 2;
  while (q < listEnd && out.length < max) {
    const len = b[q] ?? 0;
    q += 1;
    if (len === 0 || q + len > listEnd) return;
    out.push(utf8.decode(b.subarray(q, q + len)));
    q += len;
  }
}

function readClientVersions(b: Uint8Array, start: number, end: number, out: ClientExtensions): void {
  if (end - start < 1) return;
  const vecEnd = Math.min(start + 1 + (b[start] ?? 0), end);
  for (let q = start + 1; q + 2 <= vecEnd; q += 2) {
    const v = u16(b, q);
    if (!isGreaseValue(v) && v > out.maxVersion) out.maxVersion = v;
  }
}

/**
 * Walk the extensions block starting at `p` (the 2-byte total length). Returns false when the framing
 * is inconsistent in a complete message (the caller then answers 'no').
 */
function walkClientExtensions(b: Uint8Array, p: number, complete: boolean, out: ClientExtensions): boolean {
  const L = b.length;
  if (p === L) return true; // no extensions (SSLv3 / early TLS)
  if (L - p < 2) return !complete;
  let end = p + 2 + u16(b, p);
  p += 2;
  if (end > L) {
    if (complete) return false;
    end = L;
  }
  while (p + 4 <= end) {
    const type = u16(b, p);
    const len = u16(b, p + 2);
    p += 4;
    if (p + len > end) return !complete;
    if (type === EXT_SERVER_NAME) readSni(b, p, p + len, out);
    else if (type === EXT_ALPN) {
      if (out.alpn.length === 0) readAlpnList(b, p, p + len, out.alpn, TLS_MAX_ALPN_ENTRIES);
    } else if (type === EXT_SUPPORTED_VERSIONS) readClientVersions(b, p, p + len, out);
    p += len;
  }
  return !complete || p === end;
}

/** SSLv2-compatible ClientHello (2-byte record header with the high bit set). */
function probeSslv2ClientHello(b: Uint8Array): ProbeResult<TlsClientHelloInfo> {
  const n = b.length;
  if (n < 2) return NEED_MORE;
  const recLen = (((b[0] ?? 0) & 0x7f) << 8) | (b[1] ?? 0);
  if (n < 3) return NEED_MORE;
  if (b[2] !== 1) return NO;
  if (n < 4) return NEED_MORE;
  if (b[3] !== 0 && b[3] !== 3) return NO;
  if (n < 5) return NEED_MORE;
  const version = u16(b, 3);
  if (version !== 0x0002 && (version < 0x0300 || version > 0x0304)) return NO;
  if (n < 11) return NEED_MORE;
  const csLen = u16(b, 5);
  const sidLen = u16(b, 7);
  const chLen = u16(b, 9);
  if (csLen === 0 || csLen % 3 !== 0) return NO;
  if (sidLen !== 0 && sidLen !== 16) return NO;
  if (chLen < 16 || chLen > 32) return NO;
  if (recLen !== 9 + csLen + sidLen + chLen) return NO;
  const name = tlsVersionName(version);
  return { status: 'match', info: { legacyVersion: name, maxVersion: name, alpn: [] } };
}

/**
 * Probe the client's first bytes for a TLS ClientHello (possibly fragmented over several handshake
 * records) or an SSLv2-compatible ClientHello.
 */
export function probeTlsClientHello(bytes: Uint8Array): ProbeResult<TlsClientHelloInfo> {
  const view = bytes.length > TLS_PROBE_MAX_BYTES ? bytes.subarray(0, TLS_PROBE_MAX_BYTES) : bytes;
  if (view.length > 0 && ((view[0] ?? 0) & 0x80) !== 0) return probeSslv2ClientHello(view);
  const hs = readHandshake(view, HS_CLIENT_HELLO, MIN_CLIENT_HELLO_BODY);
  if (hs === HS_NO) return NO;
  if (hs === HS_NEED_MORE) return NEED_MORE;
  const b = hs.body;
  const L = b.length;
  if (L < 35 || b[0] !== 3) return NO;
  const legacy = u16(b, 0);
  let p = 34;
  const sidLen = b[p] ?? 0;
  if (sidLen > 32) return NO;
  p += 1 + sidLen;
  if (p + 2 > L) return NO;
  const csLen = u16(b, p);
  if (csLen < 2 || (csLen & 1) !== 0) return NO;
  p += 2 + csLen;
  if (p + 1 > L) return NO;
  const compLen = b[p] ?? 0;
  if (compLen < 1) return NO;
  p += 1 + compLen;
  if (p > L) return NO;

  const ext: ClientExtensions = { sni: undefined, alpn: [], maxVersion: -1 };
  if (!walkClientExtensions(b, p, hs.complete, ext)) return NO;
  const legacyVersion = tlsVersionName(legacy);
  const info: TlsClientHelloInfo = {
    legacyVersion,
    maxVersion: ext.maxVersion >= 0 ? tlsVersionName(ext.maxVersion) : legacyVersion,
    alpn: ext.alpn,
  };
  if (ext.sni !== undefined) info.sni = ext.sni;
  if (!hs.complete) info.truncated = true;
  return { status: 'match', info };
}

function probeTlsAlert(b: Uint8Array): ProbeResult<TlsServerHelloInfo> {
  const n = b.length;
  if (n < 2) return NEED_MORE;
  if (b[1] !== 3) return NO;
  if (n < 3) return NEED_MORE;
  if ((b[2] ?? 0) > 4) return NO;
  if (n < 5) return NEED_MORE;
  const len = u16(b, 3);
  if (len < 2 || len > MAX_RECORD_LEN) return NO;
  if (n < 6) return NEED_MORE;
  const level = b[5] ?? 0;
  if (level !== 1 && level !== 2) return NO;
  if (n < 7) return NEED_MORE;
  return {
    status: 'match',
    info: { version: tlsVersionName(u16(b, 1)), alert: b[6] ?? 0, alertLevel: level },
  };
}

function isHrrRandom(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 32; i++) if (b[off + i] !== HRR_RANDOM[i]) return false;
  return true;
}

/**
 * Probe the server's first bytes for a ServerHello (negotiated version, selected ALPN, HelloRetryRequest)
 * or an Alert record (handshake refused).
 */
export function probeTlsServerHello(bytes: Uint8Array): ProbeResult<TlsServerHelloInfo> {
  const view = bytes.length > TLS_PROBE_MAX_BYTES ? bytes.subarray(0, TLS_PROBE_MAX_BYTES) : bytes;
  if (view.length > 0 && view[0] === CT_ALERT) return probeTlsAlert(view);
  const hs = readHandshake(view, HS_SERVER_HELLO, MIN_SERVER_HELLO_BODY);
  if (hs === HS_NO) return NO;
  if (hs === HS_NEED_MORE) return NEED_MORE;
  // A ServerHello that does not fit in 16 KiB is not a ServerHello.
  if (!hs.complete) return NO;
  const b = hs.body;
  const L = b.length;
  if (L < MIN_SERVER_HELLO_BODY || b[0] !== 3) return NO;
  const legacy = u16(b, 0);
  const helloRetry = isHrrRandom(b, 2);
  let p = 34;
  const sidLen = b[p] ?? 0;
  if (sidLen > 32) return NO;
  p += 1 + sidLen + 3; // session id, cipher_suite(2), compression_method(1)
  if (p > L) return NO;

  let selected = -1;
  let alpn: string | undefined;
  if (p < L) {
    if (L - p < 2) return NO;
    const end = p + 2 + u16(b, p);
    if (end > L) return NO;
    p += 2;
    while (p + 4 <= end) {
      const type = u16(b, p);
      const len = u16(b, p + 2);
      p += 4;
      if (p + len > end) return NO;
      if (type === EXT_SUPPORTED_VERSIONS && len >= 2 && selected < 0) selected = u16(b, p);
      else if (type === EXT_ALPN && alpn === undefined && len >= 3) {
        const listLen = u16(b, p);
        const nameLen = b[p + 2] ?? 0;
        if (nameLen > 0 && 1 + nameLen <= listLen && 3 + nameLen <= len) {
          alpn = utf8.decode(b.subarray(p + 3, p + 3 + nameLen));
        }
      }
      p += len;
    }
    if (p !== end) return NO;
  }
  const info: TlsServerHelloInfo = { version: tlsVersionName(selected >= 0 ? selected : legacy) };
  if (alpn !== undefined) info.alpn = alpn;
  if (helloRetry) info.helloRetry = true;
  return { status: 'match', info };
}
