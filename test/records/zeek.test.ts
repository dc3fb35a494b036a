/**
 * `analyze --input zeek`: Zeek's TSV and JSON logs (escapes, unset and empty values, gzip by magic
 * bytes), conn.log joined with ssl.log and http.log by uid in any file order, the findings that need no
 * payload, the evidence limits in every format, and bad input (one line naming the file and line; exit 2
 * before anything is read, else what was read is reported with a damaged capture's exit status).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { zeekUnescape } from '../../src/records/zeek.js';

const tmp = mkdtempSync(join(tmpdir(), 'nm-zeek-'));
const HOSTS = ['--node', '10.0.0.2', '--node', '10.0.0.3', '--researcher', '10.0.0.1'];

const CONN_FIELDS = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration', 'orig_bytes', 'resp_bytes', 'conn_state', 'local_orig', 'local_resp', 'missed_bytes', 'history', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes', 'tunnel_parents'];

function tsv(path: string, fields: string[], rows: string[][], close = true): string {
  const lines = [
    '#separator \\x09',
    '#set_separator\t,',
    '#empty_field\t(empty)',
    '#unset_field\t-',
    `#path\t${path}`,
    '#open\t2026-12-01-10-00-00',
    `#fields\t${fields.join('\t')}`,
    `#types\t${fields.map(() => 'string').join('\t')}`,
    ...rows.map((r) => r.join('\t')),
  ];
  if (close) lines.push('#close\t2026-12-01-11-00-00');
  return `${lines.join('\n')}\n`;
}

/** A conn.log row: uid, orig, orig port, resp, resp port, proto, service, conn_state, history. */
function conn(ts: number, uid: string, o: string, op: number, r: string, rp: number, proto: string, service: string, state: string, history: string): string[] {
  return [ts.toFixed(6), uid, o, String(op), r, String(rp), proto, service, '1.500000', '100', '200', state, '-', '-', '0', history, '5', '400', '4', '500', '(empty)'];
}

function file(name: string, text: string | Buffer): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

const T0 = 1_764_583_200;

const CONNS = [
  conn(T0, 'C1', '10.0.0.2', 40000, '10.0.0.1', 50051, 'tcp', 'ssl', 'SF', 'ShADadFf'),
  conn(T0 + 1, 'C2', '10.0.0.2', 40001, '10.0.0.1', 14000, 'tcp', '-', 'S1', 'ShADad'),
  conn(T0 + 2, 'C3', '10.0.0.9', 40002, '10.0.0.2', 22, 'tcp', 'ssh', 'SF', 'ShADadFf'),
  conn(T0 + 3, 'C4', '10.0.0.3', 40003, '10.0.0.2', 8484, 'tcp', 'http', 'SF', 'ShADadFf'),
  conn(T0 + 4, 'C5', '10.0.0.2', 40004, '10.0.0.1', 50051, 'tcp', '-', 'S0', 'S'),
  conn(T0 + 5, 'C6', '10.0.0.2', 40005, '10.0.0.7', 9999, 'udp', '-', 'S0', 'D'),
  conn(T0 + 6, 'C7', '10.0.0.2', 0, '10.0.0.1', 8, 'icmp', '-', 'OTH', '-'),
];

