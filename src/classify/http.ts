/**
 * HTTP/1.x probes: request (client's first bytes) and response status line (server's first bytes).
 *
 * Pure, never throw, look at no more than HTTP_PROBE_MAX_BYTES. Header values are decoded as UTF-8
 * with replacement characters and are NOT sanitised here (escaping is done at output).
 * "PRI * HTTP/2.0" is not HTTP/1: see http2.ts.
 */
import type { HttpRequestInfo, HttpResponseInfo, ProbeResult } from './probe.js';

/** Bytes of one direction an HTTP probe looks at. */
export const HTTP_PROBE_MAX_BYTES = 8 * 1024;
/** Longest Host / Upgrade value kept (in bytes); longer values are cut. */
export const HTTP_MAX_HEADER_VALUE_BYTES = 1024;

const NO: { status: 'no' } = Object.freeze({ status: 'no' as const });
const NEED_MORE: { status: 'need-more' } = Object.freeze({ status: 'need-more' as const });

const utf8 = new TextDecoder('utf-8', { fatal: false });

const SP = 0x20;
const HT = 0x09;
const CR = 0x0d;
const LF = 0x0a;
const COLON = 0x3a;

const METHOD_NAMES = ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE'] as const;
const METHOD_BYTES: readonly Uint8Array[] = METHOD_NAMES.map((m) => Uint8Array.from(m, (c) => c.charCodeAt(0)));
/** "HTTP/1." */
const HTTP1_PREFIX = Uint8Array.from([0x48, 0x54, 0x54, 0x50, 0x2f, 0x31, 0x2e]);
const HOST = Uint8Array.from([0x68, 0x6f, 0x73, 0x74]); // "host"
const UPGRADE = Uint8Array.from([0x75, 0x70, 0x67, 0x72, 0x61, 0x64, 0x65]); // "upgrade"

const VERSION_NAMES: readonly string[] = ['HTTP/1.0', 'HTTP/1.1', 'HTTP/1.2', 'HTTP/1.3', 'HTTP/1.4', 'HTTP/1.5', 'HTTP/1.6', 'HTTP/1.7', 'HTTP/1.8', 'HTTP/1.9'];

function isDigit(c: number | undefined): c is number {
  return c !== undefined && c >= 0x30 && c <= 0x39;
}

/**
 * Match "HTTP/1.<digit>" at `i`. Returns the digit (0..9), -1 for 'no', -2 for need-more.
 */
function matchHttp1Version(b: Uint8Array, i: number): number {
  const n = b.length;
  for (let k = 0; k < HTTP1_PREFIX.length; k++) {
    if (i + k >= n) return -2;
    if (b[i + k] !== HTTP1_PREFIX[k]) return -1;
  }
  const d = b[i + HTTP1_PREFIX.length];
  if (d === undefined) return -2;
  if (!isDigit(d)) return -1;
  return d - 0x30;
}

/** Case-insensitive compare of b[start..end) with a lower-case ASCII name. */
function nameEquals(b: Uint8Array, start: number, end: number, lower: Uint8Array): boolean {
  if (end - start !== lower.length) return false;
  for (let k = 0; k < lower.length; k++) {
    const c = b[start + k] ?? 0;
    const l = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    if (l !== lower[k]) return false;
  }
  return true;
}

function headerValue(b: Uint8Array, start: number, end: number): string {
  while (start < end && (b[start] === SP || b[start] === HT)) start++;
  while (end > start && (b[end - 1] === SP || b[end - 1] === HT)) end--;
  return utf8.decode(b.subarray(start, Math.min(end, start + HTTP_MAX_HEADER_VALUE_BYTES)));
}

/**
 * Probe the client's first bytes for an HTTP/1.x request: request line, then the header block up to the
 * empty line (need-more until it ends, or a match with truncated=true at 8 KiB). Reads Host and Upgrade.
 */
