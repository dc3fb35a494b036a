/**
 * Prometheus metrics for `netmatrix monitor`, served on GET /metrics by a small node:http server.
 *
 * The monitor keeps its own running totals; this module does not count anything itself. At every
 * scrape it pulls one snapshot from the `counters()` callback and copies it into prom-client
 * metrics through their `collect()` hooks.
 *
 * Absolute values into counters: prom-client's Counter has no `set()`. Each Counter's `collect()`
 * does `this.reset()` then `this.inc(labels, value)` with the absolute value from the snapshot.
 * That keeps the metrics typed `counter` in the exposition (so rate()/increase() work, and the
 * `_total` names match their type), and it mirrors the monitor's totals exactly. The totals
 * only go up while the process lives, so Prometheus sees a proper counter. Gauges (flows_active)
 * use `set()`.
 *
 * The metrics live in their own Registry (never prom-client's global one), together with
 * prom-client's default process metrics under the `netmatrix_` prefix.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { isIPv4, isIPv6, type AddressInfo } from 'node:net';
import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client';
import { UsageError } from '../model/errors.js';
import { FINDING_CODES } from '../policy/judge.js';

/** What the monitor knows; pulled once per scrape. All values are totals since the monitor started. */
export interface MonitorCounters {
  /** Frames seen. */
  packets: number;
  /** Bytes of those frames. */
  bytes: number;
  flowsActive: number;
  flowsEnded: number;
  flowsEvicted: number;
  /** Finding code -> alerts raised. Codes missing here are reported as 0. */
  alertsByCode: Record<string, number>;
  /** libpcap's counters (pcap_stats), per capture interface. */
  interfaces: { name: string; received: number; dropped: number; ifDropped: number }[];
  decodeMalformed: number;
}

export interface MetricsServer {
  /** The metrics endpoint as actually bound, e.g. `http://127.0.0.1:40123/metrics`. */
  readonly url: string;
  /** Stops listening, drops open connections, resolves when the server is closed. Idempotent. */
  close(): Promise<void>;
}

/** Default host when the listen string gives only a port: loopback, never all interfaces. */
const DEFAULT_HOST = '127.0.0.1';

/** Prefix of every metric this module exposes, including the default process metrics. */
export const METRICS_PREFIX = 'netmatrix_';

/** Alert codes always present in netmatrix_alerts_total (with 0) so rate() works from the start. */
export const ALERT_CODES: readonly string[] = FINDING_CODES;

const LISTEN_FORMS = 'expected HOST:PORT, [IPV6]:PORT, :PORT or PORT';

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

function shown(listen: string): string {
  return listen === '' ? '""' : listen;
}

function badListen(listen: string, detail: string): UsageError {
  return new UsageError(`--metrics ${shown(listen)}: ${detail}`);
}

function parsePort(listen: string, text: string): number {
  if (!/^\d{1,5}$/.test(text)) {
    throw badListen(listen, text === '' ? `missing port; ${LISTEN_FORMS}` : `bad port "${text}"; ${LISTEN_FORMS}`);
  }
  const port = Number(text);
  if (port > 65535) throw badListen(listen, `port ${port} out of range 0-65535`);
  return port;
}

/**
 * Parses a --metrics listen address.
 *
 *   "127.0.0.1:9469" -> 127.0.0.1 port 9469
 *   "[::1]:9469"     -> ::1 port 9469 (IPv6 must be bracketed)
 *   "localhost:9469" -> localhost port 9469 (resolved when binding)
 *   ":9469", "9469"  -> 127.0.0.1 port 9469 (loopback unless a host is given)
 *
 * Port 0 means an ephemeral port. Throws UsageError naming the string on anything else.
 */
export function parseListen(listen: string): { host: string; port: number } {
  if (/^\d+$/.test(listen)) return { host: DEFAULT_HOST, port: parsePort(listen, listen) };

  if (listen.startsWith('[')) {
    const close = listen.indexOf(']');
    if (close < 0) throw badListen(listen, `missing "]" after the IPv6 address; ${LISTEN_FORMS}`);
    const host = listen.slice(1, close);
    if (!isIPv6(host)) throw badListen(listen, `"${host}" is not an IPv6 address`);
    const rest = listen.slice(close + 1);
    if (!rest.startsWith(':')) throw badListen(listen, `missing ":PORT" after "]"; ${LISTEN_FORMS}`);
    return { host, port: parsePort(listen, rest.slice(1)) };
  }

  const colon = listen.lastIndexOf(':');
  if (colon < 0) throw badListen(listen, `missing port; ${LISTEN_FORMS}`);
  const host = listen.slice(0, colon);
  const portText = listen.slice(colon + 1);
  if (host.includes(':') && (isIPv6(host) || isIPv6(listen))) {
    throw badListen(listen, `an IPv6 address must be in brackets, e.g. [::1]:9469`);
  }
  if (host === '') return { host: DEFAULT_HOST, port: parsePort(listen, portText) };
  const looksNumeric = /^[\d.]+$/.test(host);
  if (looksNumeric ? !isIPv4(host) : !HOSTNAME.test(host)) {
    throw badListen(listen, `"${host}" is not an IPv4 address or host name`);
  }
  return { host, port: parsePort(listen, portText) };
}

function hostPort(host: string, port: number): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

