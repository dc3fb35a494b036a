import { describe, expect, it } from 'vitest';
import { HTTP2_MAX_FRAMES, HTTP2_PREFACE, http2FrameTypeName, probeHttp2Preface } from '../../src/classify/http2.js';
import { probeHttpRequest } from '../../src/classify/http.js';
import { probeTlsClientHello } from '../../src/classify/tls.js';
import type { ProbeResult } from '../../src/classify/probe.js';
import { tcpSegments, tcpStream } from '../helpers/captures.js';
import { corpusDescribe, corpusIt } from '../helpers/corpus.js';
import { Rng } from '../helpers/random.mjs';
import { ascii, concat, hex } from './bytes.js';

function matchInfo<T>(r: ProbeResult<T>): T {
  if (r.status !== 'match') throw new Error(`expected match, got ${r.status}`);
  return r.info;
}

corpusDescribe('probeHttp2Preface on real captures', () => {
  it('gRPC-Go unary call on [::1]:50051 (NULL link type, IPv6): preface then SETTINGS, ack, HEADERS, DATA...', () => {
    const s = tcpStream('packt_grpc_unary.pcapng', { srcPort: 65094, dstPort: 50051 });
    // tshark (decode as http2): 24-byte preface; SETTINGS; SETTINGS,HEADERS; DATA; PING; WINDOW_UPDATE,PING
    expect(matchInfo(probeHttp2Preface(s))).toEqual({
      frames: ['SETTINGS', 'SETTINGS', 'HEADERS', 'DATA', 'PING', 'WINDOW_UPDATE', 'PING'],
    });
    // The preface arrives alone in the first segment: a match with no frame yet.
    const first = tcpSegments('packt_grpc_unary.pcapng', { srcPort: 65094, dstPort: 50051 })[0] as Uint8Array;
    expect(first.length).toBe(24);
    expect(matchInfo(probeHttp2Preface(first))).toEqual({ frames: [] });
    // The server side starts with a SETTINGS frame, not the preface.
    expect(probeHttp2Preface(tcpStream('packt_grpc_unary.pcapng', { srcPort: 50051, dstPort: 65094 })).status).toBe('no');
  });

  it('nDPI http2.pcapng (SLL): preface, SETTINGS and WINDOW_UPDATE in the first 64-byte segment', () => {
    const first = tcpSegments('ndpi_http2_h2c.pcapng', { srcPort: 37824, dstPort: 29518 })[0] as Uint8Array;
    expect(first.length).toBe(64);
    expect(matchInfo(probeHttp2Preface(first))).toEqual({ frames: ['SETTINGS', 'WINDOW_UPDATE'] });
    const all = tcpStream('ndpi_http2_h2c.pcapng', { srcPort: 37824, dstPort: 29518 });
    expect(matchInfo(probeHttp2Preface(all)).frames).toEqual(['SETTINGS', 'WINDOW_UPDATE', 'HEADERS', 'DATA', 'SETTINGS']);
  });

  it('suricata http2-continuation: CONTINUATION frames are listed', () => {
    const s = tcpStream('sv_http2_continuation.pcap', { srcPort: 50321, dstPort: 8080 });
    expect(matchInfo(probeHttp2Preface(s)).frames).toEqual(['SETTINGS', 'SETTINGS', 'HEADERS', 'CONTINUATION', 'CONTINUATION']);
  });

  it('h2c via Upgrade: the client stream is HTTP/1 first, and the preface follows the request', () => {
    const s = tcpStream('sv_http2_h2c_upgrade.pcap', { srcPort: 58038, dstPort: 80 });
    expect(probeHttp2Preface(s).status).toBe('no');
    expect(probeHttpRequest(s).status).toBe('match');
    const after = s.subarray(Buffer.from(s).indexOf('\r\n\r\n') + 4);
    expect(matchInfo(probeHttp2Preface(after)).frames[0]).toBe('SETTINGS');
  });
});

describe('probeHttp2Preface: rules', () => {
  it('need-more on every strict prefix of the preface, match at 24 bytes', () => {
    expect(HTTP2_PREFACE.length).toBe(24);
    for (let k = 0; k < 24; k++) expect(probeHttp2Preface(HTTP2_PREFACE.subarray(0, k)).status, `prefix ${k}`).toBe('need-more');
    expect(matchInfo(probeHttp2Preface(HTTP2_PREFACE))).toEqual({ frames: [] });
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

  it('frames: a frame whose header is complete is listed even if its payload is not; at most 16', () => {
    const settings = hex('000006 04 00 00000000 000300000064');
    const partialHeaders = hex('000100 01 04 00000001 8286'); // 256-byte HEADERS, 2 bytes present
    expect(matchInfo(probeHttp2Preface(concat(HTTP2_PREFACE, settings, partialHeaders))).frames).toEqual(['SETTINGS', 'HEADERS']);
    expect(matchInfo(probeHttp2Preface(concat(HTTP2_PREFACE, settings, hex('00000008'))))).toEqual({ frames: ['SETTINGS'] });
    const pings: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) pings.push(hex('000008 06 00 00000000 0000000000000000'));
    expect(matchInfo(probeHttp2Preface(concat(HTTP2_PREFACE, ...pings))).frames).toEqual(new Array<string>(HTTP2_MAX_FRAMES).fill('PING'));
    expect(matchInfo(probeHttp2Preface(concat(HTTP2_PREFACE, hex('000000 0c 00 00000000')))).frames).toEqual(['0x0c']);
    expect(http2FrameTypeName(9)).toBe('CONTINUATION');
    expect(http2FrameTypeName(0xff)).toBe('0xff');
  });

  it('5,000 random buffers never throw (half after a real preface)', () => {
    const rng = new Rng(0x12c);
    const next = (): number => rng.u32();
    let matches = 0;
    for (let i = 0; i < 5000; i++) {
      let b = rng.bytes(next() % 400);
      if (i % 2 === 0) b = concat(HTTP2_PREFACE, b);
      const r = probeHttp2Preface(b);
      if (r.status === 'match') {
        matches++;
        expect(r.info.frames.length).toBeLessThanOrEqual(HTTP2_MAX_FRAMES);
      } else expect(r.status).toBe(b.length === 0 ? 'need-more' : 'no');
    }
    expect(matches).toBe(2500);
  });
});