describe('analyze --input zeek', () => {
  it('judges conn.log connections: allowed, secagg-not-closed from S1, inbound-to-node, gui-not-localhost, connection-failed, not-in-matrix', async () => {
    const log = file('conn.log', tsv('conn', CONN_FIELDS, CONNS));
    const { code, stdout, stderr } = await cli('analyze', '--input', 'zeek', log, ...HOSTS, '--format', 'json');
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const doc = JSON.parse(stdout) as { evidence: string[]; flows: { client: { port: number }; service: string; serviceBy: string; state: string; history: string; rule: string | null; findings: { code: string }[] }[]; summary: { frames: number } };
    const byPort = new Map(doc.flows.map((f) => [f.client.port, f]));
    const codes = (port: number): string[] => (byPort.get(port)?.findings ?? []).map((f) => f.code);
    expect(doc.flows).toHaveLength(7);
    expect(byPort.get(40000)).toMatchObject({ service: 'tls', serviceBy: 'zeek', state: 'SF', history: 'ShADadFf', rule: 'node-researcher-grpc' });
    expect(codes(40000)).toEqual([]);
    expect(byPort.get(40001)).toMatchObject({ service: 'mpspdz', serviceBy: 'port', state: 'S1' });
    expect(codes(40001)).toEqual(['secagg-not-closed']);
    expect(codes(40002)).toEqual(['inbound-to-node']);
    expect(codes(40003)).toEqual(['inbound-to-node', 'gui-not-localhost']);
    expect(codes(40004)).toEqual(['connection-failed']);
    expect(codes(40005)).toEqual(['not-in-matrix']);
    // icmp is a connection out of the matrix's scope, as on the packet path.
    expect(doc.flows.find((f) => f.service === 'icmp')).toMatchObject({ state: 'OTH', rule: null, findings: [] });
    expect(doc.summary.frames).toBe(7);
    expect(doc.evidence.join(' ')).toContain('No ssl.log given');
  });

  it('says the limits of the evidence once, at the top of the table, markdown and html', async () => {
    const log = file('conn-limits.log', tsv('conn', CONN_FIELDS, CONNS.slice(0, 1)));
    const table = await cli('analyze', '--input', 'zeek', log, ...HOSTS);
    expect(table.code).toBe(0);
    const lines = table.stdout.split('\n');
    const first = lines.findIndex((l) => l.startsWith('limits: '));
    expect(first).toBe(2);
    expect(lines.filter((l) => l.includes('Not checked unless Zeek')).length).toBe(1);
    expect(lines.findIndex((l) => l.startsWith('┌'))).toBeGreaterThan(first);
    expect(table.stdout).toContain('1 records, 1 flows');
    const md = await cli('analyze', '--input', 'zeek', log, ...HOSTS, '--format', 'markdown');
    expect(md.stdout.split('**Limits of this evidence**').length).toBe(2);
    expect(md.stdout.indexOf('**Limits of this evidence**')).toBeLessThan(md.stdout.indexOf('| client → server'));
    const jsonl = await cli('analyze', '--input', 'zeek', log, ...HOSTS, '--format', 'jsonl');
    const records = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as { record: string; evidence?: string[] });
    expect(records[0]?.record).toBe('header');
    expect(records[0]?.evidence?.length).toBeGreaterThan(2);
    expect(records.filter((r) => r.evidence !== undefined)).toHaveLength(1);
    const html = join(tmp, 'report.html');
    await cli('analyze', '--input', 'zeek', log, ...HOSTS, '--format', 'html', '--output', html);
    const page = (await import('node:fs')).readFileSync(html, 'utf8');
    expect(page.split('Limits of this evidence').length).toBe(2);
    expect(page.indexOf('Limits of this evidence')).toBeLessThan(page.indexOf('id="summary"'));
  });

  it('a pcap report has no evidence key (its output stays as it was)', async () => {
    const { stdout } = await cli('analyze', 'captures/node-clean.pcapng', '--hosts', 'captures/lab.hosts.yaml', '--format', 'json');
    expect(stdout).not.toContain('"evidence"');
  });

  it('joins ssl.log and http.log by uid whatever the file order, and reads gzip by its magic bytes', async () => {
    const connLog = file('c.log', gzipSync(tsv('conn', CONN_FIELDS, [conn(T0, 'C1', '10.0.0.2', 40000, '10.0.0.1', 50051, 'tcp', 'ssl', 'SF', 'ShADadFf'), conn(T0 + 1, 'C9', '10.0.0.2', 40009, '203.0.113.5', 80, 'tcp', 'http', 'SF', 'ShADadFf')])));
    const sslLog = file('ssl.log', tsv('ssl', ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'version', 'cipher', 'server_name', 'next_protocol', 'established'], [[T0.toFixed(6), 'C1', '10.0.0.2', '40000', '10.0.0.1', '50051', 'TLSv13', 'TLS_AES_128_GCM_SHA256', 'researcher\\x09.example', 'h2', 'T']]));
    const httpLog = file('http.log', tsv('http', ['ts', 'uid', 'method', 'host', 'uri', 'user_agent'], [[(T0 + 1).toFixed(6), 'C9', 'GET', 'pypi.org', '/simple/\\x2d/', '-']]));
    const { code, stdout, stderr } = await cli('analyze', '--input', 'zeek', sslLog, httpLog, connLog, ...HOSTS, '--phase', 'install', '--format', 'json');
    expect(stderr).toBe('');
    expect(code).toBe(0);
    const doc = JSON.parse(stdout) as { evidence: string[]; flows: { client: { port: number }; tls?: unknown; http?: unknown }[] };
    const tlsFlow = doc.flows.find((f) => f.client.port === 40000);
    expect(tlsFlow?.tls).toEqual({ version: 'TLSv1.3', alpn: [], sni: 'researcher\t.example', alpnSelected: 'h2' });
    expect(doc.flows.find((f) => f.client.port === 40009)?.http).toEqual({ method: 'GET', target: '/simple/-/', host: 'pypi.org' });
    expect(doc.evidence.join(' ')).toContain('come from ssl.log');
  });

  it('a connection waiting for an ssl.log record that never comes is judged anyway, with a warning', async () => {
    const connLog = file('c-alone.log', tsv('conn', CONN_FIELDS, [conn(T0, 'C1', '10.0.0.2', 40000, '10.0.0.1', 50051, 'tcp', 'ssl', 'SF', 'ShADadFf')]));
    const sslLog = file('ssl-other.log', tsv('ssl', ['ts', 'uid', 'version', 'server_name'], [[(T0 + 1000).toFixed(6), 'CX', 'TLSv12', 'x']]));
    const { code, stdout, stderr } = await cli('analyze', '--input', 'zeek', connLog, sslLog, ...HOSTS, '--format', 'json');
    expect(code).toBe(0);
    expect(JSON.parse(stdout).flows).toHaveLength(1);
    expect(stderr).toContain('1 connections named ssl or http by Zeek had no ssl.log/http.log record');
  });

  it("reads Zeek's JSON logs (epoch or ISO 8601 times)", async () => {
    const lines = [
      { ts: T0, uid: 'C1', 'id.orig_h': '10.0.0.2', 'id.orig_p': 40000, 'id.resp_h': '10.0.0.1', 'id.resp_p': 50051, proto: 'tcp', service: 'ssl', duration: 2.5, conn_state: 'SF', history: 'ShADadFf', orig_pkts: 10, orig_ip_bytes: 900, resp_pkts: 8, resp_ip_bytes: 4000 },
      { ts: '2025-12-01T10:00:05.250000Z', uid: 'C2', 'id.orig_h': '10.0.0.9', 'id.orig_p': 40001, 'id.resp_h': '10.0.0.2', 'id.resp_p': 22, proto: 'tcp', conn_state: 'REJ', history: 'Sr' },
    ];
    const log = file('conn.json', `${lines.map((l) => JSON.stringify(l)).join('\n')}\n`);
    const { code, stdout } = await cli('analyze', '--input', 'zeek', log, ...HOSTS, '--format', 'json');
    expect(code).toBe(1);
    const doc = JSON.parse(stdout) as { flows: { start: string; end: string; bytes: number; state: string; findings: { code: string }[] }[]; summary: { inputs: { format: string }[] } };
    expect(doc.flows[0]).toMatchObject({ bytes: 4900, end: '2025-12-01T10:00:02.500000Z' });
    expect(doc.flows[1]).toMatchObject({ start: '2025-12-01T10:00:05.250000Z', state: 'REJ' });
    expect(doc.flows[1]?.findings.map((f) => f.code)).toEqual(['inbound-to-node']);
    expect(doc.summary.inputs[0]?.format).toBe('zeek-json');
  });
});

