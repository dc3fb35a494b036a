import { describe, expect, it } from 'vitest';
import { HTTP_PROBE_MAX_BYTES, probeHttpRequest, probeHttpResponse } from '../../src/classify/http.js';
import type { ProbeResult } from '../../src/classify/probe.js';
import { tcpStream } from '../helpers/captures.js';
import { corpusBeforeAll, corpusDescribe, corpusIt } from '../helpers/corpus.js';
import { Rng } from '../helpers/random.mjs';
import { ascii, concat } from './bytes.js';

function matchInfo<T>(r: ProbeResult<T>): T {
  if (r.status !== 'match') throw new Error(`expected match, got ${r.status}`);
  return r.info;
}

let getClient: Uint8Array;
let getServer: Uint8Array;
let upgradeClient: Uint8Array;
let upgradeServer: Uint8Array;
corpusBeforeAll(() => {
  getClient = tcpStream('zeek_http_get.pcap', { srcPort: 59856, dstPort: 80 });
  getServer = tcpStream('zeek_http_get.pcap', { srcPort: 80, dstPort: 59856 });
  upgradeClient = tcpStream('sv_http2_h2c_upgrade.pcap', { srcPort: 58038, dstPort: 80 });
  upgradeServer = tcpStream('sv_http2_h2c_upgrade.pcap', { srcPort: 80, dstPort: 58038 });
});

corpusDescribe('probeHttpRequest on real captures', () => {
  it('zeek get.pcap: GET with Host (Host is the 3rd header)', () => {
    expect(getClient.length).toBe(136); // one segment, tshark tcp.len 136
    expect(matchInfo(probeHttpRequest(getClient))).toEqual({
      method: 'GET',
      target: '/download/CHANGES.bro-aux.txt',
      version: 'HTTP/1.1',
      host: 'bro.org',
    });
  });

  it('suricata h2c upgrade: Upgrade: h2c read; the HTTP/2 bytes that follow do not matter', () => {
    expect(upgradeClient.length).toBeGreaterThan(178); // 178-byte request, then the preface and frames
    expect(matchInfo(probeHttpRequest(upgradeClient))).toEqual({
      method: 'GET',
      target: '/robots.txt',
      version: 'HTTP/1.1',
      host: 'nghttp2.org',
      upgrade: 'h2c',
    });
  });

  it('other real requests: pcapng, IPv6 over NULL, SLL POST, CONNECT', () => {
    expect(matchInfo(probeHttpRequest(tcpStream('ndpi_http.pcapng', { srcPort: 42170, dstPort: 80 })))).toEqual({
      method: 'GET',
      target: '/',
      version: 'HTTP/1.1',
      host: 'google.com',
    });
    expect(matchInfo(probeHttpRequest(tcpStream('sv_http_ipv6_null.pcap', { srcPort: 55717, dstPort: 8000 }))).host).toBe(
      '[::1]:8000',
    );
    const post = matchInfo(probeHttpRequest(tcpStream('ndpi_log4j_sll.pcap', { srcPort: 1984, dstPort: 8080 })));
    expect([post.method, post.target, post.host]).toEqual(['POST', '/log4shell/login', '192.168.13.31:8080']);
    expect(matchInfo(probeHttpRequest(tcpStream('zeek_http_connect_null.pcap', { srcPort: 52522, dstPort: 80 })))).toEqual({
      method: 'CONNECT',
      target: 'secure.newegg.com:443',
      version: 'HTTP/1.1',
      host: 'secure.newegg.com:443',
    });
  });

  it('need-more on every prefix before the end of the header block, match at its end', () => {
    const end = Buffer.from(upgradeClient).indexOf('\r\n\r\n') + 4;
    expect(end).toBe(178);
    for (let k = 0; k < end; k++) {
      expect(probeHttpRequest(upgradeClient.subarray(0, k)).status, `prefix ${k}`).toBe('need-more');
    }
    expect(matchInfo(probeHttpRequest(upgradeClient.subarray(0, end))).upgrade).toBe('h2c');
  });
});

