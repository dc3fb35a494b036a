/**
 * What the monitor promises about the capture itself, on a real veth in network namespaces of our own:
 * - a drop is never silent and never invented: with the monitor stopped (SIGSTOP, the slowest of
 *   consumers) and a small ring, a burst of N packets ends as captured + dropped = N exactly, in the
 *   stats, the `drops` event, the summary (complete false, exit 3) and the Prometheus counter;
 * - times are the kernel's: a frame's time in the evidence file is within 10 ms of tcpdump's for the
 *   same packet, and its original length is the wire length when --snaplen cut it.
 *
 * The sender and the capture share namespace A, and the capture is on A's side of the veth: every
 * packet sent passes the capture tap on its way out, so nothing can be lost before the tap (a packet
 * arriving on a receiving side could be lost in the kernel's backlog before any tap sees it).
 * The flows are between two addresses outside the inventory (out of scope), so the only reason for
 * an incomplete verdict is the drops.
 * Root is needed: CI runs as root; elsewhere without root these tests are skipped.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const isRoot = process.getuid?.() === 0;
const CLI = resolve('dist/bin/netmatrix.cjs');
const A = `nm-cap-a-${process.pid}`;
const B = `nm-cap-b-${process.pid}`;
/** The sender's address: on A's loopback, not on the captured veth (so not "self" to the monitor). */
const SRC = '10.98.6.1';
const DST = '10.98.5.2';
const RESEARCHER = '10.98.5.250';
const VETH = 'nmcap0';

function sh(cmd: string): string {
  return execFileSync('bash', ['-c', cmd], { encoding: 'utf8' });
}

/** The monitor's JSON lines that these tests read (fields as the README documents them). */
interface StatsEvent {
  event: 'stats';
  packets: number;
  pcap: { interface: string; received: number; captured: number; dropped: number; ifDropped: number }[];
}
interface DropsEvent {
  event: 'drops';
  at: string;
  interface: string;
  dropped: number;
  ifDropped: number;
  since: string;
  totalDropped: number;
}
interface SummaryEvent {
  event: 'summary';
  complete: boolean;
  violations: number;
  exitCode: number;
}
type Event = StatsEvent | DropsEvent | SummaryEvent | { event: 'alert' };

