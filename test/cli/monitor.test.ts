/**
 * netmatrix monitor on real interfaces: a network namespace for the node (where the monitor runs)
 * and one for the rest of the world (researcher 10.99.0.1 and an outsider 10.99.0.66 on one veth),
 * real sockets, real libpcap. Each violation must be alerted within two seconds; at SIGINT the
 * summary agrees with what analyze says of the evidence file.
 * Root is needed (namespaces, capture): CI runs as root. Without root the test fails under CI and is
 * skipped on a developer's machine.
 */
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const CLI = resolve('dist/bin/netmatrix.cjs');
const NODE_NS = 'nm-mon-node';
const WORLD_NS = 'nm-mon-world';
const NODE_IP = '10.99.0.2';
const RES_IP = '10.99.0.1';
const OUT_IP = '10.99.0.66';
const tmp = mkdtempSync(join(tmpdir(), 'nm-mon-'));

function sh(cmd: string): string {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8' });
}

function netns(): void {
  sh(`ip netns del ${NODE_NS} 2>/dev/null || true; ip netns del ${WORLD_NS} 2>/dev/null || true`);
  sh(`ip netns add ${NODE_NS} && ip netns add ${WORLD_NS}
      ip link add nm-mon-n type veth peer name nm-mon-w
      ip link set nm-mon-n netns ${NODE_NS} && ip link set nm-mon-w netns ${WORLD_NS}
      ip -n ${NODE_NS} addr add ${NODE_IP}/24 dev nm-mon-n
      ip -n ${WORLD_NS} addr add ${RES_IP}/24 dev nm-mon-w && ip -n ${WORLD_NS} addr add ${OUT_IP}/24 dev nm-mon-w
      for ns in ${NODE_NS} ${WORLD_NS}; do ip -n $ns link set lo up; done
      ip -n ${NODE_NS} link set nm-mon-n up && ip -n ${WORLD_NS} link set nm-mon-w up`);
}

/** Runs a node script inside a namespace; resolves with its stdout when it exits. */
function inNs(ns: string, script: string, opts: { background?: boolean } = {}): ChildProcess {
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (!opts.background) child.on('error', () => undefined);
  return child;
}

function done(child: ChildProcess): Promise<number> {
  return new Promise((r) => child.on('exit', (code) => r(code ?? -1)));
}

/** TCP client: connect from `bind` to host:port, send `payload` (or nothing), then close (or hold). */
const client = (bind: string, host: string, port: number, payload = '', hold = false): string => `
  const s = require('net').connect({ host: '${host}', port: ${port}, localAddress: '${bind}' }, () => {
    ${payload ? `s.write(${JSON.stringify(payload)});` : ''}
    ${hold ? '' : 'setTimeout(() => s.end(), 100);'}
  });
  s.on('error', () => process.exit(0)); s.on('close', () => process.exit(0)); s.on('data', () => {});`;

const server = (host: string, port: number, reply = ''): string => `
  require('net').createServer((c) => { c.on('data', () => {}); c.on('error', () => {}); ${reply ? `c.write(${JSON.stringify(reply)});` : ''} c.on('end', () => c.end()); })
    .listen(${port}, '${host}', () => console.log('ready'));`;

function ready(child: ChildProcess): Promise<void> {
  return new Promise((res, rej) => {
    child.stdout?.once('data', () => res());
    child.once('exit', (c) => rej(new Error(`server exited ${c}`)));
  });
}

interface Line {
  event: string;
  finding?: { code: string };
  server?: { ip: string; port: number };
  client?: { ip: string };
  received: number;
  /** stats lines */
  pcap?: { interface: string; received: number; captured: number; dropped: number; ifDropped: number }[];
  /** the summary line */
  findings?: Record<string, number>;
  violations?: number;
  [k: string]: unknown;
}

