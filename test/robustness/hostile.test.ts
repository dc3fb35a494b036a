/**
 * Strings from packets are data. test/corpus-regressions/hostile-clienthello.pcap (built by
 * fixtures.ts) carries an SNI, ALPN, HTTP target and Host made of terminal escape sequences
 * (OSC, CSI, SGR, BEL, the one-byte C1 CSI U+009B, DEL), a right-to-left override and HTML: the table
 * shows them escaped and nothing raw reaches the terminal; JSON and JSONL give back the exact strings.
 */
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import {
  buildHostileCapture,
  FIXTURE,
  HOSTILE_ALPN,
  HOSTILE_HOST,
  HOSTILE_SNI,
  HOSTILE_TARGET,
} from './fixtures.js';

async function analyze(...extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await run(['analyze', FIXTURE, '--node', '10.0.0.2', ...extra], {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stdoutIsTTY: false,
    stderrIsTTY: false,
  });
  return { code, stdout, stderr };
}

/** What must never reach a terminal raw: C0 controls but newline, DEL, C1 (U+0080-U+009F), bidi controls, line separators. */
// eslint-disable-next-line no-control-regex
const RAW = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\u2028\u2029]/u;

function rawBytes(text: string): number[] {
  const bad: number[] = [];
  for (const b of Buffer.from(text, 'utf8')) if (b === 0x1b || b === 0x07 || b === 0x9b || b === 0x7f) bad.push(b);
  return bad;
}

interface TlsFlow {
  tls?: { sni?: string; alpn: string[] };
  http?: { method: string; target: string; host?: string };
}

describe('hostile strings from packets', () => {
  it('the fixture is what fixtures.ts builds (deterministic, small)', () => {
    const onDisk = readFileSync(FIXTURE);
    expect(onDisk.length).toBeLessThan(4096);
    expect(Buffer.from(buildHostileCapture()).equals(onDisk)).toBe(true);
  });

  it('table: no raw ESC, BEL, C1 CSI (0x9b), DEL or bidi override; the escaped form is shown', async () => {
    const { code, stdout, stderr } = await analyze();
    expect(code).toBe(1);
    expect(stderr).toBe('');
    expect(rawBytes(stdout)).toEqual([]);
    expect(stdout).not.toMatch(RAW);
    expect(stdout).toContain('sni=\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m<script>alert(1)</script>\\u202e\\x7f.evil.example');
    expect(stdout).toContain('alpn=h2,\\x1b[31mred\\x9b0m');
    expect(stdout).toContain('GET /\\x9b2J<script>');
    expect(stdout).toContain('host=\\x1b[1;31mhost\\x9b2J\\u202e\\u061c\\u2066<img src=x onerror=alert(1)>');
  });

  it('table on a terminal with colours and wrapping: still nothing raw from the packets', async () => {
    let stdout = '';
    const code = await run(['analyze', FIXTURE, '--node', '10.0.0.2', '--color'], {
      stdout: (t) => (stdout += t),
      stderr: () => undefined,
      stdoutIsTTY: true,
      stderrIsTTY: false,
      columns: 100,
    });
    expect(code).toBe(1);
    // Our own SGR colour codes are the only escape sequences: ESC [ digits m, nothing else.
    const withoutOwnColours = stdout.replace(/\u001b\[\d+m/g, '');
    expect(rawBytes(withoutOwnColours)).toEqual([]);
    expect(withoutOwnColours).not.toMatch(RAW);
    expect(stdout).not.toContain('\u001b]');
    expect(stdout).not.toContain('\u001b[2J');
    expect(stdout).not.toContain('\u001b[31mred');
  });

  it('a capture named with escape sequences (files copied off a compromised machine): its name is escaped too', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'nm-hostile-'));
    const name = join(dir, 'rot\u001b[2J\u001b]0;owned\u0007\u009b31m.pcap');
    copyFileSync(FIXTURE, name);
    let stdout = '';
    let stderr = '';
    const code = await run(['analyze', name, '--node', '10.0.0.2'], {
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
      stdoutIsTTY: false,
      stderrIsTTY: false,
    });
    rmSync(dir, { recursive: true, force: true });
    expect(code).toBe(1);
    expect(rawBytes(stdout + stderr)).toEqual([]);
    expect(stdout).not.toMatch(RAW);
    expect(stdout).toContain('rot\\x1b[2J\\x1b]0;owned\\x07\\x9b31m.pcap');
  });

  it('json: parses back to the exact strings, with no raw control byte in the document', async () => {
    const { code, stdout } = await analyze('--format', 'json');
    expect(code).toBe(1);
    expect(rawBytes(stdout)).toEqual([]);
    expect(stdout).not.toMatch(RAW);
    const doc = JSON.parse(stdout) as { flows: TlsFlow[]; summary: { exitCode: number } };
    expect(doc.summary.exitCode).toBe(1);
    const tls = doc.flows.find((f) => f.tls)?.tls;
    const http = doc.flows.find((f) => f.http)?.http;
    expect(tls?.sni).toBe(HOSTILE_SNI);
    expect(tls?.alpn).toEqual(HOSTILE_ALPN);
    expect(http).toEqual({ method: 'GET', target: HOSTILE_TARGET, host: HOSTILE_HOST });
  });

  it('jsonl: every line parses back to the exact strings, one record per line', async () => {
    const { code, stdout } = await analyze('--format', 'jsonl');
    expect(code).toBe(1);
    expect(rawBytes(stdout)).toEqual([]);
    expect(stdout).not.toMatch(RAW);
    const lines = stdout.trimEnd().split('\n');
    const records = lines.map((l) => JSON.parse(l) as { record: string } & TlsFlow);
    expect(records.map((r) => r.record)).toEqual(['header', 'flow', 'flow', 'finding', 'summary']);
    expect(records.find((r) => r.tls)?.tls).toMatchObject({ sni: HOSTILE_SNI, alpn: HOSTILE_ALPN });
    expect(records.find((r) => r.http)?.http).toEqual({ method: 'GET', target: HOSTILE_TARGET, host: HOSTILE_HOST });
  });
});
