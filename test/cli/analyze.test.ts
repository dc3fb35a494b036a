import { mkdtempSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { cli } from '../helpers/cli.js';
import { tcpConnectionFrames } from '../helpers/frames.js';
import { pcapBytes } from '../helpers/pcap.js';
import { clientHello } from '../helpers/tls.js';

const CLEAN = ['captures/node-clean.pcapng', '--hosts', 'captures/lab.hosts.yaml'];
const tmp = mkdtempSync(join(tmpdir(), 'nm-cli-'));

function hostileCapture(): string {
  const hello = clientHello({ sni: '\u001b]0;pwned\u0007\u001b[2J<script>alert(1)</script>.evil', alpn: ['h2', '\u001b[31mred'] });
  const file = join(tmp, 'hostile.pcap');
  writeFileSync(file, pcapBytes(tcpConnectionFrames({ t0: 1_700_000_000, client: '10.0.0.2', cport: 40000, server: '203.0.113.5', sport: 443, request: hello })));
  return file;
}

describe('netmatrix analyze', () => {
  it('a clean node capture exits 0 with the table and a compliant result', async () => {
    const { code, stdout, stderr } = await cli('analyze', ...CLEAN);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(stdout).toContain('node -> researcher');
    expect(stdout).toContain('node-researcher-grpc');
    expect(stdout).toContain('RESULT: compliant with the matrix');
  });

  it('--format json is one document with matrix, complete, summary and flows', async () => {
    const { code, stdout } = await cli('analyze', ...CLEAN, '--format', 'json');
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as Record<string, unknown> & { flows: Record<string, unknown>[]; summary: Record<string, unknown> };
    expect(Object.keys(doc)).toEqual(expect.arrayContaining(['matrix', 'complete', 'summary', 'flows']));
    expect(doc.complete).toBe(true);
    const grpc = doc.flows.find((f) => f.rule === 'node-researcher-grpc' && (f.tls as { alpn: string[] } | undefined)?.alpn.includes('h2'));
    expect(grpc).toMatchObject({
      transport: 'tcp',
      client: { ip: '10.77.0.2', role: 'node' },
      server: { ip: '10.77.0.1', port: 50051, role: 'researcher' },
      service: 'tls',
      serviceBy: 'payload',
      verdict: 'allowed',
      findings: [],
    });
    expect(grpc?.start).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    expect(typeof grpc?.packets).toBe('number');
    expect(typeof grpc?.bytes).toBe('number');
    expect(doc.summary.exitCode).toBe(0);
  });

  it('--format jsonl: a header, one line per flow, the summary last', async () => {
    const { stdout } = await cli('analyze', ...CLEAN, '--format', 'jsonl');
    const lines = stdout.trim().split('\n').map((l) => JSON.parse(l) as { record: string });
    expect(lines[0]?.record).toBe('header');
    expect(lines.at(-1)?.record).toBe('summary');
    expect(lines.filter((l) => l.record === 'flow').length).toBeGreaterThan(3);
  });

  it('violations exit 1 and are listed with their reason', async () => {
    const { code, stdout } = await cli('analyze', 'captures/node-inbound.pcap', '--hosts', 'captures/lab.hosts.yaml');
    expect(code).toBe(1);
    expect(stdout).toContain('inbound-to-node');
    expect(stdout).toContain('10.77.0.66');
    expect(stdout).toContain('RESULT: VIOLATIONS');
  });

  it('an inventory that matches nothing in the capture is called out, not passed silently', async () => {
    const { code, stderr } = await cli('analyze', 'captures/node-clean.pcapng', '--node', '192.0.2.7');
    expect(code).toBe(0);
    expect(stderr).toMatch(/^netmatrix: warning: none of the \d+ flows involves a host of the inventory; check --node/);
    const ok = await cli('analyze', ...CLEAN);
    expect(ok.stderr).toBe('');
  });

  it('--output writes the report and refuses to overwrite the input capture', async () => {
    const out = join(tmp, 'r.json');
    const ok = await cli('analyze', ...CLEAN, '--format', 'json', '--output', out);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toBe('');
    expect((JSON.parse(readFileSync(out, 'utf8')) as { complete: boolean }).complete).toBe(true);
    const bad = await cli('analyze', ...CLEAN, '--output', 'captures/node-clean.pcapng');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('netmatrix: --output captures/node-clean.pcapng is one of the input captures; refusing to overwrite it\n');
  });

  it('usage, rules and input errors are one line and exit 2', async () => {
    const cases: [string[], RegExp][] = [
      [['analyze', 'captures/node-clean.pcapng'], /^netmatrix: no inventory: give --node/],
      [['analyze', ...CLEAN, '--matrix', 'nope'], /^netmatrix: unknown matrix "nope"/],
      [['analyze', 'missing.pcap', '--node', '10.0.0.2'], /^netmatrix: missing.pcap: /],
      [['analyze', 'package.json', '--node', '10.0.0.2'], /^netmatrix: package.json.*not a pcap or pcapng file/],
      [['analyze', ...CLEAN, '--bogus'], /^netmatrix: Unknown argument: bogus/],
      [['analyze', ...CLEAN, '--node', '10.77.0.1'], /overlaps/],
      [[], /^netmatrix: give a command/],
    ];
    for (const [argv, re] of cases) {
      const { code, stderr, stdout } = await cli(...argv);
      expect({ argv, code }).toEqual({ argv, code: 2 });
      expect(stderr).toMatch(re);
      expect(stderr.trim().split('\n')).toHaveLength(1);
      expect(stdout).toBe('');
    }
  });

  it('a hostile SNI and ALPN cannot reach the terminal raw, and JSON keeps them as escaped data', async () => {
    const file = hostileCapture();
    const table = await cli('analyze', file, '--node', '10.0.0.2');
    expect(table.code).toBe(1);
    expect(table.stdout).not.toContain('\u001b');
    expect(table.stdout).not.toContain('\u0007');
    expect(table.stdout).toContain('sni=\\x1b]0;pwned\\x07\\x1b[2J<script>alert(1)</script>.evil');
    expect(table.stdout).toContain('alpn=h2,\\x1b[31mred');
    const json = await cli('analyze', file, '--node', '10.0.0.2', '--format', 'json');
    expect(json.stdout).not.toContain('\u001b');
    const doc = JSON.parse(json.stdout) as { flows: { tls: { sni: string; alpn: string[] } }[] };
    expect(doc.flows[0]?.tls.sni).toBe('\u001b]0;pwned\u0007\u001b[2J<script>alert(1)</script>.evil');
    expect(doc.flows[0]?.tls.alpn).toEqual(['h2', '\u001b[31mred']);
  });

  it('on a terminal, long cells wrap to its width', async () => {
    let stdout = '';
    const code = await run(['analyze', 'captures/node-gui-exposed.pcap', '--hosts', 'captures/lab.hosts.yaml', '--no-color'], {
      stdout: (t) => (stdout += t),
      stderr: () => undefined,
      stdoutIsTTY: true,
      stderrIsTTY: false,
      columns: 140,
    });
    expect(code).toBe(1);
    const widest = Math.max(...stdout.split('\n').map((l) => l.length));
    expect(widest).toBeLessThanOrEqual(140);
    expect(stdout).toContain('gui-not-localhost');
  });

  it('--max-fragment-bytes bounds IP reassembly and hitting it is reported', async () => {
    // 200 first fragments (MF set, 1400 bytes each, distinct ids) that never complete: 280 KB.
    const frames = [];
    for (let id = 0; id < 200; id++) {
      const f = new Uint8Array(14 + 20 + 1400);
      const dv = new DataView(f.buffer);
      dv.setUint16(12, 0x0800);
      f[14] = 0x45;
      dv.setUint16(16, 20 + 1400);
      dv.setUint16(18, id);
      dv.setUint16(20, 0x2000); // more fragments, offset 0
      f[22] = 64;
      f[23] = 17;
      f.set([203, 0, 113, 9], 26);
      f.set([10, 0, 0, 2], 30);
      frames.push({ ts: 1_700_000_000 + id / 1000, data: f });
    }
    const file = join(tmp, 'fragments.pcap');
    writeFileSync(file, pcapBytes(frames));
    const decode = async (...extra: string[]) => {
      const { code, stdout } = await cli('analyze', file, '--node', '10.0.0.2', '--format', 'json', ...extra);
      expect(code).toBe(0);
      return (JSON.parse(stdout) as { summary: { decode: { fragmentsEvicted: number } } }).summary.decode;
    };
    expect((await decode()).fragmentsEvicted).toBe(0);
    expect((await decode('--max-fragment-bytes', '65536')).fragmentsEvicted).toBeGreaterThan(150);
    const bad = await cli('analyze', file, '--node', '10.0.0.2', '--max-fragment-bytes', '100');
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('netmatrix: --max-fragment-bytes must be an integer of at least 65536 (one whole datagram)\n');
  });

  it('several files are one run: flows continue across them', async () => {
    const request = clientHello({ sni: 'researcher', alpn: ['h2'] });
    const frames = tcpConnectionFrames({ t0: 1_700_000_000, client: '10.0.0.2', cport: 40000, server: '10.0.0.1', sport: 50051, request });
    const a = join(tmp, 'part1.pcap');
    const b = join(tmp, 'part2.pcap');
    writeFileSync(a, pcapBytes(frames.slice(0, 4)));
    writeFileSync(b, pcapBytes(frames.slice(4)));
    // Given in the wrong order on purpose: files are read in time order.
    const { code, stdout } = await cli('analyze', b, a, '--node', '10.0.0.2', '--researcher', '10.0.0.1', '--format', 'json');
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as { flows: { state: string; packets: number; rule: string }[] };
    expect(doc.flows).toHaveLength(1);
    expect(doc.flows[0]).toMatchObject({ state: 'SF', packets: 7, rule: 'node-researcher-grpc' });
    expect(existsSync(a)).toBe(true);
  });
});
