import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/model/errors.js';
import { FINDING_CODES } from '../../src/policy/judge.js';
import {
  ALERT_CODES,
  parseListen,
  startMetrics,
  type MetricsServer,
  type MonitorCounters,
} from '../../src/monitor/metrics.js';

/** Prometheus text format -> { samples: 'name{a="x",b="y"}' -> value, types: name -> type }. */
function parseExposition(text: string): { samples: Map<string, number>; types: Map<string, string> } {
  const samples = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) {
      types.set(type[1]!, type[2]!);
      continue;
    }
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{.*\})? (\S+)$/.exec(line);
    if (!m) throw new Error(`unparsable sample line: ${line}`);
    const labels = [...(m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)]
      .map((l) => `${l[1]}="${l[2]}"`)
      .sort();
    const key = labels.length ? `${m[1]}{${labels.join(',')}}` : m[1]!;
    expect(samples.has(key), `duplicate sample ${key}`).toBe(false);
    samples.set(key, Number(m[3]));
  }
  return { samples, types };
}

function stub(): MonitorCounters {
  return {
    packets: 10,
    bytes: 1500,
    flowsActive: 3,
    flowsEnded: 2,
    flowsEvicted: 0,
    alertsByCode: {},
    interfaces: [
      { name: 'eth0', received: 100, dropped: 1, ifDropped: 0 },
      { name: 'wg0', received: 40, dropped: 0, ifDropped: 2 },
    ],
    decodeMalformed: 0,
  };
}

const servers: MetricsServer[] = [];
async function start(listen: string, counters: () => MonitorCounters): Promise<MetricsServer> {
  const s = await startMetrics(listen, counters);
  servers.push(s);
  return s;
}
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});