describe('probeHttpRequest: rules', () => {
  it('every method of the list, and nothing else', () => {
    for (const m of ['GET', 'POST', 'PUT', 'DELETE', 'HEAD', 'OPTIONS', 'PATCH', 'CONNECT', 'TRACE']) {
      expect(matchInfo(probeHttpRequest(ascii(`${m} /x HTTP/1.0\r\n\r\n`)))).toEqual({ method: m, target: '/x', version: 'HTTP/1.0' });
    }
    for (const bad of ['PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'get / HTTP/1.1\r\n\r\n', 'GETX / HTTP/1.1\r\n\r\n', 'PROPFIND / HTTP/1.1\r\n\r\n', 'SSH-2.0-x\r\n']) {
      expect(probeHttpRequest(ascii(bad)).status, bad).toBe('no');
    }
  });

  it('method prefixes wait, non-prefixes are rejected at once', () => {
    for (const p of ['', 'G', 'GE', 'GET', 'P', 'PO', 'PA', 'PU', 'CONNEC', 'OPTIONS', 'D', 'T']) {
      expect(probeHttpRequest(ascii(p)).status, JSON.stringify(p)).toBe('need-more');
    }
    for (const p of ['X', 'GX', 'PR', 'PRI', 'PRI ', 'GET\t', 'HT', '\x16\x03\x01']) {
      expect(probeHttpRequest(ascii(p)).status, JSON.stringify(p)).toBe('no');
    }
  });

  it('request line: version must be HTTP/1.x, target non-empty without controls', () => {
    expect(probeHttpRequest(ascii('GET / HTTP/2.0\r\n\r\n')).status).toBe('no');
    expect(probeHttpRequest(ascii('GET / HTTP/1.1 \r\n\r\n')).status).toBe('no');
    expect(probeHttpRequest(ascii('GET  / HTTP/1.1\r\n\r\n')).status).toBe('no');
    expect(probeHttpRequest(ascii('GET /a\x01b HTTP/1.1\r\n\r\n')).status).toBe('no');
    expect(probeHttpRequest(ascii('GET /\r\n')).status).toBe('no'); // HTTP/0.9
    expect(probeHttpRequest(ascii('GET / HTTP/1.1')).status).toBe('need-more');
    expect(probeHttpRequest(ascii('GET / HTTP/1.1\r')).status).toBe('need-more');
    // bare LF line ends are accepted
    expect(matchInfo(probeHttpRequest(ascii('GET / HTTP/1.1\nHost: a\n\n')))).toEqual({
      method: 'GET',
      target: '/',
      version: 'HTTP/1.1',
      host: 'a',
    });
  });

  it('headers: case-insensitive names, first occurrence wins, values trimmed, folded lines ignored', () => {
    const req = ascii(
      'POST /api HTTP/1.1\r\nX-Host: no\r\nhOsT:  \tnode-1.example:8443 \t\r\n' +
        ' folded: continuation\r\nHost: second\r\nUPGRADE: websocket\r\nbroken line\r\n\r\nbody',
    );
    expect(matchInfo(probeHttpRequest(req))).toEqual({
      method: 'POST',
      target: '/api',
      version: 'HTTP/1.1',
      host: 'node-1.example:8443',
      upgrade: 'websocket',
    });
  });

  it('values are decoded as UTF-8 and not sanitised', () => {
    const req = concat(ascii('GET / HTTP/1.1\r\nHost: a\x1b[2Jb'), Uint8Array.from([0xc3, 0xa9, 0xff]), ascii('\r\n\r\n'));
    expect(matchInfo(probeHttpRequest(req)).host).toBe('a\x1b[2Jb\u00e9\ufffd');
  });

  it('8 KiB limit: a header block that does not end there is a truncated match; a request line that long is no', () => {
    const head = 'GET /big HTTP/1.1\r\nHost: h\r\n';
    let s = head;
    while (s.length < HTTP_PROBE_MAX_BYTES + 100) s += 'X-Pad: ' + 'p'.repeat(90) + '\r\n';
    const b = ascii(s);
    expect(probeHttpRequest(b.subarray(0, HTTP_PROBE_MAX_BYTES - 1)).status).toBe('need-more');
    const expected = { method: 'GET', target: '/big', version: 'HTTP/1.1', host: 'h', truncated: true };
    expect(matchInfo(probeHttpRequest(b.subarray(0, HTTP_PROBE_MAX_BYTES)))).toEqual(expected);
    expect(matchInfo(probeHttpRequest(b))).toEqual(expected);
    // A Host header beyond the first 8 KiB is not seen.
    const late = ascii('GET / HTTP/1.1\r\n' + 'A: ' + 'a'.repeat(HTTP_PROBE_MAX_BYTES) + '\r\nHost: late\r\n\r\n');
    expect(matchInfo(probeHttpRequest(late))).toEqual({ method: 'GET', target: '/', version: 'HTTP/1.1', truncated: true });
    const longTarget = ascii('GET /' + 'a'.repeat(HTTP_PROBE_MAX_BYTES) + ' HTTP/1.1\r\n\r\n');
    expect(probeHttpRequest(longTarget.subarray(0, HTTP_PROBE_MAX_BYTES - 1)).status).toBe('need-more');
    expect(probeHttpRequest(longTarget).status).toBe('no');
  });
});

describe('probeHttpResponse', () => {
  corpusIt('real responses: 200, 101 Switching Protocols, 301, HTTP/1.0 200', () => {
    expect(matchInfo(probeHttpResponse(getServer))).toEqual({ version: 'HTTP/1.1', status: 200 });
    expect(matchInfo(probeHttpResponse(upgradeServer))).toEqual({ version: 'HTTP/1.1', status: 101 });
    expect(matchInfo(probeHttpResponse(tcpStream('ndpi_http.pcapng', { srcPort: 80, dstPort: 42170 })))).toEqual({
      version: 'HTTP/1.1',
      status: 301,
    });
    expect(matchInfo(probeHttpResponse(tcpStream('sv_http_ipv6_null.pcap', { srcPort: 8000, dstPort: 55717 })))).toEqual({
      version: 'HTTP/1.0',
      status: 200,
    });
  });

  it('need-more through "HTTP/1.1 200", match once the status code is followed by SP/CR/LF', () => {
    const line = ascii('HTTP/1.1 200 OK\r\n');
    for (let k = 0; k <= 12; k++) expect(probeHttpResponse(line.subarray(0, k)).status, `prefix ${k}`).toBe('need-more');
    expect(matchInfo(probeHttpResponse(line.subarray(0, 13)))).toEqual({ version: 'HTTP/1.1', status: 200 });
    expect(matchInfo(probeHttpResponse(ascii('HTTP/1.0 404\r\n')))).toEqual({ version: 'HTTP/1.0', status: 404 });
    expect(matchInfo(probeHttpResponse(ascii('HTTP/1.1 204\n')))).toEqual({ version: 'HTTP/1.1', status: 204 });
  });

  corpusIt("'no' on anything else", () => {
    for (const bad of ['HTTP/2 200 OK\r\n', 'HTTP/1.1 20x OK\r\n', 'HTTP/1.1 2000 OK\r\n', 'HTTP/1.1  200 OK\r\n', 'HTTP/1.1 099 X\r\n', 'http/1.1 200 OK\r\n', 'SSH-2.0-x\r\n', 'GET / HTTP/1.1\r\n\r\n']) {
      expect(probeHttpResponse(ascii(bad)).status, bad).toBe('no');
    }
    expect(probeHttpResponse(getClient).status).toBe('no');
  });
});

describe('HTTP probes never throw', () => {
  it('5,000 random buffers per probe, half starting like a request or response', () => {
    const rng = new Rng(0xbeef);
    const next = (): number => rng.u32();
    const starts = [ascii('GET / HTTP/1.1\r\n'), ascii('POST '), ascii('HTTP/1.1 '), ascii('HTTP/1.')];
    let reqMatches = 0;
    for (let i = 0; i < 5000; i++) {
      const len = next() % 3 === 0 ? next() % 12_000 : next() % 300;
      let b = rng.bytes(len);
      if (i % 2 === 0) b = concat(starts[i % starts.length] as Uint8Array, b);
      const a = probeHttpRequest(b);
      const r = probeHttpResponse(b);
      expect(['match', 'no', 'need-more']).toContain(a.status);
      expect(['match', 'no', 'need-more']).toContain(r.status);
      if (a.status === 'match') reqMatches++;
    }
    // Only the buffers that start with a full request line (and then hit an empty line or 8 KiB) match.
    expect(reqMatches).toBeGreaterThan(0);
    expect(reqMatches).toBeLessThan(1250);
  });
});
