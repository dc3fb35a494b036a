/**
 * The benchmark harness stays working: a small workload from the generator is judged exactly as the
 * generator built it, and `run.mjs --small` completes and prints its table. No timing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { generateWorkload, INVENTORY_FLAGS, NETWORK, PORTS, type FlowKind, type WorkloadManifest } from './generate.mjs';
import {
  defaultTransferFlows, generateTransferWorkload, TRANSFER_INVENTORY_FLAGS, TRANSFER_NETWORK, TRANSFER_PORTS, type TransferKind, type TransferManifest,
} from './transfer.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'nm-bench-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Endpoint {
  ip: string;
  port: number;
  role: string;
  host?: string;
  packets: number;
  bytes: number;
}
interface FlowRecord {
  transport: 'tcp' | 'udp';
  start: string;
  end: string;
  client: Endpoint;
  server: Endpoint;
  service: string;
  serviceBy: string;
  tls?: { version: string; sni?: string; alpn: string[] };
  http?: { method: string; target: string; host?: string };
  wireguard?: { messageTypes: number[] };
  state: string;
  packets: number;
  bytes: number;
  rule: string | null;
  verdict: string;
  findings: { code: string; severity: string }[];
}
interface Report {
  flows: FlowRecord[];
  captureFindings: unknown[];
  complete: boolean;
  summary: {
    frames: number;
    flows: number;
    verdicts: Record<string, number>;
    findings: Record<string, number>;
    decode: { packets: number; malformed: number; truncated: number; skipped: number };
    flowTable: { evicted: number; timedOut: number };
    exitCode: number;
    inputs: { file: string; frames: number; complete: boolean }[];
  };
}

async function analyze(file: string | string[], inventory: string[] = INVENTORY_FLAGS): Promise<{ code: number; report: Report; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['analyze', ...(Array.isArray(file) ? file : [file]), ...inventory, '--format', 'json'], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stdoutIsTTY: false,
    stderrIsTTY: false,
  });
  return { code, report: JSON.parse(stdout) as Report, stderr };
}

/** Which generator kind a judged flow is, from its endpoints alone. */
function kindOf(f: FlowRecord): FlowKind | 'other' {
  if (f.transport === 'udp') return f.server.port === PORTS.wireguard && f.server.ip === NETWORK.vpnserver ? 'wireguard' : 'other';
  if (NETWORK.scanners.includes(f.client.ip)) return 'scan';
  if (f.server.port === PORTS.gui && f.client.ip === NETWORK.localhost) return 'gui';
  if (PORTS.secagg.includes(f.server.port)) return 'secagg';
  if (f.server.port === PORTS.grpc && f.server.ip === NETWORK.researcher) return f.tls ? 'grpc' : 'liveness';
  return 'other';
}

const sha256 = (file: string): string => createHash('sha256').update(readFileSync(file)).digest('hex');