describe('zeekUnescape', () => {
  it("undoes Zeek's \\xNN and \\\\ escapes, bytes read as UTF-8", () => {
    expect(zeekUnescape('a\\x09b')).toBe('a\tb');
    expect(zeekUnescape('\\x2d')).toBe('-');
    expect(zeekUnescape('back\\\\slash')).toBe('back\\slash');
    expect(zeekUnescape('caf\\xc3\\xa9')).toBe('café');
    expect(zeekUnescape('plain é')).toBe('plain é');
    expect(zeekUnescape('\\xzz')).toBe('\\xzz');
  });

  it("a '-' or '(empty)' written escaped is a value, not unset or empty", async () => {
    const sslLog = file('ssl-esc.log', tsv('ssl', ['ts', 'uid', 'version', 'server_name'], [[T0.toFixed(6), 'C1', 'TLSv12', '\\x2d']]));
    const connLog = file('c-esc.log', tsv('conn', CONN_FIELDS, [conn(T0, 'C1', '10.0.0.2', 40000, '10.0.0.1', 50051, 'tcp', 'ssl', 'SF', 'ShADadFf')]));
    const { stdout } = await cli('analyze', '--input', 'zeek', connLog, sslLog, ...HOSTS, '--format', 'json');
    expect((JSON.parse(stdout) as { flows: { tls: { sni: string } }[] }).flows[0]?.tls.sni).toBe('-');
  });
});

