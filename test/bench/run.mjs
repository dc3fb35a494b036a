#!/usr/bin/env node
/**
 * `npm run bench`: netmatrix against the raw read floor (tcpdump), a C flow classifier (ndpiReader,
 * Debian libndpi-bin) and tshark's TCP conversation table, on one generated workload
 * (test/bench/generate.mjs), in the same run, rounds alternated, medians reported.
 *
 *   node test/bench/run.mjs [--packets N (500000)] [--flows M] [--rounds R (5)] [--seed S]
 *                           [--json FILE] [--cli dist/bin/netmatrix.cjs] [--dir DIR] [--keep]
 *                           [--no-double] [--no-tshark] [--strict] [--small]
 *
 * --small: 3,000 packets, one round (what `npm test` runs: it checks the harness, not the speed).
 * --strict: exit 1 when a target fails (otherwise the exit status only reports broken runs).
 *
 * Timing: wall time of each child with process.hrtime around a synchronous spawn; every tool's
 * output goes to /dev/null (netmatrix writes its JSON report to stdout, which is /dev/null).
 *
 * Peak RSS: each child runs under GNU time (`/usr/bin/time -f %M -o FILE`, Debian package `time`).
 * %M is ru_maxrss from wait4() on the child: the kernel's high-water mark of the process's resident
 * set, exact and taken after the process has ended. Without /usr/bin/time the child's
 * /proc/PID/status VmHWM is polled every 5 ms while it runs: the same counter, but read before the
 * end, so a peak in the last few ms can be missed (reported as "approx."). Reading it from a wrapper
 * shell after the command (`cmd; cat /proc/self/status`) would be wrong: /proc/self is then `cat`.
 *
 * Note: netmatrix's report goes to stdout redirected to /dev/null rather than `--output /dev/null`:
 * the same work (the report is built in full and gathered in one 256 KiB buffer either way).
 */
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseCli } from 'node:util';
import { generateWorkload, INVENTORY_FLAGS } from './generate.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

const USAGE = `usage: node test/bench/run.mjs [--packets N (500000)] [--flows M] [--rounds R (5)] [--seed S (1)]
                              [--json FILE] [--cli dist/bin/netmatrix.cjs] [--dir DIR] [--keep]
                              [--no-double] [--no-tshark] [--strict] [--small]
`;

const TARGETS = {
  vsNdpi: 3, // netmatrix at least 3x faster than ndpiReader
  vsTcpdump: 4, // netmatrix within 4x of tcpdump's raw read
  rssMB: 150, // peak RSS under 150 MB
  growth: 0.1, // RSS growing less than 10% when the file doubles
};