describe('benchmark workload (test/bench/generate.mjs)', () => {
  let manifest: WorkloadManifest;
  let result: Awaited<ReturnType<typeof analyze>>;
  const file = join(tmp, 'small.pcap');

  beforeAll(async () => {
    manifest = generateWorkload({ packets: 4000, seed: 7, out: file });
    result = await analyze(file);
  });

  it('has exactly the packets and flows asked for, every kind present', () => {
    expect(manifest.packets).toBe(4000);
    expect(manifest.flows.total).toBe(160);
    for (const kind of ['grpc', 'liveness', 'secagg', 'gui', 'scan', 'wireguard'] as const) expect(manifest.flows[kind]).toBeGreaterThan(0);
    expect(Object.values(manifest.packetsByKind).reduce((a, b) => a + b, 0)).toBe(4000);
    // gRPC over TLS carries most of the traffic.
    expect(manifest.packetsByKind.grpc / manifest.packets).toBeGreaterThan(0.5);
  });

  it('is deterministic: same seed, same bytes; another seed, other bytes', () => {
    const again = join(tmp, 'again.pcap');
    const other = join(tmp, 'other.pcap');
    generateWorkload({ packets: 4000, seed: 7, out: again, writeSidecars: false });
    generateWorkload({ packets: 4000, seed: 8, out: other, writeSidecars: false });
    expect(sha256(again)).toBe(sha256(file));
    expect(sha256(other)).not.toBe(sha256(file));
  });

  it('netmatrix reads every packet and finds every flow, nothing malformed or evicted', () => {
    const { code, report, stderr } = result;
    expect(stderr).toBe('');
    expect(code).toBe(1); // the scans and the WireGuard flows are violations under the native matrix
    expect(report.complete).toBe(true);
    expect(report.summary.frames).toBe(manifest.packets);
    expect(report.summary.decode).toMatchObject({ packets: manifest.packets, malformed: 0, truncated: 0, skipped: 0 });
    expect(report.summary.flows).toBe(manifest.flows.total);
    expect(report.flows).toHaveLength(manifest.flows.total);
    expect(report.summary.flowTable).toMatchObject({ evicted: 0 });
    expect(report.flows.reduce((n, f) => n + f.packets, 0)).toBe(manifest.packets);
  });

  it('flows and packets per kind are the generator’s', () => {
    const flows: Record<string, number> = {};
    const packets: Record<string, number> = {};
    for (const f of result.report.flows) {
      const k = kindOf(f);
      flows[k] = (flows[k] ?? 0) + 1;
      packets[k] = (packets[k] ?? 0) + f.packets;
    }
    const { total: _total, ...byKind } = manifest.flows;
    expect(flows).toEqual(byKind);
    expect(packets).toEqual(manifest.packetsByKind);
  });

  it('judges each kind as the matrix says', () => {
    const byKind = (k: FlowKind): FlowRecord[] => result.report.flows.filter((f) => kindOf(f) === k);
    for (const f of byKind('grpc')) {
      expect(f).toMatchObject({ rule: 'node-researcher-grpc', verdict: 'allowed', service: 'tls', serviceBy: 'payload', state: 'SF', findings: [] });
      expect(f.tls).toEqual({ version: 'TLSv1.3', sni: 'researcher', alpn: ['h2'] });
      expect([f.client.role, f.server.role]).toEqual(['node', 'researcher']);
    }
    for (const f of byKind('liveness')) {
      expect(f).toMatchObject({ rule: 'node-researcher-grpc', verdict: 'allowed', service: 'tls', serviceBy: 'port', state: 'SF', packets: 6, findings: [] });
    }
    for (const f of byKind('secagg')) {
      expect(f).toMatchObject({ rule: 'secagg-node', verdict: 'allowed', service: 'mpspdz', serviceBy: 'port', state: 'SF', findings: [] });
      expect([f.client.role, f.server.role]).toEqual(['node', 'node']);
    }
    for (const f of byKind('gui')) {
      expect(f).toMatchObject({ rule: 'node-gui', verdict: 'allowed', service: 'http', serviceBy: 'payload', state: 'SF', findings: [] });
      expect(f.http).toMatchObject({ method: 'GET', host: 'localhost:8484' });
      expect(f.client.role).toBe('localhost');
    }
    for (const f of byKind('wireguard')) {
      expect(f).toMatchObject({ rule: null, verdict: 'violation', service: 'wireguard', serviceBy: 'payload', state: 'SF' });
      expect(f.findings.map((x) => x.code)).toEqual(['not-in-matrix']);
      expect(f.wireguard?.messageTypes).toEqual([1, 2, 4]);
      expect([f.client.role, f.server.role]).toEqual(['node', 'vpnserver']);
    }
    for (const f of byKind('scan')) {
      expect(f).toMatchObject({ rule: null, verdict: 'violation' });
      expect(f.findings.map((x) => x.code)).toEqual(['inbound-to-node']);
      expect(['REJ', 'RSTO']).toContain(f.state);
      expect([f.client.role, f.server.role]).toEqual(['internet', 'node']);
    }
  });

  it('summary: only the expected findings, no protocol mismatch, no capture-level finding', () => {
    const { summary, captureFindings } = result.report;
    expect(summary.findings).toEqual({ 'inbound-to-node': manifest.flows.scan, 'not-in-matrix': manifest.flows.wireguard });
    expect(summary.verdicts).toEqual({
      allowed: manifest.flows.grpc + manifest.flows.liveness + manifest.flows.secagg + manifest.flows.gui,
      violation: manifest.flows.scan + manifest.flows.wireguard,
      warning: 0,
      local: 0,
      'out-of-scope': 0,
    });
    expect(captureFindings).toEqual([]);
    expect(summary.exitCode).toBe(1);
  });

  it('the hosts file beside the pcap is the same inventory as the flags', async () => {
    expect(manifest.hostsFile).toBeDefined();
    let stdout = '';
    const code = await run(['analyze', file, '--hosts', manifest.hostsFile as string, '--format', 'json'], {
      stdout: (t) => (stdout += t),
      stderr: () => {},
      stdoutIsTTY: false,
      stderrIsTTY: false,
    });
    expect(code).toBe(1);
    const report = JSON.parse(stdout) as Report;
    expect(report.summary.verdicts).toEqual(result.report.summary.verdicts);
    expect(report.summary.findings).toEqual(result.report.summary.findings);
  });
});