/** A running monitor in namespace A, its JSON lines and its stderr. */
function startMonitor(args: string[]): { child: ChildProcess; events: Event[]; stderr: () => string; exit: Promise<number> } {
  const child = spawn('ip', ['netns', 'exec', A, process.execPath, CLI, 'monitor', '-i', VETH, '--researcher', RESEARCHER, '--format', 'jsonl', '--stats-interval', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const events: Event[] = [];
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  createInterface({ input: child.stdout as NodeJS.ReadableStream }).on('line', (l) => events.push(JSON.parse(l) as Event));
  const exit = new Promise<number>((r) => child.on('exit', (code) => r(code ?? -1)));
  return { child, events, stderr: () => err, exit };
}

async function until(what: string, cond: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Sends `count` UDP datagrams of `size` bytes from SRC to DST:port, one after another; resolves with how many the kernel took. */
function sendUdp(count: number, port: number, size: number): number {
  const script = `
    const s = require('dgram').createSocket('udp4');
    s.bind(0, '${SRC}', async () => {
      const payload = Buffer.alloc(${size}, 0x61);
      let ok = 0; let lastErr;
      for (let i = 0; i < ${count}; i++) {
        payload.writeUInt32BE(i, 0);
        await new Promise((r) => s.send(payload, ${port}, '${DST}', (e) => { if (!e) ok++; else lastErr = e; r(); }));
      }
      console.log(ok); if (ok < ${count}) console.error(lastErr);
      s.close();
    });`;
  return Number(execFileSync('ip', ['netns', 'exec', A, process.execPath, '-e', script], { encoding: 'utf8' }).trim());
}

describe.runIf(isRoot || Boolean(process.env.CI))('monitor capture on a veth (root, namespaces)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'nm-cap-'));

  beforeAll(() => {
    expect(isRoot).toBe(true);
    sh(`ip netns add ${A} && ip netns add ${B}
        ip -n ${A} link set lo up && ip -n ${B} link set lo up
        ip link add ${VETH} netns ${A} type veth peer name nmcap1 netns ${B}
        ip -n ${A} addr add ${SRC}/32 dev lo
        ip -n ${A} link set ${VETH} up && ip -n ${B} link set nmcap1 up
        ip -n ${B} addr add ${DST}/24 dev nmcap1
        ip netns exec ${A} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip netns exec ${B} sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
        ip -n ${A} route add 10.98.5.0/24 dev ${VETH} src ${SRC}
        ip -n ${A} neigh add ${DST} lladdr $(ip -n ${B} -br link show nmcap1 | awk '{print $3}') dev ${VETH} nud permanent`);
    chmodSync(tmp, 0o755);
  }, 30_000);

  afterAll(() => {
    sh(`ip netns del ${A} 2>/dev/null || true; ip netns del ${B} 2>/dev/null || true`);
    rmSync(tmp, { recursive: true, force: true });
  });

  it('a stopped consumer with a small ring: captured + dropped = sent, exactly; drops event, summary incomplete (exit 3), Prometheus counter', async () => {
    const port = 9009;
    const metricsPort = 19471;
    // 64 KiB ring, 128-byte snaplen: a few hundred frames fit; the rest of the burst is dropped.
    const m = startMonitor(['--buffer-size', '0.0625', '--snaplen', '128', '--filter', `udp and dst port ${port}`, '--metrics', `127.0.0.1:${metricsPort}`]);
    try {
      await until('the monitor to run', () => m.stderr().includes('monitoring'));
      m.child.kill('SIGSTOP');
      const sent = sendUdp(5000, port, 64);
      expect(sent).toBe(5000);
      m.child.kill('SIGCONT');
      await until('a drops event', () => m.events.some((e) => e.event === 'drops'));
      const metrics = sh(`ip netns exec ${A} curl -s http://127.0.0.1:${metricsPort}/metrics`);
      m.child.kill('SIGINT');
      const code = await m.exit;

      const stats = m.events.filter((e): e is StatsEvent => e.event === 'stats').at(-1)!;
      const pcap = stats.pcap[0]!;
      expect(pcap.interface).toBe(VETH);
      expect(pcap.dropped).toBeGreaterThan(1000);
      expect(pcap.captured + pcap.dropped).toBe(sent);
      expect(pcap.received).toBe(sent); // ps_recv on Linux: every packet into the socket, dropped or not
      expect(pcap.ifDropped).toBe(0);
      expect(stats.packets).toBe(pcap.captured);

      const drops = m.events.filter((e): e is DropsEvent => e.event === 'drops');
      expect(drops.reduce((n, d) => n + d.dropped, 0)).toBe(pcap.dropped);
      expect(drops.at(-1)!.totalDropped).toBe(pcap.dropped);
      for (const d of drops) {
        expect(d.interface).toBe(VETH);
        expect(Date.parse(d.since)).toBeLessThanOrEqual(Date.parse(d.at));
      }
      const dropped = Number(/^netmatrix_pcap_dropped_total\{interface="nmcap0"\} (\d+)$/m.exec(metrics)?.[1]);
      expect(dropped).toBe(pcap.dropped);

      const summary = m.events.find((e): e is SummaryEvent => e.event === 'summary')!;
      expect(summary.complete).toBe(false);
      expect(summary.violations).toBe(0);
      expect(code).toBe(3);
      expect(m.stderr()).toContain(`${pcap.dropped} packets were dropped before netmatrix saw them`);
    } finally {
      m.child.kill('SIGKILL');
    }
  }, 60_000);

  it('kernel timestamps: evidence times within 10 ms of tcpdump for the same packets; origLen is the wire length under --snaplen', async () => {
    const port = 8484; // the node GUI port, reached from outside: violations, so the flow is written as evidence
    const evidenceDir = join(tmp, 'evidence');
    mkdirSync(evidenceDir);
    const nobody = sh('id -u nobody; id -g nobody').trim().split('\n').map(Number);
    chownSync(evidenceDir, nobody[0]!, nobody[1]!);
    const evidence = join(evidenceDir, 'e.pcap');
    const tcpdumpFile = join(tmp, 'tcpdump.pcap');
    // A node at DST: the sender (outside the inventory) reaching its GUI port is a violation.
    const tcpdump = spawn('ip', ['netns', 'exec', A, 'tcpdump', '-i', VETH, '-n', '-U', '--immediate-mode', '-Z', 'root', '--time-stamp-precision=nano', '-w', tcpdumpFile, 'udp'], { stdio: ['ignore', 'ignore', 'pipe'] });
    let tdErr = '';
    tcpdump.stderr?.on('data', (d: Buffer) => (tdErr += d.toString()));
    const m = startMonitor(['--node', DST, '--snaplen', '100', '--filter', 'udp', '--write-evidence', evidence]);
    try {
      await until('tcpdump to listen', () => tdErr.includes('listening on'));
      await until('the monitor to run', () => m.stderr().includes('monitoring'));
      expect(sendUdp(20, port, 600)).toBe(20);
      await until('an alert', () => m.events.some((e) => e.event === 'alert'));
      await new Promise((r) => setTimeout(r, 300));
      tcpdump.kill('SIGINT');
      m.child.kill('SIGINT');
      await m.exit;
      await new Promise<void>((r) => (tcpdump.exitCode !== null ? r() : tcpdump.on('exit', () => r())));

      const ours = readPcap(readFileSync(evidence));
      const theirs = readPcap(readFileSync(tcpdumpFile));
      expect(ours.length).toBe(20);
      expect(theirs.length, tdErr).toBe(20);
      const byIndex = new Map(theirs.map((p) => [p.index, p]));
      for (const p of ours) {
        const t = byIndex.get(p.index)!;
        expect(t).toBeDefined();
        expect(Math.abs(p.time - t.time)).toBeLessThan(0.01);
        expect(p.caplen).toBe(100);
        expect(p.origLen).toBe(14 + 20 + 8 + 600);
        expect(p.origLen).toBe(t.origLen);
      }
    } finally {
      m.child.kill('SIGKILL');
      tcpdump.kill('SIGKILL');
    }
  }, 60_000);
});

/** Classic pcap (µs or ns, little-endian as written here) to records: time, lengths, and the datagram's index (first 4 payload bytes). */
function readPcap(buf: Buffer): { time: number; caplen: number; origLen: number; index: number }[] {
  const magic = buf.readUInt32LE(0);
  const nano = magic === 0xa1b23c4d;
  expect([0xa1b2c3d4, 0xa1b23c4d]).toContain(magic);
  const out: { time: number; caplen: number; origLen: number; index: number }[] = [];
  for (let off = 24; off + 16 <= buf.length; ) {
    const sec = buf.readUInt32LE(off);
    const frac = buf.readUInt32LE(off + 4);
    const caplen = buf.readUInt32LE(off + 8);
    const origLen = buf.readUInt32LE(off + 12);
    const data = buf.subarray(off + 16, off + 16 + caplen);
    // Ethernet (14) + IPv4 (20) + UDP (8), then the index the sender wrote.
    out.push({ time: sec + frac / (nano ? 1e9 : 1e6), caplen, origLen, index: data.readUInt32BE(42) });
    off += 16 + caplen;
  }
  return out;
}
