import { describe, expect, it } from 'vitest';
import { HTTP2_PREFACE, probeHttp2Preface } from '../../src/classify/http2.js';
import { probeHttpRequest } from '../../src/classify/http.js';
import { probeTlsClientHello } from '../../src/classify/tls.js';
import { tcpSegments, tcpStream } from '../helpers/captures.js';
import { corpusDescribe, corpusIt } from '../helpers/corpus.js';
import { Rng } from '../helpers/random.mjs';
import { ascii, concat, hex } from './bytes.js';

corpusDescribe('probeHttp2Preface on real captures', () => {
  it('gRPC-Go unary call on [::1]:50051 (NULL link type, IPv6): the client stream starts with the preface', () => {
    const s = tcpStream('packt_grpc_unary.pcapng', { srcPort: 65094, dstPort: 50051 });
    expect(probeHttp2Preface(s).status).toBe('match');
    // The preface arrives alone in the first segment: a match already.
    const first = tcpSegments('packt_grpc_unary.pcapng', { srcPort: 65094, dstPort: 50051 })[0] as Uint8Array;
    expect(first.length).toBe(24);
    expect(probeHttp2Preface(first).status).toBe('match');
    // The server side starts with a SETTINGS frame, not the preface.
    expect(probeHttp2Preface(tcpStream('packt_grpc_unary.pcapng', { srcPort: 50051, dstPort: 65094 })).status).toBe('no');
  });

  it('nDPI http2.pcapng (SLL): preface, SETTINGS and WINDOW_UPDATE in the first 64-byte segment', () => {
    const first = tcpSegments('ndpi_http2_h2c.pcapng', { srcPort: 37824, dstPort: 29518 })[0] as Uint8Array;
    expect(first.length).toBe(64);
    expect(probeHttp2Preface(first).status).toBe('match');
  });

  it('suricata http2-continuation: the client stream starts with the preface', () => {
    const s = tcpStream('sv_http2_continuation.pcap', { srcPort: 50321, dstPort: 8080 });
    expect(probeHttp2Preface(s).status).toBe('match');
  });

  it('h2c via Upgrade: the client stream is HTTP/1 first, and the preface follows the request', () => {
    const s = tcpStream('sv_http2_h2c_upgrade.pcap', { srcPort: 58038, dstPort: 80 });
    expect(probeHttp2Preface(s).status).toBe('no');
    expect(probeHttpRequest(s).status).toBe('match');
    const after = s.subarray(Buffer.from(s).indexOf('\r\n\r\n') + 4);
    expect(probeHttp2Preface(after).status).toBe('match');
  });
});

describe('probeHttp2Preface: rules', () => {
  it('need-more on every strict prefix of the preface, match at 24 bytes', () => {
    expect(HTTP2_PREFACE.length).toBe(24);
    for (let k = 0; k < 24; k++) expect(probeHttp2Preface(HTTP2_PREFACE.subarray(0, k)).status, `prefix ${k}`).toBe('need-more');
    expect(probeHttp2Preface(HTTP2_PREFACE).status).toBe('match');
  });

  corpusIt("'no' as soon as one byte differs", () => {
    for (let k = 0; k < 24; k++) {
      const b = HTTP2_PREFACE.slice(0, k + 1);
      b[k] = (b[k] ?? 0) ^ 0x20;
      expect(probeHttp2Preface(b).status, `byte ${k}`).toBe('no');
    }
    expect(probeHttp2Preface(ascii('GET / HTTP/1.1\r\n\r\n')).status).toBe('no');
    expect(probeHttp2Preface(ascii('PRI * HTTP/2.0\r\n\r\n\r\n')).status).toBe('no');
    expect(probeHttp2Preface(tcpStream('ndpi_chrome.pcap', { srcPort: 64393, dstPort: 443 })).status).toBe('no');
  });

  it('the preface is neither an HTTP/1 request nor a ClientHello', () => {
    expect(probeHttpRequest(HTTP2_PREFACE).status).toBe('no');
    expect(probeTlsClientHello(HTTP2_PREFACE).status).toBe('no');
  });

  it('whatever follows the preface (frames, a cut-off frame, garbage) still matches', () => {
    const settings = hex('000006 04 00 00000000 000300000064');
    const partialHeaders = hex('000100 01 04 00000001 8286'); // 256-byte HEADERS, 2 bytes present
    expect(probeHttp2Preface(concat(HTTP2_PREFACE, settings, partialHeaders)).status).toBe('match');
    expect(probeHttp2Preface(concat(HTTP2_PREFACE, hex('00000008'))).status).toBe('match');
    expect(probeHttp2Preface(concat(HTTP2_PREFACE, ascii('not a frame'))).status).toBe('match');
  });

  it('5,000 random buffers never throw (half after a real preface)', () => {
    const rng = new Rng(0x12c);
    const next = (): number => rng.u32();
    let matches = 0;
    for (let i = 0; i < 5000; i++) {
      let b = rng.bytes(next() % 400);
      if (i % 2 === 0) b = concat(HTTP2_PREFACE, b);
      const r = probeHttp2Preface(b);
      if (r.status === 'match') matches++;
      else expect(r.status).toBe(b.length === 0 ? 'need-more' : 'no');
    }
    expect(matches).toBe(2500);
  });
});