async function scrape(url: string): Promise<{ samples: Map<string, number>; types: Map<string, string> }> {
  const res = await fetch(url);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toBe('text/plain; version=0.0.4; charset=utf-8');
  return parseExposition(await res.text());
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

describe('startMetrics', () => {
  it('serves the counters() values at scrape time, and they follow between scrapes', async () => {
    const c = stub();
    let calls = 0;
    const m = await start('127.0.0.1:0', () => {
      calls++;
      return c;
    });
    expect(m.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(portOf(m.url)).toBeGreaterThan(0);
    expect(calls).toBe(0);

    let { samples, types } = await scrape(m.url);
    expect(calls).toBe(1); // one snapshot per scrape, shared by every metric
    expect(samples.get('netmatrix_packets_total')).toBe(10);
    expect(samples.get('netmatrix_bytes_total')).toBe(1500);
    expect(samples.get('netmatrix_flows_active')).toBe(3);
    expect(samples.get('netmatrix_flows_ended_total')).toBe(2);
    expect(samples.get('netmatrix_flows_evicted_total')).toBe(0);
    expect(samples.get('netmatrix_decode_malformed_total')).toBe(0);
    // every alert code is there from the start, with 0
    expect(ALERT_CODES).toEqual(FINDING_CODES);
    expect(ALERT_CODES).toHaveLength(8);
    for (const code of ALERT_CODES) expect(samples.get(`netmatrix_alerts_total{code="${code}"}`)).toBe(0);
    expect(samples.get('netmatrix_pcap_received_total{interface="eth0"}')).toBe(100);
    expect(samples.get('netmatrix_pcap_dropped_total{interface="eth0"}')).toBe(1);
    expect(samples.get('netmatrix_pcap_ifdropped_total{interface="eth0"}')).toBe(0);
    expect(samples.get('netmatrix_pcap_received_total{interface="wg0"}')).toBe(40);
    expect(samples.get('netmatrix_pcap_dropped_total{interface="wg0"}')).toBe(0);
    expect(samples.get('netmatrix_pcap_ifdropped_total{interface="wg0"}')).toBe(2);

    // types: counters are counters (rate() works), flows_active is a gauge
    for (const name of [
      'netmatrix_packets_total',
      'netmatrix_bytes_total',
      'netmatrix_flows_ended_total',
      'netmatrix_flows_evicted_total',
      'netmatrix_alerts_total',
      'netmatrix_pcap_received_total',
      'netmatrix_pcap_dropped_total',
      'netmatrix_pcap_ifdropped_total',
      'netmatrix_decode_malformed_total',
    ]) {
      expect(types.get(name), name).toBe('counter');
    }
    expect(types.get('netmatrix_flows_active')).toBe('gauge');

    // process metrics from collectDefaultMetrics, with the netmatrix_ prefix
    expect(types.get('netmatrix_process_cpu_user_seconds_total')).toBe('counter');
    expect(samples.get('netmatrix_process_resident_memory_bytes') ?? 1).toBeGreaterThan(0); // Linux only
    expect(samples.get('netmatrix_nodejs_heap_size_total_bytes')).toBeGreaterThan(0);
    for (const name of types.keys()) expect(name.startsWith('netmatrix_'), name).toBe(true);

    // the monitor moves on; the next scrape shows the new absolute values, not sums
    c.packets = 25;
    c.bytes = 4000;
    c.flowsActive = 1;
    c.flowsEnded = 5;
    c.flowsEvicted = 1;
    c.decodeMalformed = 3;
    c.alertsByCode = { 'inbound-to-node': 2, 'gui-not-localhost': 1 };
    c.interfaces = [
      { name: 'eth0', received: 250, dropped: 4, ifDropped: 1 },
      { name: 'wg0', received: 90, dropped: 0, ifDropped: 2 },
      { name: 'lo', received: 7, dropped: 0, ifDropped: 0 },
    ];
    ({ samples } = await scrape(m.url));
    expect(calls).toBe(2);
    expect(samples.get('netmatrix_packets_total')).toBe(25);
    expect(samples.get('netmatrix_bytes_total')).toBe(4000);
    expect(samples.get('netmatrix_flows_active')).toBe(1);
    expect(samples.get('netmatrix_flows_ended_total')).toBe(5);
    expect(samples.get('netmatrix_flows_evicted_total')).toBe(1);
    expect(samples.get('netmatrix_decode_malformed_total')).toBe(3);
    expect(samples.get('netmatrix_alerts_total{code="inbound-to-node"}')).toBe(2);
    expect(samples.get('netmatrix_alerts_total{code="gui-not-localhost"}')).toBe(1);
    expect(samples.get('netmatrix_alerts_total{code="not-in-matrix"}')).toBe(0);
    expect(samples.get('netmatrix_alerts_total{code="mandatory-missing"}')).toBe(0);
    expect(samples.get('netmatrix_pcap_received_total{interface="eth0"}')).toBe(250);
    expect(samples.get('netmatrix_pcap_dropped_total{interface="eth0"}')).toBe(4);
    expect(samples.get('netmatrix_pcap_ifdropped_total{interface="eth0"}')).toBe(1);
    expect(samples.get('netmatrix_pcap_received_total{interface="wg0"}')).toBe(90);
    expect(samples.get('netmatrix_pcap_received_total{interface="lo"}')).toBe(7);

    // a third scrape with nothing changed gives the same values (no accumulation across scrapes)
    ({ samples } = await scrape(m.url));
    expect(samples.get('netmatrix_packets_total')).toBe(25);
    expect(samples.get('netmatrix_alerts_total{code="inbound-to-node"}')).toBe(2);
    expect(samples.get('netmatrix_pcap_received_total{interface="eth0"}')).toBe(250);

    // an interface that goes away disappears from the per-interface series
    c.interfaces = [{ name: 'eth0', received: 260, dropped: 4, ifDropped: 1 }];
    ({ samples } = await scrape(m.url));
    expect(samples.get('netmatrix_pcap_received_total{interface="eth0"}')).toBe(260);
    expect(samples.has('netmatrix_pcap_received_total{interface="wg0"}')).toBe(false);
  });

  it('escapes label values', async () => {
    const c = stub();
    c.interfaces = [{ name: 'we"ird\\if', received: 1, dropped: 0, ifDropped: 0 }];
    const m = await start('127.0.0.1:0', () => c);
    const text = await (await fetch(m.url)).text();
    expect(text).toContain('netmatrix_pcap_received_total{interface="we\\"ird\\\\if"} 1');
  });

  it('answers 404 off /metrics, 405 for other methods, and ignores a query string', async () => {
    const m = await start('127.0.0.1:0', stub);
    const base = new URL(m.url);
    for (const path of ['/', '/metric', '/metrics/x', '/favicon.ico']) {
      const res = await fetch(new URL(path, base));
      expect(res.status, path).toBe(404);
      await res.text();
    }
    const post = await fetch(m.url, { method: 'POST', body: 'x' });
    expect(post.status).toBe(405);
    expect(post.headers.get('allow')).toBe('GET, HEAD');
    await post.text();
    const head = await fetch(m.url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const q = await scrape(`${m.url}?name[]=netmatrix_packets_total`);
    expect(q.samples.get('netmatrix_packets_total')).toBe(10);
  });

  it('answers 500 when counters() throws or gives a bad value, then recovers', async () => {
    let mode: 'ok' | 'throw' | 'negative' = 'throw';
    const m = await start('127.0.0.1:0', () => {
      if (mode === 'throw') throw new Error('flow table locked');
      const c = stub();
      if (mode === 'negative') c.packets = -1;
      return c;
    });
    let res = await fetch(m.url);
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('flow table locked');
    mode = 'negative';
    res = await fetch(m.url);
    expect(res.status).toBe(500);
    expect(await res.text()).toContain('packets_total: bad value -1');
    mode = 'ok';
    const { samples } = await scrape(m.url);
    expect(samples.get('netmatrix_packets_total')).toBe(10);
  });

  it('refuses an address in use with a one-line UsageError naming it', async () => {
    const first = await start('127.0.0.1:0', stub);
    const port = portOf(first.url);
    const err = await startMetrics(`127.0.0.1:${port}`, stub).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).code).toBe('usage');
    expect((err as UsageError).message).toBe(`--metrics 127.0.0.1:${port}: address already in use`);
    // the short form names what it resolved to
    const short = await startMetrics(`:${port}`, stub).catch((e: unknown) => e);
    expect(short).toBeInstanceOf(UsageError);
    expect((short as UsageError).message).toBe(`--metrics :${port} (127.0.0.1:${port}): address already in use`);
    // the first server is unaffected
    expect((await scrape(first.url)).samples.get('netmatrix_packets_total')).toBe(10);
  });

  it('rejects a bad listen string with a UsageError before binding', async () => {
    for (const bad of ['', 'abc', '127.0.0.1:', '127.0.0.1:99999', '::1:9469', '[::1]9469', 'a b:1']) {
      const err = await startMetrics(bad, stub).catch((e: unknown) => e);
      expect(err, bad).toBeInstanceOf(UsageError);
      expect((err as Error).message.startsWith('--metrics ')).toBe(true);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('reports an address not on this host as a UsageError', async () => {
    // 192.0.2.0/24 is TEST-NET-1: never assigned to a local interface, so bind fails without traffic
    const err = await startMetrics('192.0.2.1:0', stub).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toBe('--metrics 192.0.2.1:0: address not available on this host');
  });

  it('binds IPv6 loopback when given [::1]', async (ctx) => {
    let m: MetricsServer;
    try {
      m = await start('[::1]:0', stub);
    } catch (e) {
      if (e instanceof UsageError && /not available/.test(e.message)) ctx.skip(); // no IPv6 loopback here
      throw e;
    }
    expect(m.url).toMatch(/^http:\/\/\[::1\]:\d+\/metrics$/);
    expect((await scrape(m.url)).samples.get('netmatrix_bytes_total')).toBe(1500);
  });

  it('closes: stops listening, drops kept-alive connections, frees the port, and is idempotent', async () => {
    const m = await startMetrics('127.0.0.1:0', stub);
    const port = portOf(m.url);
    // a keep-alive connection left open must not hold close() up
    const agentRes = await new Promise<number>((resolve, reject) => {
      const req = request(m.url, { headers: { connection: 'keep-alive' } }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    expect(agentRes).toBe(200);
    await scrape(m.url); // fetch's pooled keep-alive connection too
    const t0 = Date.now();
    await m.close();
    expect(Date.now() - t0).toBeLessThan(2000);
    await m.close(); // second close is fine
    await expect(fetch(m.url)).rejects.toThrow();
    // the same port can be bound again
    const again = await start(`127.0.0.1:${port}`, stub);
    expect(portOf(again.url)).toBe(port);
  });
});

describe('parseListen', () => {
  it('accepts the documented forms', () => {
    expect(parseListen('127.0.0.1:9469')).toEqual({ host: '127.0.0.1', port: 9469 });
    expect(parseListen('[::1]:9469')).toEqual({ host: '::1', port: 9469 });
    expect(parseListen('[fe80::1]:80')).toEqual({ host: 'fe80::1', port: 80 });
    expect(parseListen(':9469')).toEqual({ host: '127.0.0.1', port: 9469 });
    expect(parseListen('9469')).toEqual({ host: '127.0.0.1', port: 9469 });
    expect(parseListen('0.0.0.0:9469')).toEqual({ host: '0.0.0.0', port: 9469 });
    expect(parseListen('[::]:9469')).toEqual({ host: '::', port: 9469 });
    expect(parseListen('localhost:9469')).toEqual({ host: 'localhost', port: 9469 });
    expect(parseListen('node-1.example.org:1')).toEqual({ host: 'node-1.example.org', port: 1 });
    expect(parseListen('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseListen('65535')).toEqual({ host: '127.0.0.1', port: 65535 });
  });

  it.each([
    ['', 'missing port'],
    ['abc', 'missing port'],
    ['127.0.0.1', 'missing port'],
    ['127.0.0.1:', 'missing port'],
    [':', 'missing port'],
    ['127.0.0.1:x', 'bad port "x"'],
    ['127.0.0.1:-1', 'bad port "-1"'],
    ['127.0.0.1:94 69', 'bad port'],
    ['127.0.0.1:65536', 'port 65536 out of range 0-65535'],
    ['65536', 'port 65536 out of range 0-65535'],
    ['123456', 'bad port "123456"'],
    ['::1:9469', 'must be in brackets'],
    ['::1', 'must be in brackets'],
    ['[::1', 'missing "]"'],
    ['[::1]', 'missing ":PORT"'],
    ['[::1]9469', 'missing ":PORT"'],
    ['[127.0.0.1]:9469', 'not an IPv6 address'],
    ['[zz]:9469', 'not an IPv6 address'],
    ['256.1.1.1:9469', 'not an IPv4 address or host name'],
    ['1.2.3:9469', 'not an IPv4 address or host name'],
    ['bad_host:9469', 'not an IPv4 address or host name'],
    ['http://127.0.0.1:9469', 'not an IPv4 address or host name'],
    [' 127.0.0.1:9469', 'not an IPv4 address or host name'],
  ])('rejects %j (%s)', (listen, detail) => {
    let err: unknown;
    try {
      parseListen(listen);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(UsageError);
    const msg = (err as Error).message;
    expect(msg.startsWith(`--metrics ${listen === '' ? '""' : listen}: `)).toBe(true);
    expect(msg).toContain(detail);
    expect(msg).not.toContain('\n');
  });
});
