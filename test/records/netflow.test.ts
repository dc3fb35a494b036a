/**
 * NetFlow with real tools: every fixture capture of captures/ exported by softflowd (`softflowd -r
 * capture -n 127.0.0.1:PORT -v 5|9|10`) into a real nfcapd on loopback, then `analyze --input netflow`
 * on the folder nfcapd wrote (and, for v9, `--input netflow-csv` on nfdump's own CSV export of it): the findings that need no payload (every code but protocol-mismatch, and
 * mandatory-missing, which a mismatch decides) equal those of `analyze` on the capture.
 *
 * netflow.exceptions.tsv lists what cannot agree and why (softflowd refuses some link types); the test
 * fails on an unlisted difference and on a listed one that vanished. Needs nfdump and softflowd
 * (Debian packages; .ci/run installs them): skipped with a line outside CI when absent, failed under CI.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../../src/engine/analyze.js';
import { analyzeRecords } from '../../src/engine/records.js';
import type { JudgedFlow } from '../../src/policy/judge.js';
import { loadInventoryFile, loadRuleSet } from '../../src/policy/load.js';
import { findingKey, loadExpectation, observedFindings } from '../../src/verify/expectation.js';
import { corpusRequired } from '../helpers/corpus.js';
import { readExceptionRows } from '../helpers/exceptions.js';

const CAPTURES = fileURLToPath(new URL('../../captures/', import.meta.url));
const EXCEPTIONS = fileURLToPath(new URL('./netflow.exceptions.tsv', import.meta.url));
const VERSIONS = ['5', '9', '10'] as const;
const PAYLOAD_CODES = new Set(['protocol-mismatch', 'mandatory-missing']);

const tools = ['nfcapd', 'nfdump', 'softflowd'].filter((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status !== 0);
const children = new Set<ChildProcess>();
afterAll(() => {
  for (const c of children) c.kill('SIGKILL');
});

/** A free UDP port on loopback (bound and released: nfcapd takes it next). */
async function freePort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const port = s.address().port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

function exited(c: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (c.exitCode !== null) resolve(c.exitCode);
    else c.on('close', (code) => resolve(code));
  });
}

/** softflowd -> nfcapd; the folder nfcapd wrote, or softflowd's complaint. */
async function export_(capture: string, version: string): Promise<{ dir: string } | { refused: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'nm-netflow-'));
  const port = await freePort();
  const nfcapd = spawn('nfcapd', ['-l', dir, '-p', String(port), '-b', '127.0.0.1'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(nfcapd);
  try {
    let out = '';
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`nfcapd did not start: ${out}`)), 10_000);
      const onData = (d: Buffer): void => {
        out += d.toString();
        if (out.includes('Startup')) {
          clearTimeout(timer);
          resolve();
        }
      };
      nfcapd.stdout?.on('data', onData);
      nfcapd.stderr?.on('data', onData);
    });
    const sf = spawnSync('softflowd', ['-r', capture, '-n', `127.0.0.1:${port}`, '-v', version], { encoding: 'utf8', timeout: 60_000 });
    const said = `${sf.stdout}${sf.stderr}`;
    const refused = /Unsupported datalink type \d+/.exec(said);
    if (refused) return { refused: refused[0] };
    if (sf.status !== 0) throw new Error(`softflowd failed: ${said}`);
    // Loopback datagrams are in nfcapd's socket buffer by now; give it a moment to read them.
    await new Promise((r) => setTimeout(r, 300));
    return { dir };
  } finally {
    nfcapd.kill('SIGTERM');
    await exited(nfcapd);
    children.delete(nfcapd);
  }
}

const distinct = (flows: JudgedFlow[], capture: Parameters<typeof observedFindings>[1]): string[] =>
  observedFindings(flows, capture)
    .filter((f) => !PAYLOAD_CODES.has(f.code))
    .map(findingKey)
    .sort();

interface Exception {
  capture: string;
  version: string;
  reason: string;
}