/** Which generator kind a judged flow of the transfer profile is, from its endpoints alone. */
function transferKindOf(f: FlowRecord): TransferKind | 'other' {
  const N = TRANSFER_NETWORK;
  if (f.transport === 'udp') return f.server.port === TRANSFER_PORTS.wireguard && [N.vpnserver, N.vpnserver6].includes(f.server.ip) ? 'wireguard' : 'other';
  if ([...N.scanners, ...N.scanners6].includes(f.client.ip)) return 'scan';
  if (PORTS.secagg.includes(f.server.port)) return 'secagg';
  if (f.server.port === TRANSFER_PORTS.grpc && [N.researcher, N.researcher6].includes(f.server.ip)) return f.tls ? 'grpc' : 'liveness';
  return 'other';
}

/** The inventory's name of a node address of the transfer profile, IPv4 or IPv6 (one machine, both). */
function nodeName(ip: string): string {
  const i = ip.includes(':') ? parseInt(ip.slice(ip.lastIndexOf(':') + 1), 16) : Number(ip.split('.')[3]);
  return `node${String(i).padStart(2, '0')}`;
}

const sum16 = (b: Uint8Array, start: number, end: number, sum: number): number => {
  let i = start;
  for (; i + 1 < end; i += 2) sum += (b[i]! << 8) | b[i + 1]!;
  if (i < end) sum += b[i]! << 8;
  return sum;
};
const folded = (sum: number): number => {
  while (sum > 0xffff) sum = (sum & 0xffff) + Math.floor(sum / 65536);
  return sum;
};

interface Walk {
  headers: { magic: number; snaplen: number; linktype: number }[];
  frames: number;
  firstTs: number[];
  inOrder: boolean;
  vlanFrames: number;
  ipv6Packets: number;
  /** TCP segments with more payload than one full-size segment (1448 over IPv4, 1428 over IPv6). */
  offloadFrames: number;
  maxIpPacket: number;
  ipBytes: number;
  /** Frames failing a check: cut short, a length field wrong, a bad checksum, not IP. */
  bad: number;
  /** TCP segments carrying payload to or from port 50051. */
  grpcDataPackets: number;
}

/** Reads classic Ethernet pcap files record by record and checks every IPv4/IPv6/TCP/UDP length and checksum. */
function walk(files: string[]): Walk {
  const w: Walk = { headers: [], frames: 0, firstTs: [], inOrder: true, vlanFrames: 0, ipv6Packets: 0, offloadFrames: 0, maxIpPacket: 0, ipBytes: 0, bad: 0, grpcDataPackets: 0 };
  let lastTs = -Infinity;
  for (const file of files) {
    const b = readFileSync(file);
    w.headers.push({ magic: b.readUInt32LE(0), snaplen: b.readUInt32LE(16), linktype: b.readUInt32LE(20) });
    for (let o = 24; o < b.length; ) {
      const ts = b.readUInt32LE(o) + b.readUInt32LE(o + 4) / 1e6;
      const caplen = b.readUInt32LE(o + 8);
      if (b.readUInt32LE(o + 12) !== caplen) w.bad++;
      if (o === 24) w.firstTs.push(ts);
      if (ts < lastTs) w.inOrder = false;
      lastTs = ts;
      const f = o + 16;
      const end = f + caplen;
      o = end;
      w.frames++;
      let type = b.readUInt16BE(f + 12);
      let l3 = f + 14;
      if (type === 0x8100) {
        w.vlanFrames++;
        type = b.readUInt16BE(f + 16);
        l3 = f + 18;
      }
      let l4: number;
      let l4Len: number;
      let proto: number;
      let pseudo: number;
      if (type === 0x0800) {
        const ihl = (b[l3]! & 15) * 4;
        if (b.readUInt16BE(l3 + 2) !== end - l3 || folded(sum16(b, l3, l3 + ihl, 0)) !== 0xffff) w.bad++;
        proto = b[l3 + 9]!;
        l4 = l3 + ihl;
        l4Len = end - l4;
        pseudo = sum16(b, l3 + 12, l3 + 20, 0) + proto + l4Len;
      } else if (type === 0x86dd) {
        w.ipv6Packets++;
        if (b.readUInt16BE(l3 + 4) !== end - l3 - 40) w.bad++;
        proto = b[l3 + 6]!;
        l4 = l3 + 40;
        l4Len = end - l4;
        pseudo = sum16(b, l3 + 8, l3 + 40, 0) + proto + l4Len;
      } else {
        w.bad++;
        continue;
      }
      w.ipBytes += end - l3;
      w.maxIpPacket = Math.max(w.maxIpPacket, end - l3);
      if (folded(sum16(b, l4, end, pseudo)) !== 0xffff) w.bad++;
      if (proto === 6) {
        const payload = l4Len - (b[l4 + 12]! >> 4) * 4;
        if (payload > (type === 0x86dd ? 1428 : 1448)) w.offloadFrames++;
        if (payload > 0 && (b.readUInt16BE(l4) === PORTS.grpc || b.readUInt16BE(l4 + 2) === PORTS.grpc)) w.grpcDataPackets++;
      }
    }
  }
  return w;
}