function parseArgs(argv) {
  const str = { type: 'string' };
  const flag = { type: 'boolean' };
  const { values: v } = parseCli({
    args: argv,
    options: {
      packets: str, flows: str, rounds: str, seed: str, json: str, cli: str, dir: str,
      keep: flag, 'no-double': flag, 'no-tshark': flag, strict: flag, small: flag, help: { type: 'boolean', short: 'h' },
    },
  });
  const o = {
    packets: Number(v.packets ?? (v.small ? 3000 : 500_000)),
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
  if (v.help) o.help = true;
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

/** Runs one command; returns wall seconds, peak RSS (MB) and the exit status. */
async function measure(cmd, args, tmp) {
  if (TIME) {
    const rssFile = join(tmp, 'rss.txt');
    const t0 = process.hrtime.bigint();
    const r = spawnSync(TIME, ['-f', '%M %U %S', '-o', rssFile, cmd, ...args], { stdio: ['ignore', 'ignore', 'pipe'], maxBuffer: 64 << 20 });
    const wall = Number(process.hrtime.bigint() - t0) / 1e9;
    const lines = readFileSync(rssFile, 'utf8').trim().split('\n');
    // GNU time prints "Command exited with non-zero status N" before the format when N != 0.
    const [kb, user, sys] = (lines[lines.length - 1] ?? '').split(' ').map(Number);
    return { wall, cpu: user + sys, rssMB: kb / 1024, status: r.status, stderr: r.stderr.toString().slice(-2000), rssExact: true };
  }
  return new Promise((done) => {
    const t0 = process.hrtime.bigint();
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
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
  const cleanup = () => {
    if (!o.keep && !o.dir) rmSync(tmp, { recursive: true, force: true });
  };
  try {
    // Workloads.
    const t0 = process.hrtime.bigint();
    const main1 = generateWorkload({ packets: o.packets, flows: o.flows, seed: o.seed, out: join(tmp, 'bench.pcap'), log });
    const main2 = o.double
      ? generateWorkload({ packets: o.packets * 2, flows: main1.flows.total * 2, seed: o.seed, out: join(tmp, 'bench-2x.pcap'), log })
      : undefined;
    log(`workloads generated in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s in ${tmp}`);

    // Tools.
    const tools = [
      { name: 'netmatrix', cmd: process.execPath, args: (f) => [cli, 'analyze', f, ...INVENTORY_FLAGS, '--format', 'json'], ok: [0, 1] },
    ];
    const skipped = [];
    const tcpdump = which('tcpdump');
    // -Z root: as root, tcpdump drops to its own user and chowns the output file; /dev/null must stay root's.
    const asRoot = process.getuid?.() === 0 ? ['-Z', 'root'] : [];
    if (tcpdump) tools.push({ name: 'tcpdump', cmd: tcpdump, args: (f) => [...asRoot, '-r', f, '-w', '/dev/null'], ok: [0] });
    else skipped.push('tcpdump (not installed)');
    const ndpi = which('ndpiReader');
    if (ndpi) tools.push({ name: 'ndpiReader', cmd: ndpi, args: (f) => ['-i', f, '-q'], ok: [0] });
    else skipped.push('ndpiReader (not installed: apt-get install libndpi-bin)');
    const tshark = o.tshark ? which('tshark') : undefined;
    if (tshark) tools.push({ name: 'tshark', cmd: tshark, args: (f) => ['-r', f, '-q', '-z', 'conv,tcp'], ok: [0] });
    else skipped.push(o.tshark ? 'tshark (not installed)' : 'tshark (--no-tshark)');

    // Validation, once, untimed (it also brings both files into the page cache): every tool must
    // have read the whole file.
    const validation = {};
    const tcpFlows = main1.flows.total - main1.flows.wireguard;
    {
      const out = join(tmp, 'report.json');
      const fd = openSync(out, 'w');
      const r = spawnSync(process.execPath, tools[0].args(main1.file), { stdio: ['ignore', fd, 'pipe'] });
      closeSync(fd);
      if (r.status !== 0 && r.status !== 1) throw new Error(`netmatrix exited ${r.status}: ${r.stderr}`);
      const s = JSON.parse(readFileSync(out, 'utf8')).summary;
      validation.netmatrix = { frames: s.frames, flows: s.flows, complete: s.complete, malformed: s.decode.malformed, verdicts: s.verdicts, findings: s.findings };
      if (s.frames !== main1.packets || s.flows !== main1.flows.total || !s.complete) {
        throw new Error(`netmatrix read ${s.frames} frames / ${s.flows} flows, the workload has ${main1.packets} / ${main1.flows.total}`);
      }
      log(`check netmatrix: ${s.frames} frames, ${s.flows} flows, exit ${r.status} (${s.violations} violations: the scans and WireGuard under the native matrix)`);
      rmSync(out);
    }
    if (tcpdump) {
      const r = spawnSync(tcpdump, ['-r', main1.file, '--count'], { encoding: 'utf8' });
      const m = /(\d+) packets?/.exec(r.stdout ?? '');
      validation.tcpdump = { packets: m ? Number(m[1]) : undefined };
      if (m && Number(m[1]) !== main1.packets) throw new Error(`tcpdump counted ${m[1]} packets, expected ${main1.packets}`);
      log(`check tcpdump: ${m ? m[1] : '?'} packets`);
    }
    if (ndpi) {
      const r = spawnSync(ndpi, ['-i', main1.file], { encoding: 'utf8', maxBuffer: 64 << 20 });
      const text = `${r.stdout}${r.stderr}`;
      const pk = /IP packets:\s+(\d+)\s+of\s+(\d+) packets total/.exec(text);
      const fl = /Unique flows:\s+(\d+)/.exec(text);
      validation.ndpiReader = { ipPackets: pk ? Number(pk[1]) : undefined, packets: pk ? Number(pk[2]) : undefined, flows: fl ? Number(fl[1]) : undefined };
      if (!pk || Number(pk[2]) !== main1.packets) throw new Error(`ndpiReader did not report ${main1.packets} packets: ${text.slice(-800)}`);
      log(`check ndpiReader: ${pk[1]} of ${pk[2]} packets, ${fl ? fl[1] : '?'} flows`);
    }
    if (tshark) {
      const r = spawnSync(tshark, ['-r', main1.file, '-q', '-z', 'conv,tcp'], { encoding: 'utf8', maxBuffer: 256 << 20 });
      const convs = (r.stdout ?? '').split('\n').filter((l) => l.includes('<->'));
      let frames = 0;
      for (const l of convs) {
        // "a:p <-> b:p  frames bytes  frames bytes  frames bytes  start duration"; bytes carry a unit
        const m = /<->\s+\S+\s+\d+\s+\d+\s+(?:bytes|[kMGT]B)\s+\d+\s+\d+\s+(?:bytes|[kMGT]B)\s+(\d+)\s/.exec(l);
        if (m) frames += Number(m[1]);
      }
      validation.tshark = { tcpConversations: convs.length, tcpFrames: frames || undefined };
      log(`check tshark: ${convs.length} TCP conversations (the workload has ${tcpFlows} TCP flows)`);
    }
    if (main2) {
      // Warm the doubled file too.
      const r = spawnSync(process.execPath, tools[0].args(main2.file), { stdio: ['ignore', 'ignore', 'pipe'] });
      if (r.status !== 0 && r.status !== 1) throw new Error(`netmatrix on the doubled file exited ${r.status}: ${r.stderr}`);
    }

    // Timed rounds: every tool once per round, the order rotated each round; the doubled file
    // (netmatrix only) takes its turn in the rotation.
    const jobs = tools.map((t) => ({ key: t.name, tool: t, file: main1.file }));
    if (main2) jobs.push({ key: 'netmatrix-2x', tool: tools[0], file: main2.file });
    const runs = Object.fromEntries(jobs.map((j) => [j.key, []]));
    const busy0 = busyCpuSeconds();
    const wall0 = process.hrtime.bigint();
    for (let r = 0; r < o.rounds; r++) {
      for (let k = 0; k < jobs.length; k++) {
        const j = jobs[(k + r) % jobs.length];
        const m = await measure(j.tool.cmd, j.tool.args(j.file), tmp);
        if (!j.tool.ok.includes(m.status)) throw new Error(`${j.key} exited ${m.status}: ${m.stderr}`);
        runs[j.key].push(m);
        log(`round ${r + 1}/${o.rounds} ${j.key.padEnd(12)} ${m.wall.toFixed(3)} s  cpu ${fmt(m.cpu)} s  ${m.rssMB.toFixed(1)} MB`);
      }
    }

    const timedWall = Number(process.hrtime.bigint() - wall0) / 1e9;
    const busy1 = busyCpuSeconds();
    const ours = Object.values(runs).flat().reduce((n, m) => (n === undefined || m.cpu === undefined ? undefined : n + m.cpu), 0);
    // CPU time the whole machine spent busy while we timed, minus what the measured tools used.
    const otherCpu = busy0 !== undefined && busy1 !== undefined && ours !== undefined ? Math.max(0, busy1 - busy0 - ours) : undefined;

    const stats = {};
    for (const j of jobs) {
      const ms = runs[j.key];
      const w = ms.map((m) => m.wall);
      const manifest = j.file === main1.file ? main1 : main2;
      const med = median(w);
      stats[j.key] = {
        file: j.file === main1.file ? 'bench.pcap' : 'bench-2x.pcap',
        command: [j.tool.cmd === process.execPath ? 'node' : j.tool.name, ...j.tool.args(j.file === main1.file ? 'bench.pcap' : 'bench-2x.pcap').map((a) => (a === cli ? 'dist/bin/netmatrix.cjs' : a))].join(' '),
        runs: w,
        median: med,
        min: Math.min(...w),
        max: Math.max(...w),
        /** user + sys CPU seconds (median): less sensitive than wall time to other load on the machine. */
        cpuMedian: ms.every((m) => m.cpu !== undefined) ? median(ms.map((m) => m.cpu)) : undefined,
        packetsPerSecond: manifest.packets / med,
        mbPerSecond: manifest.fileBytes / 1e6 / med,
        peakRssMB: Math.max(...ms.map((m) => m.rssMB)),
        medianRssMB: median(ms.map((m) => m.rssMB)),
        rssExact: ms.every((m) => m.rssExact),
      };
    }
    const nm = stats.netmatrix;
    for (const s of Object.values(stats)) s.ratioVsNetmatrix = s.median / nm.median;

    const check = (name, value, limit, pass, text) => ({ name, value, limit, result: value === undefined ? 'SKIP' : pass ? 'PASS' : 'FAIL', text });
    const targets = [
      stats.ndpiReader
        ? check('netmatrix >= 3x faster than ndpiReader', stats.ndpiReader.median / nm.median, TARGETS.vsNdpi, stats.ndpiReader.median / nm.median >= TARGETS.vsNdpi,
            `ndpiReader ${fmt(stats.ndpiReader.median, 3)} s / netmatrix ${fmt(nm.median, 3)} s = ${fmt(stats.ndpiReader.median / nm.median)}x (target >= ${TARGETS.vsNdpi}x)`)
        : check('netmatrix >= 3x faster than ndpiReader', undefined, TARGETS.vsNdpi, false, 'ndpiReader not installed'),
      stats.tcpdump
        ? check('netmatrix within 4x of tcpdump', nm.median / stats.tcpdump.median, TARGETS.vsTcpdump, nm.median / stats.tcpdump.median <= TARGETS.vsTcpdump,
            `netmatrix ${fmt(nm.median, 3)} s / tcpdump ${fmt(stats.tcpdump.median, 3)} s = ${fmt(nm.median / stats.tcpdump.median)}x (target <= ${TARGETS.vsTcpdump}x)`)
        : check('netmatrix within 4x of tcpdump', undefined, TARGETS.vsTcpdump, false, 'tcpdump not installed'),
      check('netmatrix peak RSS < 150 MB', nm.peakRssMB, TARGETS.rssMB, nm.peakRssMB < TARGETS.rssMB, `peak RSS ${fmt(nm.peakRssMB, 1)} MB (target < ${TARGETS.rssMB} MB)`),
      stats['netmatrix-2x']
        ? (() => {
            const g = stats['netmatrix-2x'].medianRssMB / nm.medianRssMB - 1;
            return check('netmatrix RSS growth < 10% on the doubled file', g, TARGETS.growth, g < TARGETS.growth,
              `median RSS ${fmt(nm.medianRssMB, 1)} MB -> ${fmt(stats['netmatrix-2x'].medianRssMB, 1)} MB on 2x the packets = ${g >= 0 ? '+' : ''}${fmt(g * 100, 1)}% (target < ${TARGETS.growth * 100}%)`);
          })()
        : check('netmatrix RSS growth < 10% on the doubled file', undefined, TARGETS.growth, false, '--no-double'),
    ];

    const machine = {
      cpu: cpuModel(),
      cores: os.cpus().length,
      memoryGB: Math.round(os.totalmem() / 2 ** 30),
      node: process.version,
      kernel: `${os.type()} ${os.release()}`,
      rssMethod: TIME ? 'GNU time %M (wait4 ru_maxrss)' : 'polled /proc/PID/status VmHWM (approx.)',
      tools: {
        tcpdump: tcpdump ? versionOf(tcpdump, ['--version'], /tcpdump version (\S+)/) : undefined,
        ndpiReader: ndpi ? versionOf(ndpi, ['-h'], /nDPI \(?([\d.]+)/) : undefined,
        tshark: tshark ? versionOf(tshark, ['-v'], /TShark \(Wireshark\) (\S+)/) : undefined,
      },
    };
    const date = new Date().toISOString();

    // Report.
    const rows = [['tool', 'median s', 'min s', 'max s', 'cpu s', 'packets/s', 'MB/s', 'peak RSS MB', 'time vs netmatrix']];
    for (const j of jobs) {
      const s = stats[j.key];
      rows.push([j.key, fmt(s.median, 3), fmt(s.min, 3), fmt(s.max, 3), fmt(s.cpuMedian), fmtInt(s.packetsPerSecond), fmt(s.mbPerSecond, 1), `${fmt(s.peakRssMB, 1)}${s.rssExact ? '' : '~'}`, j.key === 'netmatrix' ? '1.00x' : `${fmt(s.ratioVsNetmatrix)}x`]);
    }
    const out = [];
    out.push('');
    out.push(`netmatrix benchmark — ${date}`);
    out.push(`machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGB} GB, ${machine.kernel}, Node ${machine.node}`);
    out.push(`tools:   tcpdump ${machine.tools.tcpdump ?? '-'}, ndpiReader ${machine.tools.ndpiReader ?? '-'}, tshark ${machine.tools.tshark ?? '-'}; RSS by ${machine.rssMethod}`);
    out.push(`workload (seed ${o.seed}): ${fmtInt(main1.packets)} packets, ${fmtInt(main1.flows.total)} flows, ${fmt(main1.fileBytes / 1e6, 1)} MB, ${fmt(main1.durationSeconds, 0)} s of traffic` +
      (main2 ? `; doubled: ${fmtInt(main2.packets)} packets, ${fmtInt(main2.flows.total)} flows, ${fmt(main2.fileBytes / 1e6, 1)} MB` : ''));
    out.push(`flows: ${Object.entries(main1.flows).filter(([k]) => k !== 'total').map(([k, v]) => `${k} ${v}`).join(', ')}`);
    out.push(`rounds: ${o.rounds}, alternated; wall time per run, median reported; cpu s: median user+sys ("time vs netmatrix" > 1: slower than netmatrix)`);
    if (otherCpu !== undefined && otherCpu > 0.1 * timedWall) {
      out.push(`warning: other processes used ${otherCpu.toFixed(1)} CPU-s during the ${timedWall.toFixed(1)} s of timed runs (${((otherCpu / timedWall) * 100).toFixed(0)}% of one core on ${machine.cores}): wall times are noisy, compare min and cpu s`);
    }
    if (skipped.length) out.push(`skipped: ${skipped.join('; ')}`);
    out.push('');
    out.push(table(rows));
    out.push('');
    out.push('targets:');
    for (const t of targets) out.push(`  ${t.result.padEnd(4)}  ${t.name}: ${t.text}`);
    out.push('');
    process.stdout.write(`${out.join('\n')}\n`);

    const result = {
      date,
      machine,
      workload: {
        seed: o.seed,
        packets: main1.packets,
        flows: main1.flows,
        bytes: main1.fileBytes,
        durationSeconds: main1.durationSeconds,
        doubled: main2 ? { packets: main2.packets, flows: main2.flows.total, bytes: main2.fileBytes } : undefined,
        netmatrixArgs: INVENTORY_FLAGS,
      },
      rounds: o.rounds,
      timedSeconds: timedWall,
      otherCpuSeconds: otherCpu,
      validation,
      results: stats,
      targets,
      skipped,
    };
    if (o.json) {
      writeFileSync(o.json, `${JSON.stringify(result, null, 2)}\n`);
      log(`results written to ${o.json}`);
    }
    if (o.keep || o.dir) log(`workload kept in ${tmp}`);
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