function loadExceptions(): Exception[] {
  return readExceptionRows(EXCEPTIONS).map(([capture = '', version = '', reason = '']) => ({ capture, version, reason }));
}

const fixtures = readdirSync(CAPTURES).filter((f) => /\.pcap(ng)?$/.test(f)).sort();

if (tools.length > 0 && !corpusRequired()) {
  describe.skip(`NetFlow through softflowd and nfcapd (skipped: ${tools.join(', ')} not installed; CI requires them)`, () => {
    it('needs the tools', () => undefined);
  });
} else {
  describe('NetFlow through softflowd, nfcapd and nfdump: the same payload-independent findings as the pcap', () => {
    const differences = new Map<string, string>();

    it('the tools are installed', () => {
      expect(tools, 'apt-get install nfdump softflowd').toEqual([]);
    });

    for (const fixture of fixtures) {
      it(`${fixture} (NetFlow v5, v9 and IPFIX)`, async () => {
        const stem = fixture.replace(/\.pcap(ng)?$/, '');
        const e = loadExpectation(join(CAPTURES, `${stem}.expect.yaml`));
        const rules = loadRuleSet(e.matrix, e.phase);
        const inventory = loadInventoryFile(e.hosts);
        const pcapFlows: JudgedFlow[] = [];
        const pcap = analyzeCaptures({ files: [join(CAPTURES, fixture)], rules, inventory, onFlow: (f) => pcapFlows.push(f) });
        const want = distinct(pcapFlows, pcap.captureFindings);
        for (const v of VERSIONS) {
          const x = await export_(join(CAPTURES, fixture), v);
          if ('refused' in x) {
            differences.set(`${fixture}\t${v}`, `softflowd: ${x.refused}`);
            continue;
          }
          const flows: JudgedFlow[] = [];
          const r = await analyzeRecords({ input: 'netflow', files: [x.dir], rules, inventory, onFlow: (f) => flows.push(f) });
          expect(r.complete, `${fixture} v${v}: nfdump read every file`).toBe(true);
          expect(r.frames, `${fixture} v${v}: records`).toBeGreaterThan(0);
          const got = distinct(flows, r.captureFindings);
          if (got.join('\n') !== want.join('\n')) differences.set(`${fixture}\t${v}`, `netflow: ${got.join('; ') || '-'} / pcap: ${want.join('; ') || '-'}`);
          if (v === '9') {
            // The same records as nfdump's own CSV export, read with --input netflow-csv.
            const csv = join(x.dir, 'flows.csv');
            const dump = spawnSync('nfdump', ['-R', x.dir, '-o', 'csv'], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' }, maxBuffer: 64 * 1024 * 1024 });
            expect(dump.status).toBe(0);
            writeFileSync(csv, dump.stdout);
            const csvFlows: JudgedFlow[] = [];
            const c = await analyzeRecords({ input: 'netflow-csv', files: [csv], rules, inventory, onFlow: (f) => csvFlows.push(f) });
            expect(c.complete, `${fixture} csv: read to its end`).toBe(true);
            const fromCsv = distinct(csvFlows, c.captureFindings);
            if (fromCsv.join('\n') !== want.join('\n')) differences.set(`${fixture}\tcsv`, `csv: ${fromCsv.join('; ') || '-'} / pcap: ${want.join('; ') || '-'}`);
          }
        }
      }, 120_000);
    }

    it('every difference is listed in netflow.exceptions.tsv, and every listed one still occurs', () => {
      const listed = loadExceptions();
      const keys = new Set(listed.map((x) => `${x.capture}\t${x.version}`));
      const unlisted = [...differences].filter(([k]) => !keys.has(k)).map(([k, v]) => `${k}\t${v}`);
      const vanished = [...keys].filter((k) => !differences.has(k));
      expect(unlisted, 'differences not in netflow.exceptions.tsv').toEqual([]);
      expect(vanished, 'listed in netflow.exceptions.tsv but no longer different: remove them').toEqual([]);
      for (const x of listed) expect(x.reason, `${x.capture} v${x.version}: a reason`).not.toBe('');
    });
  });
}
