/**
 * Replays every capture of test/corpus-regressions/ (crafted inputs that found bugs, see its
 * README.md) through `netmatrix analyze`, in every output format: what every capture owes its user
 * (cli-check.ts), plus what each file proved. The generated fixtures must match their builders
 * (fixtures.ts), so a fixture can always be rebuilt: NETMATRIX_WRITE_FIXTURES=1 writes them first.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { analyze, checkCliResult, type CliResult } from './cli-check.js';
import { GENERATED, gzip } from './fixtures.js';

const DIR = 'test/corpus-regressions';
const tmp = mkdtempSync(join(tmpdir(), 'nm-regress-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

interface Expect {
  /** Exit status of `analyze` with the inventory below. */
  code: number;
  /** Tighter than the generic hang guard, where the bug was slowness. */
  maxMs?: number;
  /** stderr lines at most (the bug was a flood of warnings). */
  maxStderrLines?: number;
  /** Something the report or stderr must say. */
  says?: RegExp;
}

const EXPECT: Record<string, Expect> = {
  'hostile-clienthello.pcap': { code: 1, says: /pwned/ },
  'pcapng-resync-1mib-claims.pcapng.gz': { code: 3, maxMs: 2500, says: /no valid block found within 1048576 bytes/ },
  'pcapng-70000-interfaces.pcapng.gz': { code: 3, maxStderrLines: 50, says: /65515 more interfaces have unsupported link types/ },
};

const files = readdirSync(DIR)
  .filter((f) => /\.pcap(ng)?(\.gz)?$/.test(f))
  .sort();

/** The capture as analyze reads it (gunzipped into the temporary folder). */
function capture(name: string): string {
  if (!name.endsWith('.gz')) return join(DIR, name);
  const out = join(tmp, name.slice(0, -3));
  writeFileSync(out, gunzipSync(readFileSync(join(DIR, name))));
  return out;
}

describe('regression corpus', () => {
  it('every file is small, documented in the README and has its expectations here', () => {
    const readme = readFileSync(join(DIR, 'README.md'), 'utf8');
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const f of files) {
      expect(readFileSync(join(DIR, f)).length, f).toBeLessThan(4096);
      expect(readme, f).toContain(`\`${f}\``);
      expect(EXPECT[f], f).toBeDefined();
    }
  });

  it('the generated fixtures are what their builders write', () => {
    for (const [name, build] of Object.entries(GENERATED)) {
      const bytes = build();
      const gz = name.endsWith('.gz');
      if (process.env.NETMATRIX_WRITE_FIXTURES === '1') writeFileSync(join(DIR, name), gz ? gzip(bytes) : bytes);
      // (Compared after gunzip: another zlib may compress the same bytes differently.)
      const onDisk = readFileSync(join(DIR, name));
      expect((gz ? gunzipSync(onDisk) : onDisk).equals(bytes), name).toBe(true);
    }
  });

  for (const name of files) {
    it(`${name}: report or one-line error, nothing raw, no hang, as expected in every format`, async () => {
      const file = capture(name);
      const want = EXPECT[name] ?? { code: -1 };
      for (const format of ['json', 'jsonl', 'table']) {
        const r: CliResult = await analyze(['analyze', file, '--node', '10.0.0.0/8', '--format', format]);
        expect(checkCliResult(r, format), `${name} --format ${format}`).toBeUndefined();
        expect(r.code, `${name} --format ${format}: ${r.stderr}`).toBe(want.code);
        if (want.maxMs !== undefined) expect(r.ms, `${name} --format ${format}`).toBeLessThan(want.maxMs);
        if (want.maxStderrLines !== undefined) expect(r.stderr.split('\n').length).toBeLessThanOrEqual(want.maxStderrLines);
        if (want.says) expect(r.stdout + r.stderr).toMatch(want.says);
      }
    });
  }
});
