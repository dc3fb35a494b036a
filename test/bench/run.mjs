#!/usr/bin/env node
/**
 * `npm run bench`: netmatrix against the raw read floor (tcpdump), a C flow classifier (ndpiReader,
 * Debian libndpi-bin) and tshark's TCP conversation table, on two generated workloads of different
 * shapes (test/bench/generate.mjs): `default`, one pcap of many short Fed-BioMed flows, and
 * `transfer`, a rotated set of pcap files with long model transfers in offload-sized frames, IPv6
 * and VLAN tags. One run: rounds alternated between tools and workloads, medians reported, targets
 * checked per workload.
 *
 *   node test/bench/run.mjs [--workload both|default|transfer] [--rounds R (5)] [--seed S (1)]
 *                           [--packets N (500000)] [--flows M]                     default workload
 *                           [--transfer-packets N (960000)] [--transfer-flows M] [--files F (4)]
 *                           [--json FILE] [--cli dist/bin/netmatrix.cjs] [--dir DIR] [--keep]
 *                           [--no-double] [--no-tshark] [--strict] [--small]
 *
 * --small: small workloads (3,000 and 6,000 packets), one round (what `npm test` runs: it checks the
 * harness, not the speed). --strict: exit 1 when a target fails (otherwise the exit status only
 * reports broken runs).
 *
 * A rotated set is read whole by every tool, each the way its user would: netmatrix takes all the
 * files on one command line (one run: connections continue across files); tcpdump reads them in one
 * process from a list (`-V LIST`, its option for several savefiles); ndpiReader in one process from a
 * playlist (`-i LIST`: nDPI reads an input that is neither a device nor a capture as a list of
 * captures, one per line, flows continuing across them); tshark has no such option, so one process
 * per file in one shell loop (its conversations are cut at the file boundaries).
 *
 * Timing: wall time of each child with process.hrtime around a synchronous spawn; every tool's
 * output goes to /dev/null (netmatrix writes its JSON report to stdout, which is /dev/null).
 *
 * Peak RSS: each child runs under GNU time (`/usr/bin/time -f %M -o FILE`, Debian package `time`).
 * %M is ru_maxrss from wait4() on the child: the kernel's high-water mark of the process's resident
 * set, exact and taken after the process has ended (for tshark's shell loop: of its largest
 * tshark). Without /usr/bin/time the child's /proc/PID/status VmHWM is polled every 5 ms while it
 * runs: the same counter, but read before the end, so a peak in the last few ms can be missed
 * (reported as "approx."). Reading it from a wrapper shell after the command
 * (`cmd; cat /proc/self/status`) would be wrong: /proc/self is then `cat`.
 *
 * Note: netmatrix's report goes to stdout redirected to /dev/null rather than `--output /dev/null`:
 * the same work (the report is built in full and gathered in one 256 KiB buffer either way).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseCli } from 'node:util';
import { generateWorkload, INVENTORY_FLAGS } from './generate.mjs';
import { generateTransferWorkload } from './transfer.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

const USAGE = `usage: node test/bench/run.mjs [--workload both|default|transfer] [--rounds R (5)] [--seed S (1)]
                              [--packets N (500000)] [--flows M]
                              [--transfer-packets N (960000)] [--transfer-flows M] [--files F (4)]
                              [--json FILE] [--cli dist/bin/netmatrix.cjs] [--dir DIR] [--keep]
                              [--no-double] [--no-tshark] [--strict] [--small]
`;

/** Issue 14's targets, checked on each workload. */
const TARGETS = {
  vsNdpi: 4, // netmatrix at least 4x faster than ndpiReader
  vsTcpdump: 3, // netmatrix within 3x of tcpdump's raw read
  rssMB: 150, // peak RSS under 150 MB
  growth: 0.1, // RSS growing less than 10% when the input doubles
};

