import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';

/** A fixture folder of two captures, one of them with a wrong expectation. */
function fixtures(): string {
  const dir = mkdtempSync(join(tmpdir(), 'nm-verify-'));
  copyFileSync('captures/lab.hosts.yaml', join(dir, 'lab.hosts.yaml'));
  copyFileSync('captures/node-clean.pcapng', join(dir, 'node-clean.pcapng'));
  copyFileSync('captures/node-clean.expect.yaml', join(dir, 'node-clean.expect.yaml'));
  copyFileSync('captures/node-inbound.pcap', join(dir, 'node-inbound.pcap'));
  // Claims the inbound capture is clean: the two inbound-to-node findings are unexpected.
  writeFileSync(
    join(dir, 'node-inbound.expect.yaml'),
    '# site fixture\ndescription: "node1, wrongly expected clean"\nmatrix: native\nphase: run\nhosts: lab.hosts.yaml\ncomplete: true\nclean: true\n',
  );
  return dir;
}

describe('netmatrix verify', () => {
  it('replays the project fixtures green, one line per capture and a summary', async () => {
    const { code, stdout } = await cli('verify', 'captures');
    expect(code).toBe(0);
    const lines = stdout.trim().split('\n');
    expect(lines.filter((l) => l.startsWith('PASS ')).length).toBeGreaterThanOrEqual(13);
    expect(lines.at(-1)).toMatch(/^verify: \d+ passed, 0 failed$/);
  });

  it('a mismatch fails with missing/unexpected findings, exit 1, and a JUnit failure', async () => {
    const dir = fixtures();
    const { code, stdout } = await cli('verify', dir, '--junit', join(dir, 'junit.xml'));
    expect(code).toBe(1);
    expect(stdout).toContain(`PASS ${join(dir, 'node-clean.pcapng')}`);
    expect(stdout).toContain(
      `FAIL ${join(dir, 'node-inbound.pcap')}: unexpected: inbound-to-node 10.77.0.66 -> 10.77.0.2:22; inbound-to-node 10.77.0.66 -> 10.77.0.2:9000`,
    );
    expect(stdout.trim().split('\n').at(-1)).toBe('verify: 1 passed, 1 failed');
    const xml = readFileSync(join(dir, 'junit.xml'), 'utf8');
    expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(xml).toMatch(/<testsuite name="netmatrix verify" tests="2" failures="1" errors="0" skipped="0" time="[\d.]+">/);
    expect(xml.match(/<testcase /g)).toHaveLength(2);
    expect(xml).toMatch(/<failure message="unexpected: inbound-to-node 10.77.0.66 -&gt; 10.77.0.2:22; [^"]*" type="findings">/);
    // Well-formed: every element opened is closed, in order.
    const stack: string[] = [];
    for (const m of xml.matchAll(/<(\/?)([a-z]+)[^>]*?(\/?)>/g)) {
      if (m[3]) continue;
      if (m[1]) expect(stack.pop()).toBe(m[2]);
      else stack.push(m[2] as string);
    }
    expect(stack).toEqual([]);
  });

  it('--update rewrites the expectation from what is observed; verify then passes', async () => {
    const dir = fixtures();
    const upd = await cli('verify', dir, '--update');
    expect(upd.code).toBe(0);
    expect(upd.stdout).toContain(`UPDATED ${join(dir, 'node-inbound.expect.yaml')}`);
    const text = readFileSync(join(dir, 'node-inbound.expect.yaml'), 'utf8');
    expect(text).toContain('# site fixture');
    expect(text).toContain('description: "node1, wrongly expected clean"');
    expect(text).toContain('clean: false');
    expect(text).toContain('  - code: inbound-to-node\n    client: "10.77.0.66"\n    server: "10.77.0.2:22"');
    const again = await cli('verify', dir);
    expect(again.code).toBe(0);
    expect(again.stdout.trim().split('\n').at(-1)).toBe('verify: 2 passed, 0 failed');
  });

  it('a capture without expectation, or nothing to verify: one line, exit 2', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nm-verify-empty-'));
    const none = await cli('verify', dir);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^netmatrix: no expectation files \(\*\.expect\.yaml\) in /);
    const lone = await cli('verify', 'test/corpus-regressions/hostile-clienthello.pcap');
    expect(lone.code).toBe(2);
    expect(lone.stderr).toMatch(/no expectation beside it \(hostile-clienthello\.expect\.yaml\)/);
  });
});