function listenFailure(listen: string, bound: string, err: NodeJS.ErrnoException): UsageError {
  const where = bound === listen ? listen : `${shown(listen)} (${bound})`;
  let why: string;
  switch (err.code) {
    case 'EADDRINUSE':
      why = 'address already in use';
      break;
    case 'EADDRNOTAVAIL':
      why = 'address not available on this host';
      break;
    case 'EACCES':
    case 'EPERM':
      why = 'permission denied';
      break;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_NONAME':
      why = 'cannot resolve the host name';
      break;
    default:
      why = (err.message || String(err)).split('\n')[0] ?? 'cannot listen';
  }
  return new UsageError(`--metrics ${where}: ${why}`);
}

/** A counter value from the monitor: a finite number >= 0, else the scrape fails naming it. */
function total(metric: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new Error(`${metric}: bad value ${String(value)}`);
  return value;
}

/** Builds the registry and its metrics; every value is read from `snapshot()` when scraped. */
function buildRegistry(snapshot: () => MonitorCounters): Registry {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: METRICS_PREFIX });
  const registers = [registry];

  const scalarCounter = (name: string, help: string, pick: (c: MonitorCounters) => number): void => {
    new Counter({
      name: METRICS_PREFIX + name,
      help,
      registers,
      collect() {
        this.reset();
        this.inc(total(name, pick(snapshot())));
      },
    });
  };

  scalarCounter('packets_total', 'Frames seen by the monitor.', (c) => c.packets);
  scalarCounter('bytes_total', 'Bytes of the frames seen by the monitor.', (c) => c.bytes);
  new Gauge({
    name: `${METRICS_PREFIX}flows_active`,
    help: 'Flows currently tracked.',
    registers,
    collect() {
      this.set(total('flows_active', snapshot().flowsActive));
    },
  });
  scalarCounter('flows_ended_total', 'Flows that ended (closed or idle timeout).', (c) => c.flowsEnded);
  scalarCounter('flows_evicted_total', 'Flows evicted from the flow table before they ended.', (c) => c.flowsEvicted);
  scalarCounter('decode_malformed_total', 'Frames that could not be decoded.', (c) => c.decodeMalformed);

  new Counter({
    name: `${METRICS_PREFIX}alerts_total`,
    help: 'Alerts raised, by finding code.',
    labelNames: ['code'] as const,
    registers,
    collect() {
      const byCode = snapshot().alertsByCode;
      this.reset();
      for (const code of ALERT_CODES) this.inc({ code }, 0);
      for (const [code, n] of Object.entries(byCode)) this.inc({ code }, total(`alerts_total{code=${code}}`, n));
    },
  });

  const pcapCounter = (
    name: string,
    help: string,
    pick: (i: MonitorCounters['interfaces'][number]) => number,
  ): void => {
    new Counter({
      name: METRICS_PREFIX + name,
      help,
      labelNames: ['interface'] as const,
      registers,
      collect() {
        const interfaces = snapshot().interfaces;
        this.reset();
        for (const i of interfaces) this.inc({ interface: i.name }, total(`${name}{interface=${i.name}}`, pick(i)));
      },
    });
  };
  pcapCounter('pcap_received_total', 'Packets received by libpcap (pcap_stats ps_recv).', (i) => i.received);
  pcapCounter(
    'pcap_dropped_total',
    'Packets dropped by libpcap: buffer full (pcap_stats ps_drop).',
    (i) => i.dropped,
  );
  pcapCounter(
    'pcap_ifdropped_total',
    'Packets dropped by the interface or driver (pcap_stats ps_ifdrop).',
    (i) => i.ifDropped,
  );

  return registry;
}

/**
 * Starts the metrics server on `listen` (see parseListen). Binds exactly the host given; resolves
 * once listening. Throws UsageError on a bad listen string or when the address cannot be bound
 * ("--metrics 127.0.0.1:9469: address already in use").
 */
export async function startMetrics(listen: string, counters: () => MonitorCounters): Promise<MetricsServer> {
  const { host, port } = parseListen(listen);

  // One counters() call per scrape, shared by all collect hooks so the exposition is consistent.
  // prom-client runs every collect hook synchronously inside registry.metrics(); the fallback
  // call covers a hook that would run later.
  let current: MonitorCounters | undefined;
  const registry = buildRegistry(() => current ?? counters());

  const scrape = async (): Promise<string> => {
    current = counters();
    let pending: Promise<string>;
    try {
      pending = registry.metrics();
    } finally {
      current = undefined;
    }
    return pending;
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('not found\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .writeHead(405, { 'content-type': 'text/plain; charset=utf-8', allow: 'GET, HEAD' })
        .end('method not allowed\n');
      return;
    }
    let body: string;
    try {
      body = await scrape();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      res.writeHead(500, { 'content-type': 'text/plain; charset=utf-8' }).end(`scrape failed: ${msg}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': registry.contentType, 'cache-control': 'no-store' }).end(body);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      reject(listenFailure(listen, hostPort(host, port), err));
    };
    server.once('error', onError);
    server.listen({ host, port }, () => {
      server.off('error', onError);
      resolve();
    });
  }).catch((err: unknown) => {
    registry.clear();
    throw err;
  });

  const address = server.address() as AddressInfo;
  const url = `http://${hostPort(address.address, address.port)}/metrics`;

  let closing: Promise<void> | undefined;
  return {
    url,
    close(): Promise<void> {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      }).finally(() => registry.clear());
      return closing;
    },
  };
}