function parseArgs(argv) {
  const str = { type: 'string' };
  const flag = { type: 'boolean' };
  const { values: v } = parseCli({
    args: argv,
    options: {
      workload: str, packets: str, flows: str, 'transfer-packets': str, 'transfer-flows': str, files: str, rounds: str, seed: str, json: str, cli: str, dir: str,
      keep: flag, 'no-double': flag, 'no-tshark': flag, strict: flag, small: flag, help: { type: 'boolean', short: 'h' },
    },
  });
  const o = {
    workloads: v.workload === undefined || v.workload === 'both' ? ['default', 'transfer'] : [v.workload],
    packets: Number(v.packets ?? (v.small ? 3000 : 500_000)),
    transferPackets: Number(v['transfer-packets'] ?? (v.small ? 6000 : 960_000)),
    files: Number(v.files ?? 4),
    rounds: Number(v.rounds ?? (v.small ? 1 : 5)),
    seed: Number(v.seed ?? 1),
    double: !v['no-double'],
    tshark: !v['no-tshark'],
    keep: v.keep === true,
    strict: v.strict === true,
    small: v.small === true,
  };
  for (const k of ['json', 'cli', 'dir']) if (v[k] !== undefined) o[k] = v[k];
  if (v.flows !== undefined) o.flows = Number(v.flows);
  if (v['transfer-flows'] !== undefined) o.transferFlows = Number(v['transfer-flows']);
  if (v.help) o.help = true;
  for (const w of o.workloads) if (w !== 'default' && w !== 'transfer') throw new Error(`--workload ${w}: both, default or transfer`);
  if (!Number.isInteger(o.rounds) || o.rounds < 1) throw new Error('--rounds must be a positive integer');
  return o;
}

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const TIME = existsSync('/usr/bin/time') ? '/usr/bin/time' : undefined;

/**
 * Variables of the caller's environment that change how a tool starts without being part of the
 * work measured. NODE_EXTRA_CA_CERTS makes every Node process load and parse that certificate file
 * before any JavaScript runs (Node 20 reads it at start-up; on a machine whose whole CA bundle is
 * named there, about 150 ms a start); netmatrix makes no TLS connection, and a stock Debian with
 * Node 20 does not set it. NODE_OPTIONS would add flags of the caller's to the timed runs. Both are
 * removed from every timed tool's environment, and the report says so with the start-up cost of
 * the first measured in the same run (`startupCost`).
 */
const NEUTRALISED = ['NODE_EXTRA_CA_CERTS', 'NODE_OPTIONS'];
const childEnv = Object.fromEntries(Object.entries(process.env).filter(([k]) => !NEUTRALISED.includes(k)));
const neutralised = NEUTRALISED.filter((k) => process.env[k] !== undefined);

/** Median wall seconds of `node -e 0` with the caller's environment and with the timed tools' one. */
function startupCost(runs = 7) {
  const time = (env) => {
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0'], { env, stdio: 'ignore' });
    return Number(process.hrtime.bigint() - t0) / 1e9;
  };
  const asCalled = [];
  const clean = [];
  for (let i = 0; i < runs; i++) {
    asCalled.push(time(process.env));
    clean.push(time(childEnv));
  }
  return { asCalled: median(asCalled), clean: median(clean) };
}

/** Runs one command; returns wall seconds, peak RSS (MB) and the exit status. */
async function measure(cmd, args, tmp) {
  if (TIME) {
    const rssFile = join(tmp, 'rss.txt');
    const t0 = process.hrtime.bigint();
    const r = spawnSync(TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args], { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
    // GNU time prints "Command exited with non-zero status N" before the format when N != 0.
    const [kb, user, sys] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
    return { wall, cpu: user + sys, rssMB: kb / 1024, status: r.status, stderr: r.stderr.toString().slice(-2000), rssExact: true };
  }
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: childEnv, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d) => {
      stderr = (stderr + d.toString()).slice(-2000);
    });
    let hwm = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) hwm = Math.max(hwm, Number(m[1]));
      } catch {
        // exited between two polls
      }
    }, 5);
    child.on('exit', (status) => {
      const wall = Number(process.hrtime.bigint() - t0) / 1e9;
      clearInterval(poll);
      done({ wall, cpu: undefined, rssMB: hwm / 1024, status, stderr, rssExact: false });
    });
  });
}

/** Busy CPU seconds of the whole machine since boot (/proc/stat, USER_HZ = 100), or undefined. */
function busyCpuSeconds() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)) / 100;
  } catch {
    return undefined;
  }
}

