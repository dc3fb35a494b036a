import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compileBundle, MAIN_BUNDLE, MAIN_CACHE } from '../../src/cli/code-cache.js';

const BIN = resolve('dist/bin');
const root = mkdtempSync(join(os.tmpdir(), 'netmatrix-code-cache-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
// A copy of the shipped layout (the bundle finds rules/ at ../../rules and yaml in node_modules).
const tmp = join(root, 'dist', 'bin');
mkdirSync(tmp, { recursive: true });
symlinkSync(resolve('rules'), join(root, 'rules'));
symlinkSync(resolve('node_modules'), join(root, 'node_modules'));

const ARGS = ['analyze', 'captures/node-gui-exposed.pcap', 'captures/vpn-tunnel.pcap', '--hosts', 'captures/lab.hosts.yaml', '--format', 'jsonl'];

function node(script: string, args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [script, ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The report without its header line (which names the rules files, different per checkout). */
const body = (jsonl: string): string => jsonl.split('\n').filter((l) => !l.startsWith('{"record":"header"')).join('\n');

describe('the shipped command: bundle + V8 code cache (npm run build)', () => {
  it('the build wrote a code cache that V8 accepts for the bundle', () => {
    expect(existsSync(join(BIN, MAIN_CACHE)), 'npm run build makes dist/bin/main.cache').toBe(true);
    const script = compileBundle(join(BIN, MAIN_BUNDLE), readFileSync(join(BIN, MAIN_CACHE)));
    expect(script.cachedDataRejected).toBe(false);
  });

  it('reports exactly what the unbundled command reports, with the cache and without it', () => {
    const plain = node('dist/cli/main.js', ARGS);
    expect(plain.status).toBe(1);
    const cached = node(join(BIN, 'netmatrix.cjs'), ARGS);
    expect(cached.stderr).toBe(plain.stderr);
    expect(cached.status).toBe(1);
    expect(body(cached.stdout)).toBe(body(plain.stdout));
    // Without a cache file the loader requires the bundle as it is.
    rmSync(join(tmp, MAIN_CACHE), { force: true });
    for (const f of ['netmatrix.cjs', MAIN_BUNDLE]) copyFileSync(join(BIN, f), join(tmp, f));
    const uncached = node(join(tmp, 'netmatrix.cjs'), ARGS);
    expect(uncached.status).toBe(1);
    expect(body(uncached.stdout)).toBe(body(plain.stdout));
  });

  it('a cache V8 rejects (another source) is ignored: same report, no error', () => {
    for (const f of ['netmatrix.cjs', MAIN_BUNDLE]) copyFileSync(join(BIN, f), join(tmp, f));
    // A cache made for other code.
    copyFileSync(join(BIN, MAIN_CACHE), join(tmp, MAIN_CACHE));
    const edited = readFileSync(join(tmp, MAIN_BUNDLE), 'utf8').replace('"use strict";', '"use strict"; void 0;');
    expect(edited).not.toBe(readFileSync(join(BIN, MAIN_BUNDLE), 'utf8'));
    writeFileSync(join(tmp, MAIN_BUNDLE), edited);
    expect(compileBundle(join(tmp, MAIN_BUNDLE), readFileSync(join(tmp, MAIN_CACHE))).cachedDataRejected).toBe(true);
    const r = node(join(tmp, 'netmatrix.cjs'), ARGS);
    expect(r.status).toBe(1);
    expect(r.stderr).toBe('');
    expect(body(r.stdout)).toBe(body(node('dist/cli/main.js', ARGS).stdout));
  });
});
