#!/usr/bin/env node
/**
 * Memory and time of `analyze --input zeek` on big logs (a script, not a test): writes a conn.log of
 * N connections (and an ssl.log for the TLS ones, joined by uid), runs the built command on it with
 * `--format json` to /dev/null under /usr/bin/time, and prints wall time and peak RSS per size. Flat
 * RSS from 1M to 2M lines is the point: memory follows the read-ahead bounds, not the log's size.
 *
 *   npm run build && node test/bench/zeek-rss.mjs              # 1,000,000 and 2,000,000 connections
 *   node test/bench/zeek-rss.mjs --sizes 200000 --gzip         # other sizes; gzip-compressed logs
 */
import { spawnSync } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGzip } from 'node:zlib';
import { once } from 'node:events';

const args = process.argv.slice(2);
const opt = (name, fallback) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : fallback;
};
const sizes = opt('--sizes', '1000000,2000000').split(',').map(Number);
const gzip = args.includes('--gzip');
const CMD = new URL('../../dist/bin/netmatrix.cjs', import.meta.url).pathname;

/** sfc32, seeded: the same sizes give the same logs. */
function rng(seed) {
  let a = 0x9e3779b9, b = 0x243f6a88, c = 0xb7e15162, d = seed >>> 0;
  return () => {
    a >>>= 0; b >>>= 0; c >>>= 0; d >>>= 0;
    const t = (a + b) | 0; a = b ^ (b >>> 9); b = (c + (c << 3)) | 0; c = (c << 21) | (c >>> 11); d = (d + 1) | 0;
    const r = (t + d) | 0; c = (c + r) | 0;
    return (r >>> 0) / 4294967296;
  };
}

const CONN_FIELDS = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'proto', 'service', 'duration', 'orig_bytes', 'resp_bytes', 'conn_state', 'local_orig', 'local_resp', 'missed_bytes', 'history', 'orig_pkts', 'orig_ip_bytes', 'resp_pkts', 'resp_ip_bytes', 'tunnel_parents'];
const SSL_FIELDS = ['ts', 'uid', 'id.orig_h', 'id.orig_p', 'id.resp_h', 'id.resp_p', 'version', 'cipher', 'curve', 'server_name', 'resumed', 'last_alert', 'next_protocol', 'established'];
const header = (path, fields) =>
  ['#separator \\x09', '#set_separator\t,', '#empty_field\t(empty)', '#unset_field\t-', `#path\t${path}`, '#open\t2026-12-01-00-00-00', `#fields\t${fields.join('\t')}`, `#types\t${fields.map(() => 'string').join('\t')}`].join('\n') + '\n';

async function writeLogs(dir, n) {
  const open = (name) => {
    const file = createWriteStream(join(dir, gzip ? `${name}.gz` : name));
    if (!gzip) return { out: file, done: () => new Promise((r) => file.end(r)) };
    const z = createGzip({ level: 1 });
    z.pipe(file);
    return { out: z, done: () => new Promise((r) => { file.on('close', r); z.end(); }) };
  };
  const conn = open('conn.log');
  const ssl = open('ssl.log');
  const write = async (w, text) => {
    if (!w.out.write(text)) await once(w.out, 'drain');
  };
  await write(conn, header('conn', CONN_FIELDS));
  await write(ssl, header('ssl', SSL_FIELDS));
  const r = rng(n);
  let ts = 1_764_547_200; // 2025-12-01
  let cbuf = '';
  let sbuf = '';
  for (let i = 0; i < n; i++) {
    ts += r() * 0.05; // about 20 connections a second
    const node = `10.20.1.${1 + Math.floor(r() * 16)}`;
    const sport = 1024 + Math.floor(r() * 64000);
    const uid = `C${i.toString(36)}`;
    const k = r();
    let row;
    if (k < 0.6) {
      row = [ts.toFixed(6), uid, node, sport, '10.20.0.1', 50051, 'tcp', 'ssl', (r() * 60).toFixed(6), 2000, 9000, 'SF', 'T', 'T', 0, 'ShADadFf', 20, 3000, 18, 10000, '(empty)'];
      sbuf += [(ts + 0.001).toFixed(6), uid, node, sport, '10.20.0.1', 50051, 'TLSv13', 'TLS_AES_128_GCM_SHA256', 'x25519', 'researcher', 'F', '-', 'h2', 'T'].join('\t') + '\n';
    } else if (k < 0.75) {
      row = [ts.toFixed(6), uid, node, sport, '10.20.0.1', 50051, 'tcp', '-', '0.002000', 0, 0, 'SF', 'T', 'T', 0, 'ShAFaf', 4, 200, 3, 160, '(empty)'];
    } else if (k < 0.85) {
      row = [ts.toFixed(6), uid, node, sport, `10.20.1.${1 + Math.floor(r() * 16)}`, 14000, 'tcp', '-', '2.100000', 4000, 4000, 'SF', 'T', 'T', 0, 'ShADadFf', 10, 4500, 10, 4500, '(empty)'];
    } else if (k < 0.97) {
      row = [ts.toFixed(6), uid, node, sport, '10.20.0.53', 53, 'udp', 'dns', '0.001000', 40, 90, 'SF', 'T', 'T', 0, 'Dd', 1, 68, 1, 118, '(empty)'];
    } else {
      row = [ts.toFixed(6), uid, `198.51.100.${Math.floor(r() * 250)}`, sport, node, 22, 'tcp', '-', '-', '-', '-', 'S0', 'F', 'T', 0, 'S', 1, 60, 0, 0, '(empty)'];
    }
    cbuf += row.join('\t') + '\n';
    if (cbuf.length > 1 << 20) {
      await write(conn, cbuf);
      cbuf = '';
    }
    if (sbuf.length > 1 << 20) {
      await write(ssl, sbuf);
      sbuf = '';
    }
  }
  await write(conn, cbuf + '#close\t2026-12-02-00-00-00\n');
  await write(ssl, sbuf + '#close\t2026-12-02-00-00-00\n');
  await conn.done();
  await ssl.done();
  return [join(dir, gzip ? 'conn.log.gz' : 'conn.log'), join(dir, gzip ? 'ssl.log.gz' : 'ssl.log')];
}

const rows = [];
for (const n of sizes) {
  const dir = mkdtempSync(join(tmpdir(), 'nm-zeek-rss-'));
  try {
    const files = await writeLogs(dir, n);
    const bytes = files.reduce((s, f) => s + statSync(f).size, 0);
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    delete env.NODE_OPTIONS;
    const r = spawnSync('/usr/bin/time', ['-f', '%e %M', process.execPath, CMD, 'analyze', '--input', 'zeek', ...files, '--node', '10.20.1.0/24', '--researcher', '10.20.0.1', '--format', 'json', '--output', '/dev/null'], { encoding: 'utf8', env });
    const last = r.stderr.trim().split('\n').pop() ?? '';
    const [wall, rssKb] = last.split(' ').map(Number);
    if (![0, 1].includes(r.status)) throw new Error(`netmatrix exited ${r.status}: ${r.stderr}`);
    rows.push({ connections: n, logMB: +(bytes / 1e6).toFixed(1), seconds: wall, peakRssMB: Math.round(rssKb / 1024), exit: r.status });
    console.log(`${n} connections (${(bytes / 1e6).toFixed(1)} MB${gzip ? ' gzip' : ''}): ${wall} s, peak RSS ${Math.round(rssKb / 1024)} MB, exit ${r.status}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
console.log(JSON.stringify(rows));