function cpuModel() {
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) return m[1].trim();
  } catch {
    // not Linux
  }
  return os.cpus()[0]?.model ?? 'unknown';
}

function versionOf(cmd, args, re) {
  const r = spawnSync(cmd, args, { encoding: 'utf8' });
  const text = `${r.stdout ?? ''}${r.stderr ?? ''}`;
  const m = re.exec(text);
  return m ? m[1] : undefined;
}

const fmt = (x, d = 2) => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(d));
const fmtInt = (x) => Math.round(x).toLocaleString('en-US');

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join('  ');
  return [line(rows[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.slice(1).map(line)].join('\n');
}

/**
 * The inputs of one workload as the tools take them. `files`: the pcap files; `list`: a file naming
 * them one per line (tcpdump -V, ndpiReader's playlist), for a set; `inventory`: netmatrix's flags.
 */
function inputOf(manifest, inventory, tmp, name) {
  const files = manifest.files ?? [manifest.file];
  let list;
  if (files.length > 1) {
    list = join(tmp, `${name}.list`);
    writeFileSync(list, `${files.join('\n')}\n`);
  }
  return { files, list, inventory };
}

/** The same input with short names, for the printed commands. */
function shownInput(input) {
  const files = input.files.length > 1 ? [basename(input.files[0]).replace(/_\d{5}_\d{14}\.pcap$/, '_*.pcap')] : input.files.map((f) => basename(f));
  return { files, list: input.list && basename(input.list), inventory: input.inventory.map((a) => (a.includes('/') && a.endsWith('.yaml') ? basename(a) : a)) };
}

/** Generated counts netmatrix must report: every frame, every flow, each flow judged as generated. */
function checkNetmatrix(report, manifest, label) {
  const s = report.summary;
  const f = manifest.flows;
  const problems = [];
  const expect = (what, got, want) => {
    if (got !== want) problems.push(`${what} ${got}, expected ${want}`);
  };
  expect('frames', s.frames, manifest.packets);
  expect('decoded packets', s.decode.packets, manifest.packets);
  expect('flows', s.flows, f.total);
  expect('complete', s.complete, true);
  expect('malformed', s.decode.malformed, 0);
  expect('truncated', s.decode.truncated, 0);
  expect('skipped', s.decode.skipped, 0);
  expect('evicted', s.flowTable.evicted, 0);
  expect('packets in flows', report.flows.reduce((n, x) => n + x.packets, 0), manifest.packets);
  // IP bytes, headers included: the offload frames count whole. (The default workload's frames are
  // untagged Ethernet: each record is 16 + 14 bytes around its IP packet, after a 24-byte header.)
  const ipBytes = manifest.ipBytes ?? manifest.fileBytes - 24 - 30 * manifest.packets;
  expect('IP bytes in flows', report.flows.reduce((n, x) => n + x.bytes, 0), ipBytes);
  expect('allowed flows', s.verdicts.allowed, f.total - f.scan - f.wireguard);
  expect('violations', s.verdicts.violation, f.scan + f.wireguard);
  expect('inbound-to-node findings', s.findings['inbound-to-node'] ?? 0, f.scan);
  expect('not-in-matrix findings', s.findings['not-in-matrix'] ?? 0, f.wireguard);
  if (manifest.ipv6) expect('IPv6 flows', report.flows.filter((x) => x.client.ip.includes(':')).length, manifest.ipv6.flows);
  if (problems.length) throw new Error(`netmatrix on the ${label} workload: ${problems.join('; ')}`);
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  const log = (s) => process.stderr.write(`${s}\n`);
  const cli = resolve(o.cli ?? join(repo, 'dist', 'bin', 'netmatrix.cjs'));
  if (!existsSync(cli)) throw new Error(`${cli} not found: build first (npm run build)`);

  const tmp = o.dir ?? mkdtempSync(join(os.tmpdir(), 'netmatrix-bench-'));
  mkdirSync(tmp, { recursive: true });
  const cleanup = () => {
    if (!o.keep && !o.dir) rmSync(tmp, { recursive: true, force: true });
  };
  try {
    // Workloads, each with its doubled version (twice the packets and flows over twice the time;
    // the rotated set in twice as many files of the same size).
    const t0 = process.hrtime.bigint();
    const workloads = [];
    if (o.workloads.includes('default')) {
      const m = generateWorkload({ packets: o.packets, flows: o.flows, seed: o.seed, out: join(tmp, 'bench.pcap'), log });
      const m2 = o.double ? generateWorkload({ packets: o.packets * 2, flows: m.flows.total * 2, seed: o.seed, out: join(tmp, 'bench-2x.pcap'), log }) : undefined;
      workloads.push({ name: 'default', manifest: m, input: inputOf(m, INVENTORY_FLAGS, tmp, 'bench'), doubled: m2 && { manifest: m2, input: inputOf(m2, INVENTORY_FLAGS, tmp, 'bench-2x') } });
    }
    if (o.workloads.includes('transfer')) {
      const gen = (packets, flows, files, name) => generateTransferWorkload({ packets, flows, files, seed: o.seed, out: join(tmp, name), log });
      const m = gen(o.transferPackets, o.transferFlows, o.files, 'transfer');
      const m2 = o.double ? gen(o.transferPackets * 2, m.flows.total * 2, o.files * 2, 'transfer-2x') : undefined;
      // A dual-stack site's inventory: the hosts file, one machine per host with both addresses.
      workloads.push({
        name: 'transfer',
        manifest: m,
        input: inputOf(m, ['--hosts', m.hostsFile], tmp, 'transfer'),
        doubled: m2 && { manifest: m2, input: inputOf(m2, ['--hosts', m2.hostsFile], tmp, 'transfer-2x') },
      });
    }
    log(`workloads generated in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s in ${tmp}`);

    // Tools: run(input) gives the command for one workload's input.
    const tools = [
      { name: 'netmatrix', run: (i) => ({ cmd: process.execPath, args: [cli, 'analyze', ...i.files, ...i.inventory, '--format', 'json'] }), ok: [0, 1] },
    ];
    const skipped = [];
    const tcpdump = which('tcpdump');
    // -Z root: as root, tcpdump drops to its own user (which can neither open the next file of a list in a
    // private directory nor keep /dev/null root's when it chowns its output).
    const asRoot = process.getuid?.() === 0 ? ['-Z', 'root'] : [];
    if (tcpdump) {
      tools.push({ name: 'tcpdump', run: (i) => ({ cmd: tcpdump, args: [...asRoot, ...(i.list ? ['-V', i.list] : ['-r', i.files[0]]), '-w', '/dev/null'] }), ok: [0] });
    } else skipped.push('tcpdump (not installed)');
    const ndpi = which('ndpiReader');
    if (ndpi) tools.push({ name: 'ndpiReader', run: (i) => ({ cmd: ndpi, args: ['-i', i.list ?? i.files[0], '-q'] }), ok: [0] });
    else skipped.push('ndpiReader (not installed: apt-get install libndpi-bin)');
    const tshark = o.tshark ? which('tshark') : undefined;
    if (tshark) {
      const conv = ['-q', '-z', 'conv,tcp'];
      tools.push({
        name: 'tshark',
        run: (i) => (i.list
          ? { cmd: 'sh', args: ['-c', `for f do "$0" -r "$f" ${conv.join(' ')} || exit 1; done`, tshark, ...i.files] }
          : { cmd: tshark, args: ['-r', i.files[0], ...conv] }),
        ok: [0],
      });
    } else skipped.push(o.tshark ? 'tshark (not installed)' : 'tshark (--no-tshark)');
    const netmatrix = tools[0];

    // Validation, once per workload, untimed (it also brings the files into the page cache): every
    // tool must have read the whole input, and netmatrix must report what was generated.
    for (const w of workloads) {
      const m = w.manifest;
      const v = {};
      w.validation = v;
      {
        const out = join(tmp, 'report.json');
        const fd = openSync(out, 'w');
        const c = netmatrix.run(w.input);
        const r = spawnSync(c.cmd, c.args, { stdio: ['ignore', fd, 'pipe'] });
        closeSync(fd);
        if (r.status !== 0 && r.status !== 1) throw new Error(`netmatrix exited ${r.status} on the ${w.name} workload: ${r.stderr}`);
        const report = JSON.parse(readFileSync(out, 'utf8'));
        rmSync(out);
        const s = report.summary;
        v.netmatrix = { frames: s.frames, flows: s.flows, complete: s.complete, malformed: s.decode.malformed, verdicts: s.verdicts, findings: s.findings };
        checkNetmatrix(report, m, w.name);
        log(`check ${w.name} netmatrix: ${s.frames} frames, ${s.flows} flows, all IP bytes, each kind judged as generated, exit ${r.status} (${s.violations} violations: the scans and WireGuard under the native matrix)`);
      }
      if (tcpdump) {
        const r = spawnSync(tcpdump, [...asRoot, ...(w.input.list ? ['-V', w.input.list] : ['-r', w.input.files[0]]), '--count'], { encoding: 'utf8' });
        const c = /(\d+) packets?/.exec(r.stdout ?? '');
        v.tcpdump = { packets: c ? Number(c[1]) : undefined };
        if (!c || Number(c[1]) !== m.packets) throw new Error(`tcpdump counted ${c ? c[1] : "?"} packets of the ${w.name} workload, expected ${m.packets} (exit ${r.status}: ${(r.stderr ?? "").slice(-800)})`);
        log(`check ${w.name} tcpdump: ${c[1]} packets`);
      }
      if (ndpi) {
        const r = spawnSync(ndpi, ['-i', w.input.list ?? w.input.files[0]], { encoding: 'utf8', maxBuffer: 64 << 20 });
        const text = `${r.stdout}${r.stderr}`;
        const pk = /IP packets:\s+(\d+)\s+of\s+(\d+) packets total/.exec(text);
        const fl = /Unique flows:\s+(\d+)/.exec(text);
        const vl = /VLAN Packets:\s+(\d+)/.exec(text);
        v.ndpiReader = { ipPackets: pk ? Number(pk[1]) : undefined, packets: pk ? Number(pk[2]) : undefined, flows: fl ? Number(fl[1]) : undefined, vlanPackets: vl ? Number(vl[1]) : undefined };
        if (!pk || Number(pk[2]) !== m.packets) throw new Error(`ndpiReader did not report ${m.packets} packets of the ${w.name} workload: ${text.slice(-800)}`);
        if (m.vlan && (!vl || Number(vl[1]) !== m.vlan.frames)) throw new Error(`ndpiReader counted ${vl ? vl[1] : '?'} VLAN packets, the ${w.name} workload has ${m.vlan.frames}`);
        log(`check ${w.name} ndpiReader: ${pk[1]} of ${pk[2]} packets, ${fl ? fl[1] : '?'} flows${m.vlan ? `, ${vl[1]} VLAN-tagged` : ''}`);
      }
      if (tshark) {
        let convs = 0;
        for (const f of w.input.files) {
          const r = spawnSync(tshark, ['-r', f, '-q', '-z', 'conv,tcp'], { encoding: 'utf8', maxBuffer: 256 << 20 });
          if (r.status !== 0) throw new Error(`tshark exited ${r.status} on ${f}: ${(r.stderr ?? '').slice(-800)}`);
          convs += (r.stdout ?? '').split('\n').filter((l) => l.includes('<->')).length;
        }
        v.tshark = { tcpConversations: convs };
        const tcpFlows = m.flows.total - m.flows.wireguard;
        log(`check ${w.name} tshark: ${convs} TCP conversations (the workload has ${tcpFlows} TCP flows${w.input.list ? '; a connection spanning files counts once per file' : ''})`);
      }
      if (w.doubled) {
        // The doubled input: every frame and flow too (this also warms it).
        const out = join(tmp, 'report.json');
        const fd = openSync(out, 'w');
        const c = netmatrix.run(w.doubled.input);
        const r = spawnSync(c.cmd, c.args, { stdio: ['ignore', fd, 'pipe'] });
        closeSync(fd);
        if (r.status !== 0 && r.status !== 1) throw new Error(`netmatrix on the doubled ${w.name} workload exited ${r.status}: ${r.stderr}`);
        checkNetmatrix(JSON.parse(readFileSync(out, 'utf8')), w.doubled.manifest, `doubled ${w.name}`);
        rmSync(out);
      }
    }

    // Timed rounds: every tool once per workload per round, the order rotated each round over all
    // (workload, tool) pairs; each doubled input (netmatrix only) takes its turn in the rotation.
    const jobs = [];
    for (const w of workloads) {
      for (const t of tools) jobs.push({ key: `${w.name}/${t.name}`, row: t.name, workload: w, tool: t, input: w.input, manifest: w.manifest });
      if (w.doubled) jobs.push({ key: `${w.name}/netmatrix-2x`, row: 'netmatrix-2x', workload: w, tool: netmatrix, input: w.doubled.input, manifest: w.doubled.manifest });
    }
    const runs = Object.fromEntries(jobs.map((j) => [j.key, []]));
    const startup = neutralised.length > 0 ? startupCost() : undefined;
    const busy0 = busyCpuSeconds();
    const wall0 = process.hrtime.bigint();
    for (let r = 0; r < o.rounds; r++) {
      for (let k = 0; k < jobs.length; k++) {
        const j = jobs[(k + r) % jobs.length];
        const c = j.tool.run(j.input);
        const m = await measure(c.cmd, c.args, tmp);
        if (!j.tool.ok.includes(m.status)) throw new Error(`${j.key} exited ${m.status}: ${m.stderr}`);
        runs[j.key].push(m);
        log(`round ${r + 1}/${o.rounds} ${j.key.padEnd(22)} ${m.wall.toFixed(3)} s  cpu ${fmt(m.cpu)} s  ${m.rssMB.toFixed(1)} MB`);
      }
    }

    const timedWall = Number(process.hrtime.bigint() - wall0) / 1e9;
    const busy1 = busyCpuSeconds();
    const ours = Object.values(runs).flat().reduce((n, m) => (n === undefined || m.cpu === undefined ? undefined : n + m.cpu), 0);
    // CPU time the whole machine spent busy while we timed, minus what the measured tools used.
    const otherCpu = busy0 !== undefined && busy1 !== undefined && ours !== undefined ? Math.max(0, busy1 - busy0 - ours) : undefined;

    const check = (name, value, limit, pass, text) => ({ name, value, limit, result: value === undefined ? 'SKIP' : pass ? 'PASS' : 'FAIL', text });
    for (const w of workloads) {
      const stats = {};
      for (const j of jobs.filter((x) => x.workload === w)) {
        const ms = runs[j.key];
        const wall = ms.map((m) => m.wall);
        const med = median(wall);
        const c = j.tool.run(shownInput(j.input));
        stats[j.row] = {
          files: j.input.files.length,
          command: [c.cmd === process.execPath ? 'node' : c.cmd === 'sh' ? 'sh' : j.tool.name, ...c.args.map((a) => (a === cli ? 'dist/bin/netmatrix.cjs' : a === tshark ? 'tshark' : a))].join(' '),
          runs: wall,
          median: med,
          min: Math.min(...wall),
          max: Math.max(...wall),
          /** user + sys CPU seconds (median): less sensitive than wall time to other load on the machine. */
          cpuMedian: ms.every((m) => m.cpu !== undefined) ? median(ms.map((m) => m.cpu)) : undefined,
          packetsPerSecond: j.manifest.packets / med,
          mbPerSecond: j.manifest.fileBytes / 1e6 / med,
          peakRssMB: Math.max(...ms.map((m) => m.rssMB)),
          medianRssMB: median(ms.map((m) => m.rssMB)),
          rssExact: ms.every((m) => m.rssExact),
        };
      }
      const nm = stats.netmatrix;
      for (const st of Object.values(stats)) st.ratioVsNetmatrix = st.median / nm.median;
      const on = ` (${w.name})`;
      w.stats = stats;
      w.targets = [
        stats.ndpiReader
          ? check(`netmatrix >= ${TARGETS.vsNdpi}x faster than ndpiReader${on}`, stats.ndpiReader.median / nm.median, TARGETS.vsNdpi, stats.ndpiReader.median / nm.median >= TARGETS.vsNdpi,
              `ndpiReader ${fmt(stats.ndpiReader.median, 3)} s / netmatrix ${fmt(nm.median, 3)} s = ${fmt(stats.ndpiReader.median / nm.median)}x (target >= ${TARGETS.vsNdpi}x)`)
          : check(`netmatrix >= ${TARGETS.vsNdpi}x faster than ndpiReader${on}`, undefined, TARGETS.vsNdpi, false, 'ndpiReader not installed'),
        stats.tcpdump
          ? check(`netmatrix within ${TARGETS.vsTcpdump}x of tcpdump${on}`, nm.median / stats.tcpdump.median, TARGETS.vsTcpdump, nm.median / stats.tcpdump.median <= TARGETS.vsTcpdump,
              `netmatrix ${fmt(nm.median, 3)} s / tcpdump ${fmt(stats.tcpdump.median, 3)} s = ${fmt(nm.median / stats.tcpdump.median)}x (target <= ${TARGETS.vsTcpdump}x)`)
          : check(`netmatrix within ${TARGETS.vsTcpdump}x of tcpdump${on}`, undefined, TARGETS.vsTcpdump, false, 'tcpdump not installed'),
        check(`netmatrix peak RSS < ${TARGETS.rssMB} MB${on}`, nm.peakRssMB, TARGETS.rssMB, nm.peakRssMB < TARGETS.rssMB, `peak RSS ${fmt(nm.peakRssMB, 1)} MB (target < ${TARGETS.rssMB} MB)`),
        stats['netmatrix-2x']
          ? (() => {
              const g = stats['netmatrix-2x'].medianRssMB / nm.medianRssMB - 1;
              return check(`netmatrix RSS growth < ${TARGETS.growth * 100}% on the doubled input${on}`, g, TARGETS.growth, g < TARGETS.growth,
                `median RSS ${fmt(nm.medianRssMB, 1)} MB -> ${fmt(stats['netmatrix-2x'].medianRssMB, 1)} MB on 2x the packets = ${g >= 0 ? '+' : ''}${fmt(g * 100, 1)}% (target < ${TARGETS.growth * 100}%)`);
            })()
          : check(`netmatrix RSS growth < ${TARGETS.growth * 100}% on the doubled input${on}`, undefined, TARGETS.growth, false, '--no-double'),
      ];
    }

    const machine = {
      cpu: cpuModel(),
      cores: os.cpus().length,
      memoryGB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      kernel: `${os.type()} ${os.release()}`,
      neutralised,
      nodeStartSeconds: startup,
      rssMethod: TIME ? 'GNU time %M (wait4 ru_maxrss)' : 'polled /proc/PID/status VmHWM (approx.)',
      tools: {
        tcpdump: tcpdump ? versionOf(tcpdump, ['--version'], /tcpdump version (\S+)/) : undefined,
        ndpiReader: ndpi ? versionOf(ndpi, ['-h'], /nDPI \(?([\d.]+)/) : undefined,
        tshark: tshark ? versionOf(tshark, ['-v'], /TShark \(Wireshark\) (\S+)/) : undefined,
      },
    };
    const date = new Date().toISOString();

    // Report.
    const out = [];
    out.push('');
    out.push(`netmatrix benchmark — ${date}`);
    out.push(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, ${machine.kernel}, Node ${machine.node}`);
    out.push(`tools:   tcpdump ${machine.tools.tcpdump ?? '-'}, ndpiReader ${machine.tools.ndpiReader ?? '-'}, tshark ${machine.tools.tshark ?? '-'}; RSS by ${machine.rssMethod}`);
    out.push(`rounds: ${o.rounds}, alternated over tools and workloads; wall time per run, median reported; cpu s: median user+sys ("time vs netmatrix" > 1: slower than netmatrix)`);
    if (startup) {
      out.push(`environment: ${neutralised.join(', ')} removed from the timed tools' environment (set by the caller; see run.mjs): \`node -e 0\` takes ${fmt(startup.asCalled * 1000, 0)} ms with the caller's environment, ${fmt(startup.clean * 1000, 0)} ms without`);
    }
    if (otherCpu !== undefined && otherCpu > 0.1 * timedWall) {
      out.push(`warning: other processes used ${otherCpu.toFixed(1)} CPU-s during the ${timedWall.toFixed(1)} s of timed runs (${((otherCpu / timedWall) * 100).toFixed(0)}% of one core on ${machine.cores}): wall times are noisy, compare min and cpu s`);
    }
    if (skipped.length) out.push(`skipped: ${skipped.join('; ')}`);
    for (const w of workloads) {
      const m = w.manifest;
      const d = w.doubled?.manifest;
      const nFiles = w.input.files.length;
      out.push('');
      out.push(`== workload ${w.name} (seed ${o.seed}): ${fmtInt(m.packets)} packets, ${fmtInt(m.flows.total)} flows, ${fmt(m.fileBytes / 1e6, 1)} MB${nFiles > 1 ? ` in ${nFiles} rotated files` : ''}, ${fmt(m.durationSeconds, 0)} s of traffic` +
        (d ? `; doubled: ${fmtInt(d.packets)} packets, ${fmtInt(d.flows.total)} flows, ${fmt(d.fileBytes / 1e6, 1)} MB${nFiles > 1 ? ` in ${w.doubled.input.files.length} files` : ''}` : ''));
      out.push(`flows: ${Object.entries(m.flows).filter(([k]) => k !== 'total').map(([k, n]) => `${k} ${n}`).join(', ')}`);
      if (m.profile === 'transfer') {
        out.push(`shape: ${fmtInt(m.models.count)} model transfers (${fmt(m.models.bytes / 1e6, 0)} MB, up to ${fmt(m.models.largest / 1e6, 1)} MB), ${fmtInt(m.offload.frames)} offload frames (up to ${fmtInt(m.offload.maxFrameBytes)} bytes), ` +
          `IPv6 ${fmtInt(m.ipv6.flows)} flows / ${fmtInt(m.ipv6.packets)} packets, VLAN ${m.vlan.id} ${fmtInt(m.vlan.frames)} frames`);
      }
      const rows = [['tool', 'median s', 'min s', 'max s', 'cpu s', 'packets/s', 'MB/s', 'peak RSS MB', 'time vs netmatrix']];
      for (const [row, st] of Object.entries(w.stats)) {
        rows.push([row, fmt(st.median, 3), fmt(st.min, 3), fmt(st.max, 3), fmt(st.cpuMedian), fmtInt(st.packetsPerSecond), fmt(st.mbPerSecond, 1), `${fmt(st.peakRssMB, 1)}${st.rssExact ? '' : '~'}`, row === 'netmatrix' ? '1.00x' : `${fmt(st.ratioVsNetmatrix)}x`]);
      }
      out.push('');
      out.push(table(rows));
      out.push('');
      out.push(`targets (${w.name}):`);
      for (const t of w.targets) out.push(`  ${t.result.padEnd(4)}  ${t.name}: ${t.text}`);
    }
    out.push('');
    process.stdout.write(`${out.join('\n')}\n`);

    const targets = workloads.flatMap((w) => w.targets.map((t) => ({ workload: w.name, ...t })));
    const result = {
      date,
      machine,
      rounds: o.rounds,
      timedSeconds: timedWall,
      otherCpuSeconds: otherCpu,
      workloads: Object.fromEntries(workloads.map((w) => {
        const m = w.manifest;
        const d = w.doubled?.manifest;
        return [w.name, {
          seed: o.seed,
          files: w.input.files.length,
          packets: m.packets,
          flows: m.flows,
          bytes: m.fileBytes,
          durationSeconds: m.durationSeconds,
          shape: m.profile === 'transfer' ? { models: m.models, offload: m.offload, ipv6: m.ipv6, vlan: m.vlan } : undefined,
          doubled: d ? { packets: d.packets, flows: d.flows.total, bytes: d.fileBytes, files: w.doubled.input.files.length } : undefined,
          netmatrixArgs: w.input.inventory.map((a) => (a.endsWith('.yaml') ? basename(a) : a)),
          validation: w.validation,
          results: w.stats,
          targets: w.targets,
        }];
      })),
      targets,
      skipped,
    };
    if (o.json) {
      writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
      log(`results written to ${o.json}`);
    }
    if (o.keep || o.dir) log(`workloads kept in ${tmp}`);
    return o.strict && targets.some((t) => t.result === 'FAIL') ? 1 : 0;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench: ${err.message}\n`);
    process.exitCode = 2;
  },
);

