import { describe, expect, it } from 'vitest';
import {
  TLS_PROBE_MAX_BYTES,
  isGreaseValue,
  probeTlsClientHello,
  probeTlsServerHello,
  tlsVersionName,
} from '../../src/classify/tls.js';
import type { ProbeResult, TlsClientHelloInfo, TlsServerHelloInfo } from '../../src/classify/probe.js';
import { tcpSegments, tcpStream } from '../helpers/captures.js';
import { corpusBeforeAll, corpusDescribe, corpusIt } from '../helpers/corpus.js';
import { Rng } from '../helpers/random.mjs';
import { clientHello, tlsExtension } from '../helpers/tls.js';
import { ascii, concat, hex } from './bytes.js';

function matchInfo<T>(r: ProbeResult<T>): T {
  if (r.status !== 'match') throw new Error(`expected match, got ${r.status}`);
  return r.info;
}

/** The first handshake message (4-byte header + body) of a stream whose first record holds all of it. */
function firstHandshakeMessage(stream: Uint8Array): Uint8Array {
  const recLen = ((stream[3] ?? 0) << 8) | (stream[4] ?? 0);
  const bodyLen = ((stream[6] ?? 0) << 16) | ((stream[7] ?? 0) << 8) | (stream[8] ?? 0);
  expect(4 + bodyLen).toBeLessThanOrEqual(recLen);
  return stream.slice(5, 5 + 4 + bodyLen);
}

/** Wrap a handshake message into handshake records whose payloads have the given sizes (last size repeats). */
function toRecords(msg: Uint8Array, sizes: number[], recordVersion = 0x0301): Uint8Array {
  const parts: Uint8Array[] = [];
  let off = 0;
  let i = 0;
  while (off < msg.length) {
    const size = Math.min(sizes[Math.min(i, sizes.length - 1)] ?? 1, msg.length - off);
    parts.push(Uint8Array.from([22, recordVersion >> 8, recordVersion & 0xff, size >> 8, size & 0xff]));
    parts.push(msg.subarray(off, off + size));
    off += size;
    i++;
  }
  return concat(...parts);
}

// Real client/server first bytes (one direction of a TCP connection, reassembled in order).
let curlClient: Uint8Array;
let curlServer: Uint8Array;
let chromeClient: Uint8Array;
let chromeServer: Uint8Array;
let hugeClient: Uint8Array;
let hrrClient: Uint8Array;
let hrrServer: Uint8Array;
corpusBeforeAll(() => {
  curlClient = tcpStream('ndpi_443-curl.pcap', { srcPort: 55523, dstPort: 443 });
  curlServer = tcpStream('ndpi_443-curl.pcap', { srcPort: 443, dstPort: 55523 });
  chromeClient = tcpStream('ndpi_chrome.pcap', { srcPort: 64393, dstPort: 443 });
  chromeServer = tcpStream('ndpi_chrome.pcap', { srcPort: 443, dstPort: 64393 });
  hugeClient = tcpStream('ndpi_tls_with_huge_ch.pcapng', { srcPort: 40640, dstPort: 443 });
  hrrClient = tcpStream('zeek_tls13_hrr.pcap', { srcPort: 63564, dstPort: 443 });
  hrrServer = tcpStream('zeek_tls13_hrr.pcap', { srcPort: 443, dstPort: 63564 });
});

const CURL_CH_LEN = 5 + 512; // one record of 512 bytes (tshark: tls.record.length 512)
const CHROME_CH_LEN = 5 + 512;
const HUGE_CH_LEN = 5 + 11418;

