/**
 * verify with flow records: an expectation names `input:` and `records:` instead of a capture beside
 * it; docs/examples/zeek is such a set, and CI replays it as it replays the fixture captures.
 */
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

const EXAMPLE = 'docs/examples/zeek';

function copyExample(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nm-verify-records-'));
  for (const f of ['conn.log', 'ssl.log', 'http.log', 'example.hosts.yaml', 'example.expect.yaml']) copyFileSync(join(EXAMPLE, f), join(dir, f));
  return dir;
}

describe('verify with input: and records:', () => {
  it('docs/examples/zeek passes', async () => {
    const { code, stdout } = await cli('verify', EXAMPLE);
    expect(stdout).toContain('verify: 1 passed, 0 failed');
    expect(code).toBe(0);
  });

  it('fails when the records show a finding the expectation lacks', async () => {
    const dir = copyExample();
    const exp = join(dir, 'example.expect.yaml');
    writeFileSync(exp, readFileSync(exp, 'utf8').replace(/  - code: secagg-not-closed\n.*\n.*\n/, ''));
    const { code, stdout } = await cli('verify', dir);
    expect(code).toBe(1);
    expect(stdout).toContain('unexpected: secagg-not-closed 10.77.0.3 -> 10.77.0.2:14001');
  });

  it('rejects records: without input:, and an unknown input', async () => {
    const dir = copyExample();
    const exp = join(dir, 'example.expect.yaml');
    const text = readFileSync(exp, 'utf8');
    writeFileSync(exp, text.replace('input: zeek\n', ''));
    const a = await cli('verify', dir);
    expect(a.code).toBe(2);
    expect(a.stderr).toContain('records: needs input: zeek, netflow or netflow-csv');
    writeFileSync(exp, text.replace('input: zeek', 'input: pcapish'));
    const b = await cli('verify', dir);
    expect(b.code).toBe(2);
    expect(b.stderr).toContain('"pcapish" is not pcap, zeek, netflow or netflow-csv');
  });
});