describe('benchmark workload, transfer profile (test/bench/transfer.mjs): a rotated set', () => {
  let manifest: TransferManifest;
  let result: Awaited<ReturnType<typeof analyze>>;
  let files: Walk;
  const out = join(tmp, 'transfer', 'set');

  beforeAll(async () => {
    manifest = generateTransferWorkload({ packets: 12_000, seed: 7, out });
    files = walk(manifest.files);
    result = await analyze(manifest.files, ['--hosts', manifest.hostsFile as string]);
  });

  it('has exactly the packets and flows asked for, every kind present, in 4 files', () => {
    expect(manifest.packets).toBe(12_000);
    expect(manifest.flows.total).toBe(defaultTransferFlows(12_000));
    for (const kind of ['grpc', 'liveness', 'secagg', 'scan', 'wireguard'] as const) expect(manifest.flows[kind]).toBeGreaterThan(0);
    expect(Object.values(manifest.packetsByKind).reduce((a, b) => a + b, 0)).toBe(12_000);
    expect(manifest.files).toHaveLength(4);
    expect(manifest.filesDetail.map((f) => f.packets)).toEqual([3000, 3000, 3000, 3000]);
    for (const f of manifest.files) expect(basename(f)).toMatch(/^set_0000[1-4]_2026030913\d{4}\.pcap$/);
    expect(manifest.models.count).toBeGreaterThan(0);
    expect(manifest.models.overOneMB).toBeGreaterThan(0);
  });

  it('every file is a whole pcap with its own header; the frames are valid and what the manifest counts', () => {
    expect(files.headers).toEqual(manifest.files.map(() => ({ magic: 0xa1b2c3d4, snaplen: 262144, linktype: 1 })));
    expect(files.frames).toBe(manifest.packets);
    expect(files.bad).toBe(0);
    expect(files.inOrder).toBe(true);
    expect(files.firstTs).toEqual(manifest.filesDetail.map((f) => f.firstTs));
    expect(files.ipBytes).toBe(manifest.ipBytes);
    expect(files.vlanFrames).toBe(manifest.vlan.frames);
    expect(files.ipv6Packets).toBe(manifest.ipv6.packets);
    expect(files.offloadFrames).toBe(manifest.offload.frames);
    expect(files.maxIpPacket).toBe(manifest.offload.maxIpPacketBytes);
    // The shape asked for: offload frames up to 64 KB, some IPv6, some VLAN-tagged, not all.
    expect(manifest.offload.frames).toBeGreaterThan(0);
    expect(manifest.offload.maxIpPacketBytes).toBeGreaterThan(60_000);
    expect(manifest.offload.maxIpPacketBytes).toBeLessThanOrEqual(65_535);
    expect(manifest.ipv6.flows).toBeGreaterThan(0);
    expect(manifest.ipv6.flows).toBeLessThan(manifest.flows.total);
    expect(manifest.vlan.frames).toBeGreaterThan(0);
    expect(manifest.vlan.frames).toBeLessThan(manifest.packets);
  });

  it('carries more data packets per gRPC connection than the default profile', () => {
    const def = join(tmp, 'default-compare.pcap');
    const d = generateWorkload({ packets: 4000, seed: 7, out: def, writeSidecars: false });
    const perFlowDefault = walk([def]).grpcDataPackets / d.flows.grpc;
    const perFlowTransfer = files.grpcDataPackets / manifest.flows.grpc;
    expect(files.grpcDataPackets).toBe(manifest.dataPacketsByKind.grpc);
    expect(perFlowTransfer).toBeGreaterThan(3 * perFlowDefault);
  });

  it('is deterministic: same seed, same bytes; another seed, other bytes', () => {
    const again = generateTransferWorkload({ packets: 12_000, seed: 7, out: join(tmp, 'transfer-again', 'set'), writeSidecars: false });
    const other = generateTransferWorkload({ packets: 12_000, seed: 8, out: join(tmp, 'transfer-other', 'set'), writeSidecars: false });
    expect(again.files.map(sha256)).toEqual(manifest.files.map(sha256));
    expect(other.files.map(sha256)).not.toEqual(manifest.files.map(sha256));
  });

  it('netmatrix reads every frame of every file (VLAN, IPv6, offload frames) and finds every flow', () => {
    const { code, report, stderr } = result;
    expect(stderr).toBe('');
    expect(code).toBe(1);
    expect(report.complete).toBe(true);
    expect(report.summary.frames).toBe(manifest.packets);
    expect(report.summary.decode).toMatchObject({ packets: manifest.packets, malformed: 0, truncated: 0, skipped: 0 });
    expect(report.summary.inputs.map((i) => [basename(i.file), i.frames, i.complete])).toEqual(manifest.filesDetail.map((f) => [basename(f.file), f.packets, true]));
    expect(report.summary.flows).toBe(manifest.flows.total);
    expect(report.flows).toHaveLength(manifest.flows.total);
    expect(report.summary.flowTable).toMatchObject({ evicted: 0 });
    expect(report.flows.reduce((n, f) => n + f.packets, 0)).toBe(manifest.packets);
    expect(report.flows.reduce((n, f) => n + f.bytes, 0)).toBe(manifest.ipBytes);
    expect(report.flows.filter((f) => f.client.ip.includes(':'))).toHaveLength(manifest.ipv6.flows);
  });

  it('connections continue across the file boundaries', () => {
    const boundaries = manifest.filesDetail.slice(1).map((f) => f.firstTs);
    const across = result.report.flows.filter((f) => boundaries.some((b) => Date.parse(f.start) / 1000 < b && Date.parse(f.end) / 1000 > b));
    expect(across.filter((f) => transferKindOf(f) === 'grpc').length).toBeGreaterThan(0);
  });

  it('flows and packets per kind are the generator’s', () => {
    const flows: Record<string, number> = {};
    const packets: Record<string, number> = {};
    for (const f of result.report.flows) {
      const k = transferKindOf(f);
      flows[k] = (flows[k] ?? 0) + 1;
      packets[k] = (packets[k] ?? 0) + f.packets;
    }
    const { total: _total, ...byKind } = manifest.flows;
    expect(flows).toEqual(byKind);
    expect(packets).toEqual(manifest.packetsByKind);
  });

  it('judges each flow as the matrix says, over IPv4 and IPv6, each node one machine with both addresses', () => {
    const byKind = (k: TransferKind): FlowRecord[] => result.report.flows.filter((f) => transferKindOf(f) === k);
    for (const f of byKind('grpc')) {
      expect(f).toMatchObject({ rule: 'node-researcher-grpc', verdict: 'allowed', service: 'tls', serviceBy: 'payload', state: 'SF', findings: [] });
      expect(f.tls).toEqual({ version: 'TLSv1.3', sni: 'researcher', alpn: ['h2'] });
      expect([f.client.role, f.server.role, f.client.host, f.server.host]).toEqual(['node', 'researcher', nodeName(f.client.ip), 'researcher']);
    }
    for (const f of byKind('liveness')) {
      expect(f).toMatchObject({ rule: 'node-researcher-grpc', verdict: 'allowed', service: 'tls', serviceBy: 'port', state: 'SF', packets: 6, findings: [] });
      expect(f.client.host).toBe(nodeName(f.client.ip));
    }
    for (const f of byKind('secagg')) {
      expect(f).toMatchObject({ rule: 'secagg-node', verdict: 'allowed', service: 'mpspdz', serviceBy: 'port', state: 'SF', findings: [] });
      expect([f.client.role, f.server.role, f.client.host, f.server.host]).toEqual(['node', 'node', nodeName(f.client.ip), nodeName(f.server.ip)]);
    }
    for (const f of byKind('wireguard')) {
      expect(f).toMatchObject({ rule: null, verdict: 'violation', service: 'wireguard', serviceBy: 'payload', state: 'SF' });
      expect(f.findings.map((x) => x.code)).toEqual(['not-in-matrix']);
      expect(f.wireguard?.messageTypes).toEqual([1, 2, 4]);
      expect([f.client.role, f.server.role, f.server.host]).toEqual(['node', 'vpnserver', 'vpnserver']);
    }
    for (const f of byKind('scan')) {
      expect(f).toMatchObject({ rule: null, verdict: 'violation' });
      expect(f.findings.map((x) => x.code)).toEqual(['inbound-to-node']);
      expect(['REJ', 'RSTO']).toContain(f.state);
      expect([f.client.role, f.server.role]).toEqual(['internet', 'node']);
    }
    // Both families in the kinds that carry the traffic.
    for (const k of ['grpc', 'liveness', 'scan'] as const) {
      expect(new Set(byKind(k).map((f) => f.client.ip.includes(':')))).toEqual(new Set([true, false]));
    }
  });

  it('summary: only the expected findings, no capture-level finding; the flags give the same verdicts as the hosts file', async () => {
    const { summary, captureFindings } = result.report;
    expect(summary.findings).toEqual({ 'inbound-to-node': manifest.flows.scan, 'not-in-matrix': manifest.flows.wireguard });
    expect(summary.verdicts).toEqual({
      allowed: manifest.flows.grpc + manifest.flows.liveness + manifest.flows.secagg,
      violation: manifest.flows.scan + manifest.flows.wireguard,
      warning: 0,
      local: 0,
      'out-of-scope': 0,
    });
    expect(captureFindings).toEqual([]);
    const flags = await analyze(manifest.files, TRANSFER_INVENTORY_FLAGS);
    expect(flags.code).toBe(1);
    expect(flags.report.summary.verdicts).toEqual(summary.verdicts);
    expect(flags.report.summary.findings).toEqual(summary.findings);
  });
});

