/**
 * `analyze --input netflow`: nfdump missing (one line saying how to install it, exit 2), a path that
 * does not exist, and a file nfdump cannot read (exit 2, naming it).
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { corpusRequired } from '../helpers/corpus.js';

const tmp = mkdtempSync(join(tmpdir(), 'nm-netflow-input-'));
const HOSTS = ['--hosts', 'captures/lab.hosts.yaml'];
const hasNfdump = spawnSync('sh', ['-c', 'command -v nfdump']).status === 0;

describe('analyze --input netflow: bad input', () => {
  it('nfdump missing: one line saying how to install it, exit 2, no report', async () => {
    const file = join(tmp, 'nfcapd.202612010000');
    writeFileSync(file, 'not read');
    const path = process.env.PATH;
    process.env.PATH = join(tmp, 'no-such-dir');
    try {
      const { code, stdout, stderr } = await cli('analyze', '--input', 'netflow', file, ...HOSTS);
      expect(code).toBe(2);
      expect(stdout).toBe('');
      expect(stderr).toBe('netmatrix: nfdump is not installed: install it with `apt-get install nfdump` (Debian), then run again\n');
    } finally {
      process.env.PATH = path;
    }
  });

  it('a path that does not exist: exit 2 naming it', async () => {
    const { code, stderr } = await cli('analyze', '--input', 'netflow', join(tmp, 'absent'), ...HOSTS);
    expect(code).toBe(2);
    expect(stderr).toBe(`netmatrix: ${join(tmp, 'absent')}: cannot open: ENOENT\n`);
  });

  (hasNfdump || corpusRequired() ? it : it.skip)('a file nfdump cannot read: exit 2 naming it and what nfdump said', async () => {
    const file = join(tmp, 'garbage.nf');
    writeFileSync(file, 'this is not an nfcapd file\n'.repeat(20));
    const { code, stdout, stderr } = await cli('analyze', '--input', 'netflow', file, ...HOSTS);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toMatch(new RegExp(`^netmatrix: ${file.replace(/[.]/g, '\\.')}: nfdump could not read it after 0 records: .*bad magic.*\\n$`));
  });
});