describe('analyze --input zeek: bad input', () => {
  const good = CONNS.slice(0, 2);

  it('a missing #fields header: one line naming the file and line, exit 2, no report', async () => {
    const log = file('nofields.log', `#separator \\x09\n#path\tconn\n${good.map((r) => r.join('\t')).join('\n')}\n`);
    const { code, stdout, stderr } = await cli('analyze', '--input', 'zeek', log, ...HOSTS);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toBe(`netmatrix: ${log}:3: a record before any #fields header line\n`);
  });

  it('a #fields header without a needed field: exit 2, naming it', async () => {
    const fields = CONN_FIELDS.filter((f) => f !== 'id.resp_p');
    const log = file('wrongfields.log', tsv('conn', fields, []));
    const { code, stderr } = await cli('analyze', '--input', 'zeek', log, ...HOSTS);
    expect(code).toBe(2);
    expect(stderr).toBe(`netmatrix: ${log}:7: #fields of this conn.log lacks id.resp_p\n`);
  });

  it('not a Zeek log at all: exit 2', async () => {
    const { code, stderr } = await cli('analyze', '--input', 'zeek', 'captures/node-inbound.pcap', ...HOSTS);
    expect(code).toBe(2);
    expect(stderr).toMatch(/^netmatrix: captures\/node-inbound.pcap:1: not a Zeek log/);
    expect(stderr.split('\n')).toHaveLength(2);
  });

  it('a corrupt line: named with its file and line; the lines before it are judged and reported, exit as for a damaged capture (1 here: a violation was read)', async () => {
    const rows = [...good.map((r) => r.join('\t')), 'garbage\twith\tthree'];
    const log = file('corrupt.log', `${tsv('conn', CONN_FIELDS, []).trimEnd().split('\n').filter((l) => !l.startsWith('#close')).join('\n')}\n${rows.join('\n')}\n`);
    const { code, stdout, stderr } = await cli('analyze', '--input', 'zeek', log, ...HOSTS, '--format', 'json');
    expect(code).toBe(1);
    expect(stderr).toBe(`netmatrix: ${log}:11: corrupt line: 3 fields where #fields names ${CONN_FIELDS.length} (the report covers what was read before)\n`);
    const doc = JSON.parse(stdout) as { complete: boolean; flows: unknown[]; summary: { exitCode: number; findings: Record<string, number> } };
    expect(doc.flows).toHaveLength(2);
    expect(doc.complete).toBe(false);
    expect(doc.summary.exitCode).toBe(1);
    expect(doc.summary.findings['secagg-not-closed']).toBe(1);
    const table = await cli('analyze', '--input', 'zeek', log, ...HOSTS);
    expect(table.code).toBe(1);
    expect(table.stdout).toContain(`INCOMPLETE: ${log}:11: corrupt line`);
    expect(table.stdout).toContain('RESULT: VIOLATIONS');
  });

  it('a truncated gzip: named with its file and line; what was read is reported, exit 3 (no violation, incomplete)', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => conn(T0 + i, `C${i}`, '10.0.0.2', 20000 + (i % 40000), '10.0.0.1', 50051, 'tcp', '-', 'SF', 'ShADadFf'));
    const whole = gzipSync(tsv('conn', CONN_FIELDS, rows));
    const log = file('cut.log.gz', whole.subarray(0, Math.floor(whole.length * 0.6)));
    const { code, stdout, stderr } = await cli('analyze', '--input', 'zeek', log, ...HOSTS, '--format', 'json');
    expect(code).toBe(3);
    expect(stderr).toMatch(new RegExp(`^netmatrix: ${log.replace(/[.]/g, '\\.')}:\\d+: the gzip stream is truncated \\(the report covers what was read before\\)\\n$`));
    const doc = JSON.parse(stdout) as { flows: unknown[] };
    expect(doc.flows.length).toBeGreaterThan(100);
    expect(doc.flows.length).toBeLessThan(3000);
  });

  it('an invalid address or conn_state is a corrupt line', async () => {
    const bad = conn(T0, 'C1', '10.0.0.300', 40000, '10.0.0.1', 50051, 'tcp', '-', 'SF', 'S');
    const log = file('badaddr.log', tsv('conn', CONN_FIELDS, [bad]));
    const r = await cli('analyze', '--input', 'zeek', log, ...HOSTS);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`${log}:9: corrupt line: id.orig_h "10.0.0.300" is not an IP address`);
    const log2 = file('badstate.log', tsv('conn', CONN_FIELDS, [conn(T0, 'C1', '10.0.0.2', 40000, '10.0.0.1', 50051, 'tcp', '-', 'XX', 'S')]));
    const r2 = await cli('analyze', '--input', 'zeek', log2, ...HOSTS);
    expect(r2.stderr).toContain(`${log2}:9: corrupt line: conn_state "XX" is not one of Zeek's`);
  });
});