describe('npm run bench --small (test/bench/run.mjs)', () => {
  it('completes both workloads and prints the tables, the targets and the JSON results', () => {
    const cli = join(repo, 'dist', 'bin', 'netmatrix.cjs');
    expect(existsSync(cli), 'dist/bin/netmatrix.cjs: build first (npm test runs npm run build before vitest)').toBe(true);
    const json = join(tmp, 'results.json');
    const r = spawnSync(process.execPath, [join(repo, 'test', 'bench', 'run.mjs'), '--small', '--json', json], { encoding: 'utf8', timeout: 180_000 });
    expect(r.stderr).not.toMatch(/^bench: /m);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^== workload default \(seed 1\): 3,000 packets/m);
    expect(r.stdout).toMatch(/^== workload transfer \(seed 1\): 6,000 packets, \d+ flows, [\d.]+ MB in 4 rotated files/m);
    expect(r.stdout.match(/^tool\s+median s\s+min s\s+max s\s+cpu s\s+packets\/s\s+MB\/s\s+peak RSS MB\s+time vs netmatrix$/gm)).toHaveLength(2);
    expect(r.stdout.match(/^netmatrix\s+\d/gm)).toHaveLength(2);
    expect(r.stdout.match(/^netmatrix-2x\s+\d/gm)).toHaveLength(2);
    expect(r.stdout).toContain('targets (default):');
    expect(r.stdout).toContain('targets (transfer):');
    expect(r.stdout).toMatch(/machine: .+ cores/);
    const results = JSON.parse(readFileSync(json, 'utf8')) as {
      workloads: Record<'default' | 'transfer', {
        packets: number;
        files: number;
        results: Record<string, { median: number; peakRssMB: number; files: number }>;
        targets: { result: string }[];
        validation: { netmatrix: { frames: number; flows: number; malformed: number } };
      }>;
      targets: { workload: string; result: string }[];
    };
    const { default: def, transfer } = results.workloads;
    expect([def.packets, def.files, transfer.packets, transfer.files]).toEqual([3000, 1, 6000, 4]);
    expect(def.validation.netmatrix.frames).toBe(3000);
    expect(transfer.validation.netmatrix).toMatchObject({ frames: 6000, malformed: 0 });
    for (const w of [def, transfer]) {
      expect(w.results.netmatrix?.median).toBeGreaterThan(0);
      expect(w.results.netmatrix?.peakRssMB).toBeGreaterThan(0);
      expect(w.targets).toHaveLength(4);
    }
    expect(transfer.results['netmatrix-2x']?.files).toBe(8);
    expect(results.targets.map((t) => t.workload)).toEqual([...Array(4).fill('default'), ...Array(4).fill('transfer')]);
    for (const t of results.targets) expect(['PASS', 'FAIL', 'SKIP']).toContain(t.result);
  }, 240_000);
});
