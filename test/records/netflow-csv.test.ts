/**
 * `analyze --input netflow-csv`: a firewall's CSV export, columns found by header name (aliases, any
 * case and punctuation), comma/semicolon/tab, RFC 4180 quotes, two-way rows (sent/received), and bad
 * input (a header without a needed column: exit 2; a corrupt row: named with its line, exit as for a
 * damaged capture).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { csvTime, splitCsv } from '../../src/records/netflow-csv.js';

const tmp = mkdtempSync(join(tmpdir(), 'nm-csv-'));
const HOSTS = ['--hosts', 'captures/lab.hosts.yaml'];
function file(name: string, text: string): string {
  const p = join(tmp, name);
  writeFileSync(p, text);
  return p;
}

interface Doc {
  evidence: string[];
  flows: { client: { ip: string; port: number; packets: number }; server: { ip: string; port: number; packets: number }; state: string; serviceBy: string; findings: { code: string }[] }[];
}

describe('analyze --input netflow-csv', () => {
  it("a firewall's session export (two-way rows, its own column names): the source initiated", async () => {
    const csv = file(
      'fw.csv',
      [
        '"Start Time";"Source Address";"Source Port";"Destination Address";"Destination Port";"Protocol";"Packets Sent";"Bytes Sent";"Packets Received";"Bytes Received";"Elapsed Time"',
        '2025-12-01 10:00:00;10.77.0.2;41822;10.77.0.1;50051;tcp;61;21624;48;11715;62',
        '2025-12-01 10:00:05;10.77.0.66;60214;10.77.0.2;8484;TCP;6;732;5;2161;0',
        '2025-12-01 10:00:09;"10.77.0.3";52110;10.77.0.2;14001;6;30;4720;28;4440;41',
        '2025-12-01 10:00:10;10.77.0.2;53211;10.77.0.53;53;udp;1;70;1;126;0',
        '2025-12-01 10:00:11;10.77.0.2;0;10.77.0.1;0;icmp;1;84;1;84;0',
      ].join('\n'),
    );
    const { code, stdout, stderr } = await cli('analyze', '--input', 'netflow-csv', csv, ...HOSTS, '--format', 'json');
    expect(stderr).toBe('');
    expect(code).toBe(1);
    const doc = JSON.parse(stdout) as Doc;
    expect(doc.flows).toHaveLength(4);
    const by = new Map(doc.flows.map((f) => [f.server.port, f]));
    expect(by.get(50051)).toMatchObject({ client: { ip: '10.77.0.2', packets: 61 }, server: { packets: 48 }, state: 'SF', serviceBy: 'port', findings: [] });
    expect(by.get(8484)?.findings.map((f) => f.code)).toEqual(['inbound-to-node', 'gui-not-localhost']);
    // No flags in the export: an answered TCP connection is taken as closed (no secagg-not-closed).
    expect(by.get(14001)?.findings).toEqual([]);
    expect(doc.evidence.join(' ')).toContain("a firewall's CSV export");
  });

  it('one-way rows with flags, as nfdump writes them (ts, te, sa, da, sp, dp, pr, flg, ipkt, ibyt), merged per connection', async () => {
    const csv = file(
      'nf.csv',
      [
        'ts,te,td,sa,da,sp,dp,pr,flg,ipkt,ibyt,opkt,obyt',
        '2025-12-01 10:00:00,2025-12-01 10:00:00,0.013,10.77.0.1,10.77.0.2,14001,52110,TCP,...AP.S.,6,2389,0,0',
        '2025-12-01 10:00:00,2025-12-01 10:00:00,0.013,10.77.0.2,10.77.0.1,52110,14001,TCP,...AP.S.,6,773,0,0',
        '2025-12-01 10:00:01,2025-12-01 10:00:01,0.000,10.77.0.66,10.77.0.2,60012,22,TCP,......S.,1,60,0,0',
        '2025-12-01 10:00:01,2025-12-01 10:00:01,0.000,10.77.0.2,10.77.0.66,22,60012,TCP,...A.R..,1,40,0,0',
        'Summary',
        'flows,bytes,packets,avg_bps,avg_pps,avg_bpp',
        '4,3262,14,0,0,0',
      ].join('\n'),
    );
    const { code, stdout } = await cli('analyze', '--input', 'netflow-csv', csv, ...HOSTS, '--format', 'json');
    expect(code).toBe(1);
    const doc = JSON.parse(stdout) as Doc;
    expect(doc.flows).toHaveLength(2);
    // Same second, no SYN-only side: 14001 is the matrix's port, so 10.77.0.1 is the server of node 10.77.0.2's secagg session.
    expect(doc.flows.find((f) => f.server.port === 14001)).toMatchObject({ client: { ip: '10.77.0.2' }, state: 'S1' });
    expect(doc.flows.find((f) => f.server.port === 14001)?.findings.map((f) => f.code)).toEqual(['secagg-not-closed']);
    expect(doc.flows.find((f) => f.server.port === 22)).toMatchObject({ client: { ip: '10.77.0.66' }, state: 'REJ' });
  });

  it('a header without a needed column: one line naming the file and what is missing, exit 2', async () => {
    const csv = file('nohdr.csv', 'when,from,to,port\n2025-12-01 10:00:00,10.77.0.2,10.77.0.1,50051\n');
    const { code, stdout, stderr } = await cli('analyze', '--input', 'netflow-csv', csv, ...HOSTS);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(new RegExp(`^netmatrix: ${csv.replace(/[.]/g, '\\.')}:1: the CSV header has no src column \\(src, srcaddr, src_addr, src_ip, \\.\\.\\.\\), no dst column.*\\n$`));
  });

  it('a corrupt row: named with its file and line; the rows before it are judged and reported, exit as for a damaged capture (1: the row read is a violation)', async () => {
    const csv = file('corrupt.csv', ['src,dst,sport,dport,proto,start', '10.77.0.66,10.77.0.2,60000,8484,tcp,1764583200', '10.77.0.2,10.77.0.1,40000,50051,tcp,yesterday'].join('\n'));
    const { code, stdout, stderr } = await cli('analyze', '--input', 'netflow-csv', csv, ...HOSTS, '--format', 'json');
    expect(code).toBe(1);
    expect(stderr).toBe(`netmatrix: ${csv}:3: corrupt line: start "yesterday" is not a time (the report covers what was read before)\n`);
    expect((JSON.parse(stdout) as Doc).flows).toHaveLength(1);
  });
});

describe('CSV helpers', () => {
  it('splits quoted fields with separators and doubled quotes inside', () => {
    expect(splitCsv('a,"b,c","d""e",f', ',')).toEqual(['a', 'b,c', 'd"e', 'f']);
    expect(splitCsv('a;b', ';')).toEqual(['a', 'b']);
    expect(splitCsv('"open,', ',')).toBeUndefined();
  });

  it('reads times: ISO 8601, "date time" in UTC, epoch seconds and milliseconds', () => {
    expect(csvTime('2025-12-01T10:00:00.250Z')).toBe(1764583200.25);
    expect(csvTime('2025-12-01 10:00:00.250')).toBe(1764583200.25);
    expect(csvTime('2025-12-01 11:00:00+01:00')).toBe(1764583200);
    expect(csvTime('1764583200')).toBe(1764583200);
    expect(csvTime('1764583200250')).toBe(1764583200.25);
    expect(csvTime('yesterday')).toBeUndefined();
  });
});