describe.runIf(isRoot || Boolean(process.env.CI))('netmatrix monitor on live interfaces', () => {
  const lines: Line[] = [];
  let monitor: ChildProcess;
  let stderr = '';
  const servers: ChildProcess[] = [];
  // The monitor started as root becomes nobody before it creates the evidence file (as tcpdump -Z):
  // the folder must be nobody's to write in.
  const evidenceDir = join(tmp, 'evidence');
  const evidenceFile = join(evidenceDir, 'evidence.pcap');
  const metricsPort = 19469;

  beforeAll(async () => {
    expect(isRoot).toBe(true);
    chmodSync(tmp, 0o755); // mkdtemp makes it 0700: nobody must reach the evidence folder in it
    mkdirSync(evidenceDir);
    const nobody = sh('id -u nobody; id -g nobody').trim().split('\n').map(Number);
    chownSync(evidenceDir, nobody[0]!, nobody[1]!);
    netns();
    servers.push(inNs(WORLD_NS, server(RES_IP, 50051), { background: true }));
    servers.push(inNs(NODE_NS, server('0.0.0.0', 8484, 'HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok'), { background: true }));
    servers.push(inNs(NODE_NS, server('0.0.0.0', 14000), { background: true }));
    await Promise.all(servers.map(ready));
    monitor = spawn(
      'ip',
      ['netns', 'exec', NODE_NS, process.execPath, CLI, 'monitor', '-i', 'nm-mon-n', '--researcher', RES_IP, '--format', 'jsonl',
        '--secagg-timeout', '2', '--stats-interval', '1', '--write-evidence', evidenceFile, '--metrics', `127.0.0.1:${metricsPort}`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    monitor.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    createInterface({ input: monitor.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      lines.push({ ...(JSON.parse(l) as Line), received: Date.now() });
    });
    // Wait until the capture runs (it says so on stderr).
    for (let i = 0; i < 100 && !stderr.includes('monitoring'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(stderr).toContain('monitoring nm-mon-n');
    expect(stderr).toMatch(/running as nobody \(uid \d+, gid \d+\)/);
  }, 60_000);

  afterAll(() => {
    monitor?.kill('SIGKILL');
    for (const s of servers) s.kill('SIGKILL');
    sh(`ip netns del ${NODE_NS} 2>/dev/null || true; ip netns del ${WORLD_NS} 2>/dev/null || true`);
  });

  async function alertFor(code: string, port: number, since: number): Promise<Line> {
    for (let i = 0; i < 50; i++) {
      const hit = lines.find((l) => l.event === 'alert' && l.finding?.code === code && l.server?.port === port && l.received >= since);
      if (hit) return hit;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`no ${code} alert for port ${port}; got ${JSON.stringify(lines.filter((l) => l.event === 'alert'))}; stderr ${stderr}`);
  }

  it('an allowed connection (node -> researcher:50051, connect/close) raises nothing', async () => {
    const t0 = Date.now();
    await done(inNs(NODE_NS, client(NODE_IP, RES_IP, 50051)));
    await new Promise((r) => setTimeout(r, 1500));
    expect(lines.filter((l) => l.event === 'alert' && l.received >= t0)).toEqual([]);
  });

  it('an inbound connection to a closed port alerts within 2 s', async () => {
    const t0 = Date.now();
    await done(inNs(WORLD_NS, client(OUT_IP, NODE_IP, 22)));
    const alert = await alertFor('inbound-to-node', 22, t0);
    expect(alert.received - t0).toBeLessThan(2000);
    expect(alert.client?.ip).toBe(OUT_IP);
    expect(alert.at).toMatch(/Z$/);
  });

  it('a GUI request from another host alerts gui-not-localhost and inbound-to-node within 2 s', async () => {
    const t0 = Date.now();
    await done(inNs(WORLD_NS, client(OUT_IP, NODE_IP, 8484, 'GET / HTTP/1.1\r\nHost: node\r\n\r\n')));
    const gui = await alertFor('gui-not-localhost', 8484, t0);
    const inbound = await alertFor('inbound-to-node', 8484, t0);
    expect(gui.received - t0).toBeLessThan(2000);
    expect(inbound.received - t0).toBeLessThan(2000);
  });

  it('plaintext on 50051 alerts protocol-mismatch within 2 s', async () => {
    const t0 = Date.now();
    await done(inNs(NODE_NS, client(NODE_IP, RES_IP, 50051, 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n')));
    const alert = await alertFor('protocol-mismatch', 50051, t0);
    expect(alert.received - t0).toBeLessThan(2000);
  });

  it('a secagg session left open alerts secagg-not-closed while still open (timeout 2 s)', async () => {
    const t0 = Date.now();
    const peer = inNs(WORLD_NS, client(RES_IP, NODE_IP, 14000, 'key material', true));
    const alert = await alertFor('secagg-not-closed', 14000, t0);
    expect(alert.received - t0).toBeGreaterThanOrEqual(1500);
    expect(alert.received - t0).toBeLessThan(2000 + 2000);
    expect(peer.exitCode).toBeNull(); // still open when reported
    peer.kill('SIGKILL');
  });

  it('runs without root once the interface is open: uid, gid and capabilities of the process', () => {
    // `ip netns exec` execs the command: the child's pid is the monitor's.
    const status = readFileSync(`/proc/${monitor.pid}/status`, 'utf8');
    const field = (name: string): string => status.match(new RegExp(`^${name}:\\s*(.*)$`, 'm'))?.[1] ?? '';
    const nobody = Number(sh('id -u nobody'));
    expect(field('Uid').split(/\s+/).map(Number)).toEqual([nobody, nobody, nobody, nobody]);
    expect(field('Gid').split(/\s+/).map(Number)).not.toContain(0);
    expect(field('Groups').split(/\s+/).filter((g) => g !== '').map(Number)).not.toContain(0);
    for (const set of ['CapInh', 'CapPrm', 'CapEff', 'CapAmb']) expect(field(set)).toBe('0000000000000000');
    // And it still captured and alerted as nobody (the alerts of the tests above).
    expect(lines.some((l) => l.event === 'alert')).toBe(true);
  });

  it('statistics lines carry libpcap counters as numbers; metrics are served on loopback', async () => {
    const stats = lines.filter((l) => l.event === 'stats');
    expect(stats.length).toBeGreaterThan(0);
    const last = { pcap: stats.at(-1)?.pcap ?? [] };
    expect(last.pcap[0]?.interface).toBe('nm-mon-n');
    expect(last.pcap[0]?.captured).toBeGreaterThan(10);
    // ps_recv counts what passed into the socket, dropped or not: at least what was handed over.
    expect(last.pcap[0]!.received).toBeGreaterThanOrEqual(last.pcap[0]!.captured);
    expect(last.pcap[0]?.dropped).toBe(0);
    expect(last.pcap[0]?.ifDropped).toBe(0);
    expect(lines.filter((l) => l.event === 'drops')).toEqual([]);
    const text = sh(`ip netns exec ${NODE_NS} curl -s http://127.0.0.1:${metricsPort}/metrics`);
    expect(text).toMatch(/netmatrix_alerts_total\{code="inbound-to-node"\} [1-9]/);
    expect(text).toMatch(/netmatrix_pcap_received_total\{interface="nm-mon-n"\} [1-9]/);
    expect(text).toMatch(/^netmatrix_pcap_dropped_total\{interface="nm-mon-n"\} 0$/m);
    expect(text).toMatch(/^netmatrix_pcap_ifdropped_total\{interface="nm-mon-n"\} 0$/m);
  });

  it('SIGINT: summary, exit 1, and the evidence file agrees with analyze', async () => {
    monitor.kill('SIGINT');
    const code = await done(monitor);
    expect(code).toBe(1);
    const summary = lines.find((l) => l.event === 'summary');
    expect(summary?.findings).toBeDefined();
    const summaryFindings = summary?.findings ?? {};
    expect(existsSync(evidenceFile)).toBe(true);
    const r = spawnSync(process.execPath, [CLI, 'analyze', evidenceFile, '--node', NODE_IP, '--researcher', RES_IP, '--secagg-timeout', '2', '--format', 'json'], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    const doc = JSON.parse(r.stdout) as { summary: { findings: Record<string, number> } };
    const codes = (f: Record<string, number>) => Object.keys(f).filter((c) => c !== 'mandatory-missing' && c !== 'connection-failed').sort();
    expect(codes(doc.summary.findings)).toEqual(codes(summaryFindings));
    expect(codes(summaryFindings)).toEqual(['gui-not-localhost', 'inbound-to-node', 'protocol-mismatch', 'secagg-not-closed']);
    expect(readFileSync(evidenceFile).length).toBeGreaterThan(24);
  });
});

describe.runIf(isRoot || Boolean(process.env.CI))('netmatrix monitor errors', () => {
  const run = (...args: string[]) => spawnSync(process.execPath, [CLI, 'monitor', ...args], { encoding: 'utf8' });

  it('a bad interface, a bad filter: one line, exit 2', () => {
    const bad = run('-i', 'nm-nope0', '--researcher', RES_IP);
    expect(bad.status).toBe(2);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
    expect(bad.stderr).toMatch(/no such interface: nm-nope0/);
    const filter = run('-i', 'lo', '--researcher', RES_IP, '--filter', 'tcp port nonsense');
    expect(filter.status).toBe(2);
    expect(filter.stderr.trim().split('\n')).toHaveLength(1);
    expect(filter.stderr).toMatch(/bad capture filter/);
  });

  it('without CAP_NET_RAW: one line, exit 2', () => {
    // Every capability dropped (as user nobody when not root): no CAP_NET_RAW, yet the CLI stays
    // readable wherever the checkout is (a clone into `mktemp -d` is closed to other users).
    const drop = isRoot ? ['--bounding-set=-all', '--inh-caps=-all'] : ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];
    const r = spawnSync('setpriv', [...drop, process.execPath, CLI, 'monitor', '-i', 'lo', '--researcher', RES_IP], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/permission denied/i);
  });
});

describe.runIf(isRoot || Boolean(process.env.CI))('netmatrix monitor under a flood of short flows', () => {
  const NS = 'nm-mon-flood';
  afterAll(() => sh(`ip netns del ${NS} 2>/dev/null || true`));

  it('keeps the flow table within --max-flows and memory flat', async () => {
    sh(`ip netns del ${NS} 2>/dev/null || true; ip netns add ${NS} && ip -n ${NS} link set lo up`);
    const monitor = spawn(
      'ip',
      ['netns', 'exec', NS, process.execPath, CLI, 'monitor', '-i', 'lo', '--researcher', '10.99.9.1', '--format', 'jsonl',
        '--stats-interval', '1', '--max-flows', '2000', '--filter', 'tcp port 7777'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    const stats: { flows: { active: number; ended: number; evicted: number }; rssMB: number; packets: number; pcap: { dropped: number; ifDropped: number }[] }[] = [];
    let err = '';
    monitor.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    createInterface({ input: monitor.stdout as NodeJS.ReadableStream }).on('line', (l) => {
      const rec = JSON.parse(l) as { event: string } & (typeof stats)[number];
      if (rec.event === 'stats') stats.push(rec);
    });
    for (let i = 0; i < 100 && !err.includes('monitoring'); i++) await new Promise((r) => setTimeout(r, 100));
    // Rounds of short connections on loopback: connect, send a byte, close.
    const flood = (n: number): string => `
      const net = require('net');
      const srv = net.createServer((c) => { c.on('data', () => {}); c.on('end', () => c.end()); c.on('error', () => {}); }).listen(7777, '127.0.0.1', async () => {
        let left = ${n}; const par = 64; let active = 0;
        await new Promise((done) => {
          const next = () => {
            while (active < par && left > 0) {
              left--; active++;
              const s = net.connect(7777, '127.0.0.1', () => { s.end('x'); });
              s.on('data', () => {}); s.on('error', () => {});
              s.on('close', () => { active--; if (left === 0 && active === 0) done(); else next(); });
            }
          };
          next();
        });
        srv.close();
      });`;
    // Four rounds of 8000 connections: over the first rounds the heap grows to its working size (V8
    // collects lazily: measured here 117, 131, 148, 140, 138, 139 MB over six rounds); the last round
    // must not go above what the earlier ones reached (memory follows the flow cap, not the traffic).
    const rounds = 4;
    const rss: number[] = [];
    for (let round = 0; round < rounds; round++) {
      await done(inNs(NS, flood(8000)));
      await new Promise((r) => setTimeout(r, 2500));
      rss.push(stats.at(-1)?.rssMB ?? NaN);
    }
    monitor.kill('SIGINT');
    const code = await done(monitor);
    const end = stats.at(-1)!;
    const lost = end.pcap.reduce((n, p) => n + p.dropped + p.ifDropped, 0);
    console.log(`flood: rss after each round of 8000 flows: ${rss.join(', ')} MB; ${end.packets} packets, ${lost} dropped`);
    expect(end.packets).toBeGreaterThan(rounds * 8000 * 5);
    const flows = end.flows.ended + end.flows.active;
    if (lost === 0) {
      // Nothing dropped: every connection became a flow (ended, or still in the table and judged at exit).
      expect(flows).toBe(rounds * 8000);
      expect(code).toBe(0);
    } else {
      // Drops are counted and make the summary incomplete (exit 3); a flow can only go missing then.
      expect(flows).toBeGreaterThanOrEqual(rounds * 8000 - lost);
      expect(code).toBe(3);
    }
    expect(rss.at(-1)!).toBeLessThanOrEqual(Math.max(...rss.slice(0, -1)) + 10);
    for (const s of stats) expect(s.flows.active).toBeLessThanOrEqual(2000);
  }, 180_000);
});