corpusDescribe('probeTlsClientHello on real captures', () => {
  it('curl to www.ntop.org: TLS 1.2, SNI, ALPN h2,http/1.1', () => {
    const info = matchInfo(probeTlsClientHello(curlClient));
    expect(info).toEqual({
      legacyVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      sni: 'www.ntop.org',
      alpn: ['h2', 'http/1.1'],
    });
  });

  it('Chrome: GREASE values in supported_versions are skipped, maxVersion TLSv1.3', () => {
    // supported_versions of this hello (tshark): 0x6a6a (GREASE), 0x0304, 0x0303, 0x0302, 0x0301
    expect(isGreaseValue(0x6a6a)).toBe(true);
    const info = matchInfo(probeTlsClientHello(chromeClient));
    expect(info).toEqual({
      legacyVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      sni: 'www.iit.cnr.it',
      alpn: ['h2', 'http/1.1'],
    });
  });

  it('Chrome: all six connections (each a different GREASE value) give the same answer', () => {
    for (const port of [64393, 64394, 64408, 64409, 64410, 64411]) {
      const info = matchInfo(probeTlsClientHello(tcpStream('ndpi_chrome.pcap', { srcPort: port, dstPort: 443 })));
      expect(info.maxVersion).toBe('TLSv1.3');
      expect(info.sni).toBe('www.iit.cnr.it');
      expect(info.alpn).toEqual(['h2', 'http/1.1']);
    }
  });

  it('huge 11.4 KB ClientHello over 12 TCP segments: no SNI, ALPN h2,http/1.1', () => {
    expect(hugeClient.length).toBeGreaterThanOrEqual(HUGE_CH_LEN);
    const info = matchInfo(probeTlsClientHello(hugeClient));
    expect(info).toEqual({ legacyVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', alpn: ['h2', 'http/1.1'] });
    expect(info.sni).toBeUndefined();
    expect(info.truncated).toBeUndefined();
  });

  it('huge ClientHello: need-more after each TCP segment until the last one arrives', () => {
    const segs = tcpSegments('ndpi_tls_with_huge_ch.pcapng', { srcPort: 40640, dstPort: 443 });
    let have = 0;
    let matchedAt = -1;
    for (let i = 0; i < segs.length && matchedAt < 0; i++) {
      have += (segs[i] as Uint8Array).length;
      const r = probeTlsClientHello(hugeClient.subarray(0, have));
      if (r.status === 'match') matchedAt = have;
      else expect(r.status, `after ${have} bytes`).toBe('need-more');
    }
    // 11 segments of 1024 bytes then one of 159 (tshark: frames 8..27).
    expect(matchedAt).toBe(11 * 1024 + 159);
    expect(matchedAt).toBe(HUGE_CH_LEN);
  });

  it('ECH over IPv6: the outer SNI is reported', () => {
    const s = tcpStream('ndpi_tls_ech.pcapng', { srcPort: 47460, dstPort: 443 });
    expect(matchInfo(probeTlsClientHello(s))).toEqual({
      legacyVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      sni: 'performance.radar.cloudflare.com',
      alpn: ['h2', 'http/1.1'],
    });
  });

  it('DNS-over-HTTPS: no SNI at all', () => {
    const s = tcpStream('ndpi_doh.pcapng', { srcPort: 35996, dstPort: 443 });
    const info = matchInfo(probeTlsClientHello(s));
    expect('sni' in info).toBe(false);
    expect(info.alpn).toEqual(['h2', 'http/1.1']);
    expect(info.maxVersion).toBe('TLSv1.3');
  });

  it('other real hellos: SLL2 OpenJDK, raw-IP, unidirectional, minimal 41-byte hello without extensions', () => {
    const jdk = matchInfo(probeTlsClientHello(tcpStream('zeek_tls_sll2_openjdk.pcap', { srcPort: 55058, dstPort: 443 })));
    expect(jdk).toEqual({ legacyVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', sni: 'zeek.org', alpn: ['h2', 'http/1.1'] });
    const raw = matchInfo(probeTlsClientHello(tcpStream('sv_tls_alpn_rawip.pcap', { srcPort: 55349, dstPort: 443 })));
    expect(raw.sni).toBe('p130-contacts.icloud.com');
    const uni = matchInfo(
      probeTlsClientHello(tcpStream('ndpi_tls_1.3_unidirectional_client.pcapng', { srcPort: 39750, dstPort: 443 })),
    );
    expect(uni).toEqual({ legacyVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', sni: 'www.google.com', alpn: ['http/1.1'] });
    const minimal = tcpStream('zeek_tls_rawip_mldsa.pcap', { srcPort: 55001, dstPort: 443 });
    expect(minimal.length).toBe(50); // record of 45: handshake header + 41-byte body, no extensions
    expect(matchInfo(probeTlsClientHello(minimal))).toEqual({ legacyVersion: 'TLSv1.2', maxVersion: 'TLSv1.2', alpn: [] });
  });

  it('TLS inside an HTTP CONNECT tunnel (bytes after the proxy request)', () => {
    const s = tcpStream('zeek_http_connect_null.pcap', { srcPort: 52522, dstPort: 80 });
    expect(probeTlsClientHello(s).status).toBe('no'); // starts with "CONNECT"
    const text = Buffer.from(s).toString('latin1');
    const tls = s.subarray(text.indexOf('\r\n\r\n') + 4);
    expect(matchInfo(probeTlsClientHello(tls))).toEqual({
      legacyVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      sni: 'secure.newegg.com',
      alpn: ['h2', 'spdy/3.1', 'http/1.1'],
    });
  });

  it('need-more on every strict prefix of a real ClientHello, match exactly at its end', () => {
    for (const [stream, len] of [
      [chromeClient, CHROME_CH_LEN],
      [curlClient, CURL_CH_LEN],
    ] as const) {
      for (let k = 0; k < len; k++) {
        expect(probeTlsClientHello(stream.subarray(0, k)).status, `prefix ${k}`).toBe('need-more');
      }
      expect(probeTlsClientHello(stream.subarray(0, len)).status).toBe('match');
    }
  });

  it('the answer does not depend on what follows the ClientHello', () => {
    const alone = matchInfo(probeTlsClientHello(chromeClient.subarray(0, CHROME_CH_LEN)));
    const withCcs = concat(chromeClient.subarray(0, CHROME_CH_LEN), hex('140303000101'), new Rng(7).bytes(100));
    expect(matchInfo(probeTlsClientHello(withCcs))).toEqual(alone);
  });
});

corpusDescribe('probeTlsClientHello: handshake message fragmented over several records', () => {
  it('Chrome hello re-split into records of 100 bytes gives the same info', () => {
    const msg = firstHandshakeMessage(chromeClient);
    const recs = toRecords(msg, [100]);
    expect(recs.length).toBe(msg.length + 5 * Math.ceil(msg.length / 100));
    expect(matchInfo(probeTlsClientHello(recs))).toEqual(matchInfo(probeTlsClientHello(chromeClient)));
  });

  it('handshake header itself split over records of 1, 2 and 3 bytes', () => {
    const msg = firstHandshakeMessage(curlClient);
    const recs = toRecords(msg, [1, 2, 3, 200]);
    expect(matchInfo(probeTlsClientHello(recs))).toEqual({
      legacyVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      sni: 'www.ntop.org',
      alpn: ['h2', 'http/1.1'],
    });
  });

  it('huge hello in 1 KiB records: need-more on every strict prefix, match at the end', () => {
    const msg = firstHandshakeMessage(hugeClient);
    expect(msg.length).toBe(4 + 11414);
    const recs = toRecords(msg, [1024]);
    for (let k = 0; k < recs.length; k++) {
      const r = probeTlsClientHello(recs.subarray(0, k));
      if (r.status !== 'need-more') throw new Error(`prefix ${k}: ${r.status}`);
    }
    expect(matchInfo(probeTlsClientHello(recs))).toEqual({
      legacyVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      alpn: ['h2', 'http/1.1'],
    });
  });

  it("a non-handshake record before the message is complete is 'no'", () => {
    const msg = firstHandshakeMessage(chromeClient);
    const first = toRecords(msg.subarray(0, 200), [200]);
    const alert = hex('1503030002022f');
    expect(probeTlsClientHello(concat(first, alert, toRecords(msg.subarray(200), [1000]))).status).toBe('no');
    // A record header with major version 2 in the middle: 'no' too.
    const bad = toRecords(msg.subarray(200), [1000]);
    bad[1] = 2;
    expect(probeTlsClientHello(concat(first, bad)).status).toBe('no');
    // ...but a cut-off second record header is still a valid prefix.
    expect(probeTlsClientHello(concat(first, hex('1603')))).toEqual({ status: 'need-more' });
    expect(probeTlsClientHello(concat(first, hex('17')))).toEqual({ status: 'no' });
  });

  it('a hello larger than 16 KiB: need-more up to 16 KiB - 1, then a truncated match', () => {
    // Chrome's hello plus a 17,000-byte padding extension at the end, in records of 16,000 bytes.
    const msg = firstHandshakeMessage(chromeClient);
    const body = msg.subarray(4);
    let p = 34;
    p += 1 + (body[p] ?? 0);
    p += 2 + (((body[p] ?? 0) << 8) | (body[p + 1] ?? 0));
    p += 1 + (body[p] ?? 0);
    const extLen = ((body[p] ?? 0) << 8) | (body[p + 1] ?? 0);
    expect(p + 2 + extLen).toBe(body.length);
    const pad = 17_000;
    const newExtLen = extLen + 4 + pad;
    const newBody = concat(
      body.subarray(0, p),
      Uint8Array.from([newExtLen >> 8, newExtLen & 0xff]),
      body.subarray(p + 2),
      Uint8Array.from([0x00, 0x15, pad >> 8, pad & 0xff]),
      new Uint8Array(pad),
    );
    const bigMsg = concat(Uint8Array.from([1, newBody.length >> 16, (newBody.length >> 8) & 0xff, newBody.length & 0xff]), newBody);
    const recs = toRecords(bigMsg, [16_000]);
    expect(recs.length).toBeGreaterThan(TLS_PROBE_MAX_BYTES);
    expect(probeTlsClientHello(recs.subarray(0, TLS_PROBE_MAX_BYTES - 1)).status).toBe('need-more');
    const expected: TlsClientHelloInfo = {
      legacyVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      sni: 'www.iit.cnr.it',
      alpn: ['h2', 'http/1.1'],
      truncated: true,
    };
    expect(matchInfo(probeTlsClientHello(recs.subarray(0, TLS_PROBE_MAX_BYTES)))).toEqual(expected);
    // Only the first 16 KiB are looked at, whatever is given.
    expect(matchInfo(probeTlsClientHello(recs))).toEqual(expected);
    // The same in a single record of 17.5 KB (within the 2^14+2048 record limit).
    const oneRecord = toRecords(bigMsg, [bigMsg.length]);
    expect(matchInfo(probeTlsClientHello(oneRecord))).toEqual(expected);
  });
});

describe("probeTlsClientHello: 'no' and edge cases", () => {
  corpusIt("'no' on other protocols' first bytes", () => {
    expect(probeTlsClientHello(ascii('GET / HTTP/1.1\r\nHost: x\r\n\r\n')).status).toBe('no');
    expect(probeTlsClientHello(ascii('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')).status).toBe('no');
    expect(probeTlsClientHello(ascii('SSH-2.0-OpenSSH_9.6\r\n')).status).toBe('no');
    expect(probeTlsClientHello(curlServer).status).toBe('no'); // a ServerHello (handshake type 2)
    expect(probeTlsClientHello(hex('170303001000')).status).toBe('no'); // application data
  });

  it("'no' as soon as the first bytes rule TLS out; need-more before", () => {
    expect(probeTlsClientHello(new Uint8Array(0)).status).toBe('need-more');
    expect(probeTlsClientHello(hex('16')).status).toBe('need-more');
    expect(probeTlsClientHello(hex('1602')).status).toBe('no'); // major 2
    expect(probeTlsClientHello(hex('1603')).status).toBe('need-more');
    expect(probeTlsClientHello(hex('160301')).status).toBe('need-more');
    expect(probeTlsClientHello(hex('16030100')).status).toBe('need-more');
    expect(probeTlsClientHello(hex('1603010000')).status).toBe('no'); // empty record
    expect(probeTlsClientHello(hex('1603010200')).status).toBe('need-more');
    expect(probeTlsClientHello(hex('160301020002')).status).toBe('no'); // handshake type 2
    expect(probeTlsClientHello(hex('16030102000b')).status).toBe('no'); // Certificate
    expect(probeTlsClientHello(hex('16030102000100')).status).toBe('need-more');
    expect(probeTlsClientHello(hex('160301020001000010')).status).toBe('no'); // body 16 < 41
  });

  corpusIt("'no' when the ClientHello framing is inconsistent", () => {
    const ch = chromeClient.slice(0, CHROME_CH_LEN);
    // session id length 33
    const sid = ch.slice();
    sid[5 + 4 + 34] = 33;
    expect(probeTlsClientHello(sid).status).toBe('no');
    // legacy_version major 2
    const ver = ch.slice();
    ver[9] = 2;
    expect(probeTlsClientHello(ver).status).toBe('no');
    // extensions total length one byte too long
    const body = ch.subarray(9);
    let p = 34;
    p += 1 + (body[p] ?? 0);
    p += 2 + (((body[p] ?? 0) << 8) | (body[p + 1] ?? 0));
    p += 1 + (body[p] ?? 0);
    const ext = ch.slice();
    ext[9 + p + 1] = (ext[9 + p + 1] ?? 0) + 1;
    expect(probeTlsClientHello(ext).status).toBe('no');
  });

  it('SNI longer than 255 bytes is cut to 255; strings are not sanitised', () => {
    const name = 'a'.repeat(300);
    const weird = 'x\u0000\u001b[31m\u00e9'; // NUL, ESC sequence, é in UTF-8
    const mk = (sni: Uint8Array): Uint8Array => clientHello({ sni });
    expect(matchInfo(probeTlsClientHello(mk(ascii(name)))).sni).toBe('a'.repeat(255));
    expect(matchInfo(probeTlsClientHello(mk(new TextEncoder().encode(weird)))).sni).toBe(weird);
    // Invalid UTF-8 becomes U+FFFD rather than throwing.
    expect(matchInfo(probeTlsClientHello(mk(hex('61ff62')))).sni).toBe('a\ufffdb');
  });

  it('SSLv2-compatible ClientHello: match with the version it offers, no SNI', () => {
    // 2-byte header (high bit) + CLIENT-HELLO, version 3.1, 6 bytes of cipher specs, no session id, 16-byte challenge
    const v2 = hex('801f 01 0301 0006 0000 0010 000004 010080') ;
    const hello = concat(v2, new Uint8Array(16).fill(0x42));
    expect(hello.length).toBe(2 + 31);
    expect(matchInfo(probeTlsClientHello(hello))).toEqual({ legacyVersion: 'TLSv1.0', maxVersion: 'TLSv1.0', alpn: [] });
    for (let k = 0; k < 11; k++) expect(probeTlsClientHello(hello.subarray(0, k)).status, `prefix ${k}`).toBe('need-more');
    const sslv2 = hello.slice();
    sslv2[3] = 0x00;
    sslv2[4] = 0x02;
    expect(matchInfo(probeTlsClientHello(sslv2)).legacyVersion).toBe('SSLv2');
    const badChallenge = hello.slice();
    badChallenge[10] = 8; // challenge length 8 < 16
    expect(probeTlsClientHello(badChallenge).status).toBe('no');
    const notHello = hello.slice();
    notHello[2] = 4; // SERVER-HELLO
    expect(probeTlsClientHello(notHello).status).toBe('no');
  });

  it('version names', () => {
    expect([0x0300, 0x0301, 0x0302, 0x0303, 0x0304].map(tlsVersionName)).toEqual([
      'SSLv3',
      'TLSv1.0',
      'TLSv1.1',
      'TLSv1.2',
      'TLSv1.3',
    ]);
    expect(tlsVersionName(0x7f1c)).toBe('0x7f1c');
    expect(tlsVersionName(0x0a)).toBe('0x000a');
    expect([0x0a0a, 0x1a1a, 0xfafa].every(isGreaseValue)).toBe(true);
    expect([0x0304, 0x0a1a, 0x1a0a, 0x0b0b].some(isGreaseValue)).toBe(false);
  });

  it('a ClientHello whose supported_versions holds only GREASE falls back to legacyVersion', () => {
    const hello = clientHello({ extensions: [tlsExtension(43, [2, 0x2a, 0x2a])] });
    expect(matchInfo(probeTlsClientHello(hello))).toEqual({
      legacyVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      alpn: [],
    });
  });

  it("the tests' ClientHello builder (test/helpers/tls.ts) writes what it is asked for", () => {
    expect(matchInfo(probeTlsClientHello(clientHello({ sni: 'researcher', alpn: ['h2', 'http/1.1'] })))).toEqual({
      legacyVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.2',
      sni: 'researcher',
      alpn: ['h2', 'http/1.1'],
    });
    expect(matchInfo(probeTlsClientHello(clientHello({ sni: 'researcher', tls13: true })))).toEqual({
      legacyVersion: 'TLSv1.2',
      maxVersion: 'TLSv1.3',
      sni: 'researcher',
      alpn: [],
    });
  });
});

describe('probeTlsServerHello', () => {
  corpusIt('curl: TLS 1.2 ServerHello selecting h2', () => {
    expect(matchInfo(probeTlsServerHello(curlServer))).toEqual({ version: 'TLSv1.2', alpn: 'h2' });
  });

  corpusIt('Chrome: TLS 1.3 from supported_versions (legacy field says 1.2), no HRR', () => {
    const info = matchInfo(probeTlsServerHello(chromeServer));
    expect(info).toEqual({ version: 'TLSv1.3' });
    expect(info.helloRetry).toBeUndefined();
  });

  corpusIt('zeek hrr.pcap: the server answers the first hello with a HelloRetryRequest', () => {
    expect(matchInfo(probeTlsServerHello(hrrServer))).toEqual({ version: 'TLSv1.3', helloRetry: true });
    // The first ClientHello of that connection (the second one follows a CCS record).
    expect(matchInfo(probeTlsClientHello(hrrClient))).toEqual({ legacyVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', alpn: [] });
  });

  corpusIt('other real server hellos', () => {
    const icloud = tcpStream('sv_tls_alpn_rawip.pcap', { srcPort: 443, dstPort: 55349 });
    expect(matchInfo(probeTlsServerHello(icloud))).toEqual({ version: 'TLSv1.2', alpn: 'http/1.1' });
    // 38-byte ServerHello without extensions, in the same record as a 4 KB Certificate.
    const mldsa = tcpStream('zeek_tls_rawip_mldsa.pcap', { srcPort: 443, dstPort: 55001 });
    expect(matchInfo(probeTlsServerHello(mldsa))).toEqual({ version: 'TLSv1.2' });
    const psk = tcpStream('zeek_tls13_psk.pcap', { srcPort: 443, dstPort: 54220 });
    expect(matchInfo(probeTlsServerHello(psk))).toEqual({ version: 'TLSv1.3' });
  });

  corpusIt('need-more on every strict prefix of a real ServerHello message, and the same answer when re-split', () => {
    const msg = firstHandshakeMessage(curlServer);
    const end = 5 + msg.length;
    for (let k = 0; k < end; k++) {
      expect(probeTlsServerHello(curlServer.subarray(0, k)).status, `prefix ${k}`).toBe('need-more');
    }
    expect(matchInfo(probeTlsServerHello(curlServer.subarray(0, end)))).toEqual({ version: 'TLSv1.2', alpn: 'h2' });
    expect(matchInfo(probeTlsServerHello(toRecords(msg, [7, 30])))).toEqual({ version: 'TLSv1.2', alpn: 'h2' });
  });

  it('an Alert as the first server record: match with the alert code', () => {
    // fatal handshake_failure (40), record version TLS 1.2
    expect(matchInfo(probeTlsServerHello(hex('15030300020228')))).toEqual({ version: 'TLSv1.2', alert: 40, alertLevel: 2 });
    // fatal protocol_version (70) from a server that speaks TLS 1.0 records
    expect(matchInfo(probeTlsServerHello(hex('15030100020246')))).toEqual({ version: 'TLSv1.0', alert: 70, alertLevel: 2 });
    const alert = hex('15030300020228');
    for (let k = 0; k < alert.length; k++) expect(probeTlsServerHello(alert.subarray(0, k)).status).toBe('need-more');
    expect(probeTlsServerHello(hex('15030300020528')).status).toBe('no'); // level 5
    expect(probeTlsServerHello(hex('15020300020228')).status).toBe('no'); // major 2
    expect(probeTlsServerHello(hex('15030300010228')).status).toBe('no'); // 1-byte record
  });

  corpusIt("'no' on client bytes and other protocols", () => {
    expect(probeTlsServerHello(chromeClient).status).toBe('no');
    expect(probeTlsServerHello(ascii('HTTP/1.1 200 OK\r\n\r\n')).status).toBe('no');
    expect(probeTlsServerHello(ascii('SSH-2.0-OpenSSH_9.6\r\n')).status).toBe('no');
    expect(probeTlsServerHello(hex('170303001000')).status).toBe('no');
  });

  corpusIt('one byte changed in the HelloRetryRequest random: an ordinary ServerHello', () => {
    const msg = firstHandshakeMessage(hrrServer);
    const plain = msg.slice();
    plain[4 + 2] = (plain[4 + 2] ?? 0) ^ 0xff; // first byte of the random
    const info = matchInfo(probeTlsServerHello(toRecords(plain, [plain.length], 0x0303)));
    expect(info.helloRetry).toBeUndefined();
    expect(info.version).toBe('TLSv1.3');
  });
});

describe('TLS probes never throw', () => {
  const statuses = new Set(['match', 'no', 'need-more']);
  const check = (r: ProbeResult<TlsClientHelloInfo> | ProbeResult<TlsServerHelloInfo>): void => {
    if (!statuses.has(r.status)) throw new Error(`bad status ${String(r.status)}`);
  };

  it('5,000 random buffers per probe (some with a TLS-looking start)', () => {
    const rng = new Rng(0x5eed);
    const next = (): number => rng.u32();
    let matches = 0;
    for (let i = 0; i < 5000; i++) {
      const len = next() % 3 === 0 ? next() % 20_000 : next() % 600;
      const b = rng.bytes(len);
      if (i % 2 === 0 && len >= 6) {
        b[0] = i % 4 === 0 ? 22 : 21;
        b[1] = 3;
        b[2] = next() % 5;
        b[5] = (i >> 1) % 2 === 0 ? 1 : 2;
      }
      const c = probeTlsClientHello(b);
      const s = probeTlsServerHello(b);
      check(c);
      check(s);
      if (c.status === 'match') matches++;
    }
    // Random bytes are not ClientHellos: at most a handful of SSLv2-shaped accidents.
    expect(matches).toBeLessThan(5);
  });

  corpusIt('5,000 mutations of real hellos (1-8 random bytes changed, random cut)', () => {
    const rng = new Rng(42);
    const next = (): number => rng.u32();
    const sources = [chromeClient.subarray(0, CHROME_CH_LEN), curlServer.subarray(0, 200), toRecords(firstHandshakeMessage(curlClient), [50])];
    for (let i = 0; i < 5000; i++) {
      const src = sources[i % sources.length] as Uint8Array;
      const b = src.slice(0, next() % (src.length + 1));
      const flips = 1 + (next() % 8);
      for (let f = 0; f < flips && b.length > 0; f++) b[next() % b.length] = next() & 0xff;
      check(probeTlsClientHello(b));
      check(probeTlsServerHello(b));
    }
  });
});
