/**
 * The benchmark harness stays working: a small workload from the generator is judged exactly as the
 * generator built it, and `run.mjs --small` completes and prints its table. No timing is asserted.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { generateWorkload, INVENTORY_FLAGS, NETWORK, PORTS, type FlowKind, type WorkloadManifest } from './generate.mjs';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const tmp = mkdtempSync(join(tmpdir(), 'nm-bench-test-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Endpoint {
  ip: string;
  port: number;
  role: string;
  packets: number;
  bytes: number;
}
interface FlowRecord {
  transport: 'tcp' | 'udp';
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
  };
}

async function analyze(file: string): Promise<{ code: number; report: Report; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['analyze', file, ...INVENTORY_FLAGS, '--format', 'json'], {
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

describe('npm run bench --small (test/bench/run.mjs)', () => {
  it('completes and prints the table, the targets and the JSON results', () => {
    const cli = join(repo, 'dist', 'bin', 'netmatrix.cjs');
    expect(existsSync(cli), 'dist/bin/netmatrix.cjs: build first (npm test runs npm run build before vitest)').toBe(true);
    const json = join(tmp, 'results.json');
    const r = spawnSync(process.execPath, [join(repo, 'test', 'bench', 'run.mjs'), '--small', '--json', json], { encoding: 'utf8', timeout: 180_000 });
    expect(r.stderr).not.toMatch(/^bench: /m);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/^tool\s+median s\s+min s\s+max s\s+cpu s\s+packets\/s\s+MB\/s\s+peak RSS MB\s+time vs netmatrix$/m);
    expect(r.stdout).toMatch(/^netmatrix\s+\d/m);
    expect(r.stdout).toMatch(/^netmatrix-2x\s+\d/m);
    expect(r.stdout).toContain('targets:');
    expect(r.stdout).toMatch(/machine: .+ cores/);
    const results = JSON.parse(readFileSync(json, 'utf8')) as {
      workload: { packets: number };
      results: Record<string, { median: number; peakRssMB: number }>;
      targets: { result: string }[];
      validation: { netmatrix: { frames: number } };
    };
    expect(results.workload.packets).toBe(3000);
    expect(results.validation.netmatrix.frames).toBe(3000);
    expect(results.results.netmatrix?.median).toBeGreaterThan(0);
    expect(results.results.netmatrix?.peakRssMB).toBeGreaterThan(0);
    expect(results.targets).toHaveLength(4);
    for (const t of results.targets) expect(['PASS', 'FAIL', 'SKIP']).toContain(t.result);
  }, 240_000);
});
