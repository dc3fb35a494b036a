/**
 * Every file of the public corpus (test/helpers/corpus.ts, malformed and truncated ones included)
 * gets a report (exit 0, 1 or 3) or a one-line error (exit 2): never a stack trace.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { corpusCases, corpusDescribe, publicCorpus } from '../helpers/corpus.js';

interface IndexRow {
  filename: string;
  packets: string;
  contents: string;
}

function index(): IndexRow[] {
  const lines = readFileSync(publicCorpus('INDEX.tsv'), 'utf8').trim().split('\n');
  const head = (lines.shift() ?? '').split('\t');
  const col = (name: string): number => head.indexOf(name);
  return lines.map((l) => {
    const f = l.split('\t');
    return { filename: f[col('filename')] ?? '', packets: f[col('packets')] ?? '', contents: f[col('contents')] ?? '' };
  });
}

async function analyze(file: string, ...extra: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(['analyze', file, '--node', '10.0.0.0/8', '--node', '192.168.0.0/16', '--researcher', '172.16.0.0/12', ...extra], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stdoutIsTTY: false,
    stderrIsTTY: false,
  });
  return { code, stdout, stderr };
}

corpusDescribe('public corpus', () => {
  const rows = corpusCases(index);
  const files = corpusCases(() => readdirSync(publicCorpus()).filter((f) => /\.pcap(ng)?$/.test(f)));

  it('the index lists every capture in the folder', () => {
    expect(files.length).toBeGreaterThan(40);
    expect(files.filter((f) => !rows.some((r) => r.filename === f))).toEqual([]);
  });

  for (const name of files) {
    const row = rows.find((r) => r.filename === name);
    it(name, async () => {
      const { code, stdout, stderr } = await analyze(publicCorpus(name), '--format', 'json');
      expect(stderr).not.toMatch(/internal error|\n\s+at /);
      if (code === 2) {
        // A one-line error naming the file.
        expect(stderr.trim().split('\n')).toHaveLength(1);
        expect(stderr).toContain(name);
        expect(stdout).toBe('');
        return;
      }
      expect([0, 1, 3]).toContain(code);
      const report = JSON.parse(stdout) as { complete: boolean; summary: { frames: number; exitCode: number } };
      expect(report.summary.exitCode).toBe(code);
      const declared = /^(\d+)/.exec(row?.packets ?? '');
      const damaged = /error|invalid caplen|cut short/.test(row?.packets ?? '');
      if (damaged) {
        expect(report.complete).toBe(false);
        expect(stderr).toMatch(/at byte \d+/);
      } else {
        expect(report.complete).toBe(true);
        if (declared) expect(report.summary.frames).toBe(Number(declared[1]));
      }
    });
  }

  it('an unsupported link type is one clear error naming it (exit 2)', async () => {
    const { code, stderr } = await analyze(publicCorpus('tcpdump_unsupported_linktype_160.pcap'));
    expect(code).toBe(2);
    expect(stderr).toBe(`netmatrix: ${publicCorpus('tcpdump_unsupported_linktype_160.pcap')}: unsupported link type 160 (USER13)\n`);
  });

  it('a file cut short keeps every packet before the damage and exits 3 when nothing violates', async () => {
    const { code, stdout, stderr } = await analyze(publicCorpus('sv_http_mime_truncated_eof.pcap'), '--format', 'json', '--phase', 'install');
    const report = JSON.parse(stdout) as { complete: boolean; summary: { frames: number } };
    expect(report.summary.frames).toBe(2696);
    expect(report.complete).toBe(false);
    expect([1, 3]).toContain(code);
    expect(stderr).toMatch(/file ends in the middle of a record at byte \d+/);
  });
});