export function probeHttpRequest(bytes: Uint8Array): ProbeResult<HttpRequestInfo> {
  const b = bytes.length > HTTP_PROBE_MAX_BYTES ? bytes.subarray(0, HTTP_PROBE_MAX_BYTES) : bytes;
  const n = b.length;
  if (n === 0) return NEED_MORE;

  // Method followed by one SP.
  let method = -1;
  let prefix = false;
  for (let m = 0; m < METHOD_BYTES.length; m++) {
    const mb = METHOD_BYTES[m] as Uint8Array;
    const cmp = Math.min(n, mb.length);
    let k = 0;
    while (k < cmp && b[k] === mb[k]) k++;
    if (k < cmp) continue;
    if (n <= mb.length) prefix = true;
    else if (b[mb.length] === SP) {
      method = m;
      break;
    }
  }
  if (method < 0) return prefix ? NEED_MORE : NO;
  const methodName = METHOD_NAMES[method] as string;
  let i = methodName.length + 1;

  // Request target: visible characters (bytes >= 0x80 tolerated), ended by one SP.
  const targetStart = i;
  while (i < n) {
    const c = b[i] ?? 0;
    if (c === SP) break;
    if (c < 0x21 || c === 0x7f) return NO;
    i++;
  }
  if (i >= n) return n >= HTTP_PROBE_MAX_BYTES ? NO : NEED_MORE;
  if (i === targetStart) return NO;
  const targetEnd = i;
  i++;

  const minor = matchHttp1Version(b, i);
  if (minor === -1) return NO;
  if (minor === -2) return NEED_MORE;
  i += HTTP1_PREFIX.length + 1;
  if (i >= n) return NEED_MORE;
  if (b[i] === CR) {
    i++;
    if (i >= n) return NEED_MORE;
  }
  if (b[i] !== LF) return NO;
  i++;

  const info: HttpRequestInfo = {
    method: methodName,
    target: utf8.decode(b.subarray(targetStart, targetEnd)),
    version: VERSION_NAMES[minor] as string,
  };

  // Header lines until the empty line. Malformed lines are skipped (leniency as in HTTP parsers).
  for (;;) {
    const lf = b.indexOf(LF, i);
    if (lf < 0) {
      if (n < HTTP_PROBE_MAX_BYTES) return NEED_MORE;
      info.truncated = true;
      break;
    }
    const lineEnd = lf > i && b[lf - 1] === CR ? lf - 1 : lf;
    if (lineEnd === i) break; // end of the header block
    const first = b[i];
    if (first !== SP && first !== HT) {
      let colon = i;
      while (colon < lineEnd && b[colon] !== COLON) colon++;
      if (colon < lineEnd) {
        if (info.host === undefined && nameEquals(b, i, colon, HOST)) {
          info.host = headerValue(b, colon + 1, lineEnd);
        } else if (info.upgrade === undefined && nameEquals(b, i, colon, UPGRADE)) {
          info.upgrade = headerValue(b, colon + 1, lineEnd);
        }
      }
    }
    i = lf + 1;
  }
  return { status: 'match', info };
}

/**
 * Probe the server's first bytes for an HTTP/1.x status line: "HTTP/1.x DDD" followed by SP, CR or LF.
 */
export function probeHttpResponse(bytes: Uint8Array): ProbeResult<HttpResponseInfo> {
  const b = bytes;
  const n = b.length;
  if (n === 0) return NEED_MORE;
  const minor = matchHttp1Version(b, 0);
  if (minor === -1) return NO;
  if (minor === -2) return NEED_MORE;
  let i = HTTP1_PREFIX.length + 1;
  if (i >= n) return NEED_MORE;
  if (b[i] !== SP) return NO;
  i++;
  let status = 0;
  for (let k = 0; k < 3; k++, i++) {
    const c = b[i];
    if (c === undefined) return NEED_MORE;
    if (!isDigit(c)) return NO;
    status = status * 10 + (c - 0x30);
  }
  if (status < 100) return NO;
  const after = b[i];
  if (after === undefined) return NEED_MORE;
  if (after !== SP && after !== CR && after !== LF) return NO;
  return { status: 'match', info: { version: VERSION_NAMES[minor] as string, status } };
}
