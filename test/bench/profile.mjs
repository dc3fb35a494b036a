#!/usr/bin/env node
/**
 * Where `netmatrix analyze` spends its time on the benchmark workload: runs it once under
 * `node --cpu-prof` (JSON report to /dev/null) and sums the V8 samples' self time by function and by
 * part of the pipeline (src/ folder, node internals, GC).
 *
 *   node test/bench/profile.mjs [--workload default|transfer] [--packets N (500000; transfer 960000)]
 *                               [--file F.pcap] [--top 30] [--cli dist/cli/main.js] [--keep]
 *
 * --workload transfer profiles the rotated set of the transfer profile (all its files in one run,
 * with its hosts file).
 *
 * The .cpuprofile is kept with --keep (open it in Chrome DevTools > Performance, or speedscope).
 */
import { spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseCli } from 'node:util';
import { generateWorkload, INVENTORY_FLAGS } from './generate.mjs';
import { generateTransferWorkload } from './transfer.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

function parseArgs(argv) {
  const { values } = parseCli({
    args: argv,
    options: {
      workload: { type: 'string' }, packets: { type: 'string' }, file: { type: 'string' }, top: { type: 'string' }, cli: { type: 'string' }, keep: { type: 'boolean' },
    },
  });
  const workload = values.workload ?? 'default';
  if (workload !== 'default' && workload !== 'transfer') throw new Error(`--workload ${workload}: default or transfer`);
  if (workload === 'transfer' && values.file !== undefined) throw new Error('--file is for the default workload');
  const o = { workload, packets: Number(values.packets ?? (workload === 'transfer' ? 960_000 : 500_000)), top: Number(values.top ?? 30), keep: values.keep === true };
  if (values.file !== undefined) o.file = values.file;
  if (values.cli !== undefined) o.cli = values.cli;
  return o;
}

/** Self time (ms) per profile node id, from the samples and their time deltas. */
function selfTimes(profile) {
  const self = new Map();
  const { samples, timeDeltas } = profile;
  for (let i = 0; i < samples.length; i++) {
    const dt = (timeDeltas[i] ?? 0) / 1000;
    self.set(samples[i], (self.get(samples[i]) ?? 0) + dt);
  }
  return self;
}

function where(url) {
  if (!url) return '';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  return path.startsWith(repo) ? relative(repo, path) : path;
}

/** The part of the pipeline a frame belongs to. */
function area(cf) {
  const name = cf.functionName;
  if (name === '(garbage collector)') return 'GC';
  if (name === '(program)' || name === '(idle)' || name === '(root)') return name;
  const w = where(cf.url);
  let m = /^dist\/([^/]+)\//.exec(w);
  if (m) return `netmatrix ${m[1]}/`;
  m = /^dist\/([^/]+)\.js$/.exec(w);
  if (m) return `netmatrix ${m[1]}.js`;
  m = /node_modules\/([^/]+)/.exec(w);
  if (m) return `dependency ${m[1]}`;
  if (w.startsWith('node:') || w === '') return 'node internals / builtins';
  return w;
}

function main() {
  const o = parseArgs(process.argv.slice(2));
  // The unbundled build (tsc's dist/), so that time is attributed to the source folders.
  const cli = resolve(o.cli ?? join(repo, 'dist', 'cli', 'main.js'));
  if (!existsSync(cli)) throw new Error(`${cli} not found: build first (npm run build)`);
  const tmp = mkdtempSync(join(os.tmpdir(), 'netmatrix-profile-'));
  try {
    let input;
    if (o.workload === 'transfer') {
      const m = generateTransferWorkload({ packets: o.packets, out: join(tmp, 'transfer') });
      input = [...m.files, '--hosts', m.hostsFile];
    } else {
      input = [o.file ?? generateWorkload({ packets: o.packets, out: join(tmp, 'bench.pcap'), writeSidecars: false }).file, ...INVENTORY_FLAGS];
    }
    const devnull = openSync('/dev/null', 'w');
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['--cpu-prof', '--cpu-prof-dir', tmp, cli, 'analyze', ...input, '--format', 'json'], {
      stdio: ['ignore', devnull, 'pipe'],
    });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    closeSync(devnull);
    if (r.status !== 0 && r.status !== 1) throw new Error(`netmatrix exited ${r.status}: ${r.stderr}`);
    const name = readdirSync(tmp).find((f) => f.endsWith('.cpuprofile'));
    if (!name) throw new Error('no .cpuprofile written');
    const profile = JSON.parse(readFileSync(join(tmp, name), 'utf8'));
    const self = selfTimes(profile);
    const total = [...self.values()].reduce((a, b) => a + b, 0);

    const byFn = new Map();
    const byArea = new Map();
    for (const node of profile.nodes) {
      const ms = self.get(node.id) ?? 0;
      if (ms === 0) continue;
      const cf = node.callFrame;
      const key = `${cf.functionName || '(anonymous)'}  ${where(cf.url)}${cf.url ? `:${cf.lineNumber + 1}` : ''}`;
      byFn.set(key, (byFn.get(key) ?? 0) + ms);
      const a = area(cf);
      byArea.set(a, (byArea.get(a) ?? 0) + ms);
    }
    const pct = (ms) => `${((ms / total) * 100).toFixed(1).padStart(5)}%`;
    const out = [];
    out.push(`netmatrix analyze under --cpu-prof: ${wall.toFixed(2)} s wall (profiling slows it a little), ${(total / 1000).toFixed(2)} s sampled`);
    out.push('');
    out.push('self time by area:');
    for (const [a, ms] of [...byArea].sort((x, y) => y[1] - x[1])) out.push(`  ${pct(ms)}  ${ms.toFixed(0).padStart(7)} ms  ${a}`);
    out.push('');
    out.push(`top ${o.top} functions by self time:`);
    for (const [k, ms] of [...byFn].sort((x, y) => y[1] - x[1]).slice(0, o.top)) out.push(`  ${pct(ms)}  ${ms.toFixed(0).padStart(7)} ms  ${k}`);
    process.stdout.write(`${out.join('\n')}\n`);
    if (o.keep) process.stderr.write(`profile kept: ${join(tmp, name)}\n`);
  } finally {
    if (!o.keep) rmSync(tmp, { recursive: true, force: true });
  }
}

try {
  main();
} catch (err) {
  process.stderr.write(`profile: ${err.message}\n`);
  process.exitCode = 2;
}
