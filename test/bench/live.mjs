#!/usr/bin/env node
/**
 * `npm run bench:live`: live capture under load. netmatrix monitor against tcpdump and dumpcap on one
 * veth, the same traffic for each, rounds alternated, medians reported. A benchmark a person runs as
 * root, not a test: it needs network namespaces, tcpreplay, tcpdump, dumpcap and GNU time.
 *
 *   node test/bench/live.mjs [--rounds R (3)] [--packets N (500000)] [--pps N[,N...]] [--workload udp|tcp|both]
 *                            [--tools netmatrix,tcpdump,dumpcap] [--filter EXPR ("udp or tcp")]
 *                            [--udp-flow-packets K (10)] [--netmatrix dist/bin/netmatrix.cjs]
 *                            [--json FILE] [--keep] [--strict]
 *
 * Network: two namespaces made for the run, nmbA-PID and nmbB-PID, joined by the veth pair nmbva-PID
 * (in A, address 10.203.0.1/24) / nmbvb-PID (in B). IPv6 is disabled in both before the veth exists
 * (no link-local address, no DAD, MLD or router solicitation). B's veth has no address: B is a
 * passive sensor, its kernel drops every replayed packet at the IP layer (no route, forwarding off:
 * no ICMP, no TCP RST), after the capture tap. Nothing resolves a neighbour (tcpreplay writes whole
 * frames), so no ARP either. Traffic never leaves the two namespaces; they are deleted at exit, on
 * SIGINT/SIGTERM and after errors (--keep leaves them, and the workload files, for debugging).
 *
 * Traffic (test/bench/live/workload.mjs): pcap files written here, replayed from A with
 * `tcpreplay -i nmbva-PID -K --topspeed FILE` (or `--pps N`): the file is preloaded into memory, so the
 * sender does no I/O. udp: 60-byte frames (64 with an FCS), K packets per flow, every flow unique,
 * node 10.203.0.x -> researcher 10.203.1.1:123 (NTP, out of the matrix's scope: no alert). tcp: 8-packet
 * connections node 10.203.0.x -> researcher 10.203.1.1:50051 (SYN, SYN-ACK, ACK, a small TLS 1.3
 * ClientHello with ALPN h2, ACK, FIN, FIN, ACK: allowed by the native matrix, no alert), each on its
 * own 4-tuple. "sent" is tcpreplay's "Actual: N packets" (successful sends).
 *
 * Capture, in B, one tool at a time, each under GNU time (`/usr/bin/time -f '%e %U %S %M'`):
 *   node dist/bin/netmatrix.cjs monitor -i nmbvb-PID --node 10.203.0.0/24 --researcher 10.203.1.1
 *        --format jsonl --stats-interval 0 --filter FILTER          (its own libpcap settings: 32 MiB ring)
 *   tcpdump -i nmbvb-PID -w /dev/null -Z root -B 32768 FILTER       (tcpdump's defaults, the ring as netmatrix's)
 *   dumpcap -i nmbvb-PID -w /dev/null -B 32 -f FILTER               (idem)
 * -Z root: as root tcpdump drops to its own user and chowns the output file; /dev/null must stay root's.
 * No --immediate-mode for tcpdump: its default with -w (TPACKET_V3 blocks), what a person would run.
 * netmatrix's alerts go to a file (there are none with these workloads; the last two lines are the
 * final `stats` and `summary` records read here).
 *
 * One run: start the tool; wait for it to say it is ready ("monitoring", "listening on", dumpcap's
 * "File:"), then 300 ms; read its CPU time; replay; wait until the tool has drained its ring (at least
 * 1.5 s, longer than tcpdump's 1 s ring-block timeout, and until its CPU time stops growing: at most
 * 20 ms of CPU in 500 ms); read its CPU time again; SIGINT; read what it printed at exit. Every round
 * runs each tool once (and the sender alone, the "no capture" row: the rate tcpreplay reaches here),
 * the order rotated from round to round.
 *
 * Per run:
 * - sent: tcpreplay's "Actual: N packets"; pps: N / its "sent in T seconds".
 * - at tap: frames B's veth received in the run (rx_packets delta, `ip -s -j link`). A frame the
 *   veth drops (the receive backlog full: A's tx_dropped, B's rx_dropped) never reaches the capture
 *   tap; "before tap" = sent - at tap. With this isolation nothing else arrives (checked: a run where
 *   more frames arrive than were sent, or B sends anything, is flagged).
 * - received: frames the tool handled (netmatrix: the final stats record's `packets`; tcpdump:
 *   "packets captured"; dumpcap: "Packets captured"/"received" of its drop report).
 * - reported: drops the tool reports from libpcap's ps_drop (netmatrix: the sum of `pcap[].dropped`,
 *   null when the binding cannot read it; tcpdump: "packets dropped by kernel"; dumpcap: "pcap:N").
 * - missing: at tap - received, the packets really lost by the tool (the filter matches every frame of
 *   the workloads, so nothing is filtered out).
 * - busy after send: how long the tool kept using CPU (more than 10% of a core per 100 ms) after the
 *   sender ended. Above about 0.1 s the tool was slower than the sender and its ring held the
 *   difference: a 32 MiB TPACKET_V3 ring holds a few hundred thousand small frames, so a round of a
 *   few seconds can hide a rate the tool cannot sustain (raise --packets to see it overflow).
 * - CPU µs/packet: the tool's CPU time (all threads: sum_exec_runtime from /proc/PID/task/TID/schedstat,
 *   exact to the ns; 10 ms ticks of /proc/PID/stat where schedstat is missing) from ready to drained,
 *   per packet received: start-up and the exit's summary are not counted (netmatrix's Node start-up
 *   is a fixed cost). The kernel's copy of each frame into the ring runs in the sender's softirq
 *   and is charged to no capture tool. "CPU s (life)" is GNU time's %U+%S for the whole process life.
 * - other load: busy CPU of the whole machine (/proc/stat) in 1 s before and after the rounds; other
 *   work on a 2-core machine changes every figure, so the report warns when it exceeds 10% of a core.
 * - peak RSS: GNU time's %M (ru_maxrss from wait4, exact). tcpdump's and dumpcap's include the pages
 *   of the mmap'd ring they touched.
 *
 * Targets (PASS/FAIL, exit status unchanged unless --strict), per workload and rate:
 * - netmatrix's reported drops equal its missing packets, in every round;
 * - netmatrix loses no more packets than tcpdump (medians of "missing");
 * - netmatrix's CPU per packet at most 2x tcpdump's (medians).
 * At --topspeed each tool gets whatever rate the sender reaches beside it (on a small machine the
 * capture tool and the sender compete for cores, so a slower tool also slows the sender: compare the
 * pps column); --pps fixes the rate: `--pps 50000,100000,200000` finds the highest rate at which each
 * tool loses nothing (the report notes when the sender could not reach the rate beside a tool).
 *
 * Debian packages: tcpreplay, tcpdump, wireshark-common (dumpcap), time, iproute2.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, openSync, closeSync, readFileSync, readdirSync, readSync, fstatSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs as parseCli } from 'node:util';
import { TCP_PACKETS_PER_CONN, writeTcpWorkload, writeUdpWorkload } from './live/workload.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const repo = resolve(here, '..', '..');

const USAGE = `usage: node test/bench/live.mjs [--rounds R (3)] [--packets N (500000)] [--pps N[,N...]] [--workload udp|tcp|both]
                               [--tools netmatrix,tcpdump,dumpcap] [--filter EXPR ("udp or tcp")]
                               [--udp-flow-packets K (10)] [--netmatrix dist/bin/netmatrix.cjs]
                               [--json FILE] [--keep] [--strict]
Runs as root (network namespaces). Debian packages: tcpreplay tcpdump wireshark-common time iproute2.
`;

const TARGETS = { cpuVsTcpdump: 2 };
const ALL_TOOLS = ['netmatrix', 'tcpdump', 'dumpcap'];
const A_ADDR = '10.203.0.1';
const NODE_CIDR = '10.203.0.0/24';
const B_ADDR = '10.203.1.1';
const RING_MIB = 32;
const SETTLE_MS = 300;
/**
 * Drained: at least minMs after the sender ended (libpcap's TPACKET_V3 hands a partly filled ring block
 * over only when its timeout expires: tcpdump's is 1 s, so a tool stopped sooner leaves its last
 * packets unread and uncounted), and the tool used at most idleSeconds of CPU over the last windowMs
 * (polled every pollMs). A poll interval in which it used more than busyFraction of a core counts as
 * busy: the last one after the sender ended gives "busy after send".
 */
const DRAIN = { pollMs: 100, minMs: 1500, windowMs: 500, idleSeconds: 0.02, busyFraction: 0.1, maxMs: 60_000 };
const READY_TIMEOUT_MS = 30_000;
const EXIT_TIMEOUT_MS = 60_000;
const CLK_TCK = 100; // USER_HZ on Linux

class Usage extends Error {}

function parseArgs(argv) {
  const str = { type: 'string' };
  const flag = { type: 'boolean' };
  let v;
  try {
    ({ values: v } = parseCli({
      args: argv,
      options: {
        rounds: str, packets: str, pps: str, workload: str, tools: str, filter: str, 'udp-flow-packets': str,
        netmatrix: str, json: str, keep: flag, strict: flag, help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    throw new Usage(e.message);
  }
  const int = (name, text, min) => {
    const n = Number(text);
    if (!Number.isInteger(n) || n < min) throw new Usage(`--${name} must be an integer >= ${min} (got ${text})`);
    return n;
  };
  const o = {
    help: v.help === true,
    rounds: int('rounds', v.rounds ?? '3', 1),
    packets: v.packets === undefined ? undefined : int('packets', v.packets, TCP_PACKETS_PER_CONN),
    pps: v.pps === undefined ? [undefined] : v.pps.split(',').map((x) => int('pps', x.trim(), 1)),
    workloads: v.workload === undefined || v.workload === 'both' ? ['udp', 'tcp'] : [v.workload],
    tools: (v.tools ?? ALL_TOOLS.join(',')).split(',').map((x) => x.trim()).filter(Boolean),
    filter: v.filter ?? 'udp or tcp',
    udpFlowPackets: int('udp-flow-packets', v['udp-flow-packets'] ?? '10', 1),
    netmatrix: resolve(v.netmatrix ?? join(repo, 'dist', 'bin', 'netmatrix.cjs')),
    json: v.json,
    keep: v.keep === true,
    strict: v.strict === true,
  };
  for (const w of o.workloads) if (w !== 'udp' && w !== 'tcp') throw new Usage(`--workload must be udp, tcp or both (got ${w})`);
  for (const t of o.tools) if (!ALL_TOOLS.includes(t)) throw new Usage(`--tools: unknown tool ${t} (known: ${ALL_TOOLS.join(', ')})`);
  if (o.tools.length === 0) throw new Usage('--tools: no tool');
  return o;
}

/** Packets per round: --packets, else about 1-2 s of sending (500,000 at --topspeed, 2 s at --pps). */
function packetsFor(o, pps, workload) {
  let n = o.packets ?? (pps === undefined ? 500_000 : Math.min(500_000, Math.max(1000, pps * 2)));
  if (workload === 'tcp') n -= n % TCP_PACKETS_PER_CONN;
  return n;
}

// ---- small helpers ------------------------------------------------------------------------------

function which(cmd) {
  const r = spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const median = (xs) => {
  const s = xs.filter((x) => x !== undefined && x !== null && !Number.isNaN(x)).sort((a, b) => a - b);
  if (s.length === 0) return undefined;
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

const fmt = (x, d = 2) => (x === undefined || x === null || Number.isNaN(x) ? '-' : x.toFixed(d));
const fmtInt = (x) => (x === undefined || x === null || Number.isNaN(x) ? '-' : Math.round(x).toLocaleString('en-US'));

/** Runs a command synchronously; throws with its stderr when it fails. */
function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...opts });
  if (r.error) throw new Error(`${cmd} ${args.join(' ')}: ${r.error.message}`);
  if (r.status !== 0 && !opts.allowFail) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}`);
  return r;
}

/** utime+stime ticks, ppid and comm of a process, or undefined once it is gone. */
function procStat(pid) {
  let text;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const comm = text.slice(text.indexOf('(') + 1, close);
  const f = text.slice(close + 2).split(' ');
  // f[0] = state (field 3), f[1] = ppid (4), f[11] = utime (14), f[12] = stime (15)
  return { comm, ppid: Number(f[1]), ticks: Number(f[11]) + Number(f[12]) };
}

/**
 * CPU time of a process in seconds, all its threads: the sum of sum_exec_runtime (ns, exact) from
 * /proc/PID/task/TID/schedstat; without schedstat, utime+stime from /proc/PID/stat (10 ms ticks).
 */
function cpuSeconds(pid) {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
      } catch {
        // the thread ended meanwhile
      }
    }
    if (ns > 0) return ns / 1e9;
  } catch {
    // no /proc/PID/task: gone, or no schedstat
  }
  const st = procStat(pid);
  return st ? st.ticks / CLK_TCK : undefined;
}

function vmHwmKB(pid) {
  try {
    const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/** The processes under `root`, nearest first, as {pid, comm}. */
function descendants(root) {
  const children = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const s = procStat(d);
    if (!s) continue;
    if (!children.has(s.ppid)) children.set(s.ppid, []);
    children.get(s.ppid).push({ pid: Number(d), comm: s.comm });
  }
  const out = [];
  const queue = [...(children.get(root) ?? [])];
  while (queue.length) {
    const p = queue.shift();
    out.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/** The process named `comm` in the tree under `root` (ip netns exec -> time -> the tool). */
function findDescendant(root, comm) {
  if (procStat(root)?.comm === comm) return root;
  return descendants(root).find((p) => p.comm === comm)?.pid;
}

/** SIGKILL a process started here and everything under it (GNU time's child outlives time). */
function killTree(pid) {
  for (const p of [...descendants(pid).reverse(), { pid }]) {
    try {
      process.kill(p.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** The last `bytes` of a file as text. */
function tail(path, bytes = 1 << 20) {
  const fd = openSync(path, 'r');
  try {
    const size = fstatSync(fd).size;
    const len = Math.min(size, bytes);
    const buf = Buffer.alloc(len);
    readSync(fd, buf, 0, len, size - len);
    return buf.toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function table(rows) {
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => String(r[i]).length)));
  const line = (r) => `| ${r.map((c, i) => (i === 0 ? String(c).padEnd(widths[i]) : String(c).padStart(widths[i]))).join(' | ')} |`;
  const sep = `| ${widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')} |`;
  return [line(rows[0]), sep, ...rows.slice(1).map(line)].join('\n');
}

// ---- processes started here, ended on a signal ---------------------------------------------------

const started = new Set();

function track(child) {
  started.add(child);
  child.on('exit', () => started.delete(child));
  return child;
}

// ---- the network --------------------------------------------------------------------------------

class Net {
  constructor(tag) {
    this.nsA = `nmbA-${tag}`;
    this.nsB = `nmbB-${tag}`;
    this.vethA = `nmbva-${tag}`;
    this.vethB = `nmbvb-${tag}`;
    this.made = [];
  }

  up() {
    for (const ns of [this.nsA, this.nsB]) {
      run('ip', ['netns', 'add', ns]);
      this.made.push(ns);
      // Before the veth exists: it inherits `default`.
      run('ip', ['netns', 'exec', ns, 'sysctl', '-qw', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
    }
    run('ip', ['link', 'add', this.vethA, 'netns', this.nsA, 'type', 'veth', 'peer', 'name', this.vethB, 'netns', this.nsB]);
    run('ip', ['netns', 'exec', this.nsA, 'sysctl', '-qw', `net.ipv6.conf.${this.vethA}.disable_ipv6=1`]);
    run('ip', ['netns', 'exec', this.nsB, 'sysctl', '-qw', `net.ipv6.conf.${this.vethB}.disable_ipv6=1`]);
    run('ip', ['-n', this.nsA, 'addr', 'add', `${A_ADDR}/24`, 'dev', this.vethA]);
    run('ip', ['-n', this.nsA, 'link', 'set', this.vethA, 'up']);
    run('ip', ['-n', this.nsB, 'link', 'set', this.vethB, 'up']);
    this.macA = this.link(this.nsA, this.vethA).address;
    this.macB = this.link(this.nsB, this.vethB).address;
  }

  link(ns, dev) {
    const r = run('ip', ['-n', ns, '-s', '-j', 'link', 'show', 'dev', dev]);
    return JSON.parse(r.stdout)[0];
  }

  /** The counters that tell what reached B's capture tap. */
  counters() {
    const a = this.link(this.nsA, this.vethA).stats64;
    const b = this.link(this.nsB, this.vethB).stats64;
    return { aTxPackets: a.tx.packets, aTxDropped: a.tx.dropped, bRxPackets: b.rx.packets, bRxDropped: b.rx.dropped, bTxPackets: b.tx.packets };
  }

  down() {
    for (const ns of this.made.splice(0).reverse()) spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
}

// ---- the sender ---------------------------------------------------------------------------------

async function replay(net, file, packets, pps) {
  const args = ['netns', 'exec', net.nsA, 'tcpreplay', '-i', net.vethA, '-K', ...(pps === undefined ? ['--topspeed'] : ['--pps', String(pps)]), file];
  const limitMs = (pps === undefined ? 60_000 : (packets / pps) * 3000) + 60_000;
  const child = track(spawn('ip', args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let out = '';
  child.stdout.on('data', (d) => (out += d));
  child.stderr.on('data', (d) => (out += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const status = await new Promise((r) => child.on('close', (code, sig) => r(code ?? sig)));
  clearTimeout(timer);
  const actual = /Actual: (\d+) packets \((\d+) bytes\) sent in ([\d.]+) seconds/.exec(out);
  if (status !== 0 || !actual) throw new Error(`tcpreplay exited ${status}: ${out.trim().split('\n').slice(-4).join(' / ')}`);
  const num = (re) => {
    const m = re.exec(out);
    return m ? Number(m[1]) : undefined;
  };
  const sent = Number(actual[1]);
  const seconds = Number(actual[3]);
  return {
    sent,
    seconds,
    pps: seconds > 0 ? sent / seconds : undefined,
    failed: num(/Failed packets:\s+(\d+)/),
    retriedEnobufs: num(/Retried packets \(ENOBUFS\):\s+(\d+)/),
  };
}

// ---- the capture tools ---------------------------------------------------------------------------

function toolSpec(name, o, net, tmp) {
  const dev = net.vethB;
  switch (name) {
    case 'netmatrix':
      return {
        name,
        comm: 'node',
        cmd: process.execPath,
        args: [o.netmatrix, 'monitor', '-i', dev, '--node', NODE_CIDR, '--researcher', B_ADDR, '--format', 'jsonl', '--stats-interval', '0',
          ...(o.filter ? ['--filter', o.filter] : [])],
        ready: /netmatrix: monitoring/,
        stdoutFile: join(tmp, 'netmatrix.jsonl'),
        okStatus: [0, 1, 3],
        parse: (stderr, stdoutFile) => {
          let stats;
          let summary;
          for (const line of tail(stdoutFile).split('\n')) {
            if (line.startsWith('{"event":"stats"')) stats = JSON.parse(line);
            else if (line.startsWith('{"event":"summary"')) summary = JSON.parse(line);
          }
          if (!stats || !summary) throw new Error(`netmatrix printed no final stats/summary record: ${stderr.trim().slice(-500)}`);
          const pcap = stats.pcap ?? [];
          const dropped = pcap.some((p) => p.dropped === null || p.dropped === undefined) ? null : pcap.reduce((n, p) => n + p.dropped, 0);
          return {
            received: stats.packets,
            reported: dropped,
            ifDropped: pcap.reduce((n, p) => n + (p.ifDropped ?? 0), 0),
            pcapReceived: pcap.reduce((n, p) => n + (p.received ?? 0), 0),
            complete: summary.complete,
            flows: summary.flows,
            exitCode: summary.exitCode,
          };
        },
      };
    case 'tcpdump':
      return {
        name,
        comm: 'tcpdump',
        cmd: 'tcpdump',
        args: ['-i', dev, '-w', '/dev/null', '-Z', 'root', '-B', String(RING_MIB * 1024), ...(o.filter ? [o.filter] : [])],
        ready: /listening on/,
        okStatus: [0],
        parse: (stderr) => {
          const n = (re) => {
            const m = re.exec(stderr);
            return m ? Number(m[1]) : undefined;
          };
          const received = n(/(\d+) packets? captured/);
          if (received === undefined) throw new Error(`tcpdump printed no statistics: ${stderr.trim().slice(-500)}`);
          return {
            received,
            reported: n(/(\d+) packets? dropped by kernel/),
            ifDropped: n(/(\d+) packets? dropped by interface/) ?? 0,
            pcapReceived: n(/(\d+) packets? received by filter/),
          };
        },
      };
    case 'dumpcap':
      return {
        name,
        comm: 'dumpcap',
        cmd: 'dumpcap',
        args: ['-i', dev, '-w', '/dev/null', '-B', String(RING_MIB), ...(o.filter ? ['-f', o.filter] : [])],
        ready: /^File: /m,
        okStatus: [0],
        parse: (stderr) => {
          const m = /Packets received\/dropped on interface '[^']*': (\d+)\/(\d+) \(pcap:(\d+)\/dumpcap:(\d+)\/flushed:(\d+)\/ps_ifdrop:(\d+)\)/.exec(stderr);
          if (!m) throw new Error(`dumpcap printed no drop report: ${stderr.trim().slice(-500)}`);
          const captured = /Packets captured: (\d+)/.exec(stderr);
          return {
            received: captured ? Number(captured[1]) : Number(m[1]),
            reported: Number(m[3]),
            ifDropped: Number(m[6]),
            pcapReceived: Number(m[1]),
            dumpcapDropped: Number(m[4]) + Number(m[5]),
          };
        },
      };
  }
  throw new Error(`unknown tool ${name}`);
}

/** One round of one tool (or of the sender alone when spec is undefined). */
async function measure(spec, net, tmp, file, packets, pps) {
  if (!spec) {
    const c0 = net.counters();
    const s = await replay(net, file, packets, pps);
    await sleep(200);
    const c1 = net.counters();
    return { ...s, ...delta(c0, c1, s.sent) };
  }
  const timeFile = join(tmp, `time-${spec.name}.txt`);
  rmSync(timeFile, { force: true });
  const outFd = spec.stdoutFile ? openSync(spec.stdoutFile, 'w') : 'ignore';
  const child = track(spawn('ip', ['netns', 'exec', net.nsB, '/usr/bin/time', '-f', '%e %U %S %M', '-o', timeFile, spec.cmd, ...spec.args], {
    stdio: ['ignore', outFd, 'pipe'],
  }));
  if (typeof outFd === 'number') closeSync(outFd);
  let stderr = '';
  let exited;
  const exit = new Promise((r) => child.on('close', (code, sig) => {
    exited = code ?? sig;
    r(exited);
  }));
  const ready = new Promise((res, rej) => {
    const timer = setTimeout(() => rej(new Error(`${spec.name} not ready after ${READY_TIMEOUT_MS / 1000} s: ${stderr.trim().slice(-500)}`)), READY_TIMEOUT_MS);
    child.stderr.on('data', (d) => {
      stderr += d;
      if (stderr.length > 1 << 20) stderr = stderr.slice(-(1 << 19));
      if (spec.ready.test(stderr)) {
        clearTimeout(timer);
        res();
      }
    });
    exit.then((code) => {
      clearTimeout(timer);
      rej(new Error(`${spec.name} exited ${code} before it was ready: ${stderr.trim().slice(-500)}`));
    });
  });
  let pid;
  try {
    await ready;
    await sleep(SETTLE_MS);
    pid = findDescendant(child.pid, spec.comm);
    if (pid === undefined) throw new Error(`cannot find the ${spec.comm} process under pid ${child.pid}`);
    const cpu0 = cpuSeconds(pid);
    const c0 = net.counters();
    const s = await replay(net, file, packets, pps);
    // Drain: until the tool's CPU time stops growing.
    const t0 = Date.now();
    const history = [{ at: t0, cpu: cpuSeconds(pid) ?? 0 }];
    let busyUntil = t0;
    for (;;) {
      await sleep(DRAIN.pollMs);
      const cpu = cpuSeconds(pid);
      if (cpu === undefined || exited !== undefined) throw new Error(`${spec.name} exited during the run: ${stderr.trim().slice(-500)}`);
      const now = Date.now();
      const prev = history[history.length - 1];
      if (cpu - prev.cpu > ((now - prev.at) / 1000) * DRAIN.busyFraction) busyUntil = now;
      history.push({ at: now, cpu });
      const old = history.find((h) => h.at >= now - DRAIN.windowMs - DRAIN.pollMs / 2);
      const elapsed = now - t0;
      if (elapsed >= DRAIN.minMs && old && now - old.at >= DRAIN.windowMs - DRAIN.pollMs && cpu - old.cpu <= DRAIN.idleSeconds) break;
      if (elapsed > DRAIN.maxMs) {
        process.stderr.write(`warning: ${spec.name} still busy ${DRAIN.maxMs / 1000} s after the sender ended; stopping it\n`);
        break;
      }
    }
    const drainMs = Date.now() - t0;
    const busyAfterSeconds = (busyUntil - t0) / 1000;
    const cpu1 = cpuSeconds(pid);
    const c1 = net.counters();
    const hwm = vmHwmKB(pid);
    process.kill(pid, 'SIGINT');
    const timer = setTimeout(() => {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }, EXIT_TIMEOUT_MS);
    const status = await exit;
    clearTimeout(timer);
    // GNU time: "Command exited with non-zero status N" / "Command terminated by signal N" before the format.
    const timeLines = readFileSync(timeFile, 'utf8').trim().split('\n');
    const nonZero = /exited with non-zero status (\d+)/.exec(timeLines.join('\n'));
    const toolStatus = nonZero ? Number(nonZero[1]) : /terminated by signal/.test(timeLines.join('\n')) ? 'signal' : status;
    if (!spec.okStatus.includes(toolStatus)) throw new Error(`${spec.name} exited ${toolStatus}: ${stderr.trim().slice(-500)}`);
    const [, user, sys, maxKB] = (timeLines[timeLines.length - 1] ?? '').split(' ').map(Number);
    const parsed = spec.parse(stderr, spec.stdoutFile);
    const d = delta(c0, c1, s.sent);
    const windowCpu = cpu0 !== undefined && cpu1 !== undefined ? cpu1 - cpu0 : undefined;
    return {
      ...s,
      ...d,
      ...parsed,
      status: toolStatus,
      missing: d.atTap - parsed.received,
      cpuWindowSeconds: windowCpu,
      cpuUsPerPacket: windowCpu !== undefined && parsed.received > 0 ? (windowCpu * 1e6) / parsed.received : undefined,
      cpuTotalSeconds: user + sys,
      peakRssMB: Number.isFinite(maxKB) ? maxKB / 1024 : hwm !== undefined ? hwm / 1024 : undefined,
      drainMs,
      busyAfterSeconds,
    };
  } catch (e) {
    if (exited === undefined) {
      killTree(child.pid);
      await exit;
    }
    throw e;
  }
}

function delta(c0, c1, sent) {
  const atTap = c1.bRxPackets - c0.bRxPackets;
  return {
    atTap,
    beforeTap: sent - atTap,
    vethDropped: c1.aTxDropped - c0.aTxDropped + (c1.bRxDropped - c0.bRxDropped),
    bSent: c1.bTxPackets - c0.bTxPackets,
  };
}

// ---- the machine --------------------------------------------------------------------------------

/** Busy CPU seconds of the whole machine since boot (/proc/stat: all but idle and iowait). */
function busyCpuSeconds() {
  try {
    const f = readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    return ((f[0] ?? 0) + (f[1] ?? 0) + (f[2] ?? 0) + (f[5] ?? 0) + (f[6] ?? 0) + (f[7] ?? 0)) / CLK_TCK;
  } catch {
    return undefined;
  }
}

/** Cores' worth of CPU the machine spends busy over `ms` while this benchmark does nothing. */
async function otherLoad(ms = 1000) {
  const b0 = busyCpuSeconds();
  const t0 = process.hrtime.bigint();
  await sleep(ms);
  const b1 = busyCpuSeconds();
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  return b0 === undefined || b1 === undefined ? undefined : (b1 - b0) / wall;
}

function machine() {
  let cpu = os.cpus()[0]?.model ?? 'unknown';
  try {
    const m = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1].trim();
  } catch {
    // not Linux
  }
  const text = (cmd, args) => {
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    return `${r.stdout ?? ''}${r.stderr ?? ''}`;
  };
  const td = text('tcpdump', ['--version']);
  const nproc = Number(text('nproc', []).trim()) || os.cpus().length;
  return {
    nproc,
    cpu,
    memoryGB: Math.round(os.totalmem() / 2 ** 30),
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    libpcap: /libpcap version (\S+(?: \([^)]*\))?)/.exec(td)?.[1],
    tcpdump: /tcpdump version (\S+)/.exec(td)?.[1],
    dumpcap: /Dumpcap \(Wireshark\) (\S+)/.exec(text('dumpcap', ['--version']))?.[1],
    tcpreplay: /tcpreplay version: (\S+)/.exec(text('tcpreplay', ['--version']))?.[1],
  };
}

// ---- the report ---------------------------------------------------------------------------------

function summarize(runs) {
  const col = (k) => median(runs.map((r) => r[k]));
  return {
    rounds: runs.length,
    pps: col('pps'),
    sent: col('sent'),
    atTap: col('atTap'),
    beforeTap: col('beforeTap'),
    received: col('received'),
    reported: runs.some((r) => r.reported === null || r.reported === undefined) ? null : col('reported'),
    missing: col('missing'),
    missingFraction: median(runs.map((r) => (r.atTap > 0 && r.missing !== undefined ? r.missing / r.atTap : undefined))),
    cpuUsPerPacket: col('cpuUsPerPacket'),
    cpuTotalSeconds: col('cpuTotalSeconds'),
    busyAfterSeconds: col('busyAfterSeconds'),
    peakRssMB: runs.length ? Math.max(...runs.map((r) => r.peakRssMB ?? 0)) : undefined,
  };
}

function targetsFor(results) {
  const nm = results.netmatrix;
  const td = results.tcpdump;
  const check = (name, result, text) => ({ name, result, text });
  const out = [];
  if (!nm) return [check('netmatrix targets', 'SKIP', 'netmatrix not in --tools')];
  {
    const name = 'netmatrix reported drops == real losses (every round)';
    const per = nm.runs.map((r) => `${r.reported === null ? 'null' : fmtInt(r.reported)}/${fmtInt(r.missing)}`).join(', ');
    const exact = nm.runs.filter((r) => r.reported !== null && r.reported !== undefined && r.reported === r.missing).length;
    const unknown = nm.runs.filter((r) => r.reported === null || r.reported === undefined).length;
    out.push(check(name, exact === nm.runs.length ? 'PASS' : 'FAIL',
      `reported/missing per round: ${per}${unknown ? ` (dropped is null in ${unknown}/${nm.runs.length} rounds: unknown, not 0)` : ''}`));
  }
  if (td) {
    const a = nm.median.missing;
    const b = td.median.missing;
    const sameRate = Math.abs(nm.median.pps - td.median.pps) <= 0.05 * td.median.pps;
    out.push(check('netmatrix loses no more packets than tcpdump', a <= b ? 'PASS' : 'FAIL',
      `median missing: netmatrix ${fmtInt(a)} (${fmt((nm.median.missingFraction ?? 0) * 100, 1)}% at ${fmtInt(nm.median.pps)} pps) vs tcpdump ${fmtInt(b)} (${fmt((td.median.missingFraction ?? 0) * 100, 1)}% at ${fmtInt(td.median.pps)} pps)` +
        (sameRate ? '' : ' — not the same rate: the sender went more than 5% slower beside one of them (both share the machine\'s cores)')));
    const c = nm.median.cpuUsPerPacket;
    const d = td.median.cpuUsPerPacket;
    out.push(check(`netmatrix CPU per packet <= ${TARGETS.cpuVsTcpdump}x tcpdump's`, c !== undefined && d !== undefined && c <= TARGETS.cpuVsTcpdump * d ? 'PASS' : 'FAIL',
      `median ${fmt(c, 3)} µs vs ${fmt(d, 3)} µs per packet received = ${d ? fmt(c / d) : '-'}x (target <= ${TARGETS.cpuVsTcpdump}x)`));
  } else {
    out.push(check('netmatrix loses no more packets than tcpdump', 'SKIP', 'tcpdump not in --tools'));
    out.push(check(`netmatrix CPU per packet <= ${TARGETS.cpuVsTcpdump}x tcpdump's`, 'SKIP', 'tcpdump not in --tools'));
  }
  return out;
}

// ---- main ---------------------------------------------------------------------------------------

/** Exit status 2 with one line. */
function fatal(line) {
  process.stderr.write(`bench:live: ${line}\n`);
  process.exit(2);
}

async function main() {
  let o;
  try {
    o = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e instanceof Usage) fatal(`${e.message} (--help for usage)`);
    throw e;
  }
  if (o.help) {
    process.stdout.write(USAGE);
    return 0;
  }
  if (process.getuid?.() !== 0) fatal('must run as root (network namespaces, raw sockets): sudo node test/bench/live.mjs');
  const need = [
    ['ip', 'iproute2'],
    ['tcpreplay', 'tcpreplay'],
    ['/usr/bin/time', 'time'],
    ...(o.tools.includes('tcpdump') ? [['tcpdump', 'tcpdump']] : []),
    ...(o.tools.includes('dumpcap') ? [['dumpcap', 'wireshark-common']] : []),
  ];
  const missing = need.filter(([cmd]) => (cmd.startsWith('/') ? !existsSync(cmd) : !which(cmd)));
  if (missing.length) fatal(`missing ${missing.map(([c]) => c).join(', ')}: apt-get install ${[...new Set(missing.map(([, p]) => p))].join(' ')}`);
  if (o.tools.includes('netmatrix') && !existsSync(o.netmatrix)) fatal(`${o.netmatrix} not found: build first (npm run build)`);

  const log = (s) => process.stderr.write(`${s}\n`);
  const tag = String(process.pid);
  const net = new Net(tag);
  const tmp = mkdtempSync(join(os.tmpdir(), 'netmatrix-bench-live-'));
  let cleaned = false;
  const cleanup = () => {
    if (cleaned) return;
    cleaned = true;
    for (const c of started) if (c.pid !== undefined && c.exitCode === null && c.signalCode === null) killTree(c.pid);
    if (o.keep) {
      log(`kept: namespaces ${net.nsA} ${net.nsB} (ip netns del ${net.nsA}; ip netns del ${net.nsB}), files in ${tmp}`);
      return;
    }
    net.down();
    rmSync(tmp, { recursive: true, force: true });
  };
  const onSignal = (sig) => {
    log(`bench:live: ${sig}, cleaning up`);
    cleanup();
    process.exit(sig === 'SIGINT' ? 130 : 143);
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onSignal);
  process.on('exit', cleanup);

  try {
    net.up();
    log(`namespaces ${net.nsA} (${net.vethA} ${A_ADDR}, ${net.macA}) -> ${net.nsB} (${net.vethB}, ${net.macB}, no address); files in ${tmp}`);
    const mach = machine();
    const loadBefore = await otherLoad();

    // Workload files, one per workload and packet count.
    const files = new Map();
    const fileFor = (workload, packets) => {
      const key = `${workload}-${packets}`;
      if (!files.has(key)) {
        const out = join(tmp, `${key}.pcap`);
        const base = { out, packets, aAddr: A_ADDR, bAddr: B_ADDR, aMac: net.macA, bMac: net.macB };
        const w = workload === 'udp' ? writeUdpWorkload({ ...base, flowPackets: o.udpFlowPackets }) : writeTcpWorkload(base);
        files.set(key, { file: out, ...w });
        log(`workload ${workload}: ${fmtInt(w.packets)} packets, ${fmtInt(w.flows)} flows, ${fmt(w.bytes / 1e6, 1)} MB`);
      }
      return files.get(key);
    };

    const specs = o.tools.map((t) => toolSpec(t, o, net, tmp));
    const jobs = [...specs, undefined]; // undefined: the sender alone
    const sections = [];
    const t0 = Date.now();
    for (const workload of o.workloads) {
      for (const pps of o.pps) {
        const packets = packetsFor(o, pps, workload);
        const wf = fileFor(workload, packets);
        const runs = Object.fromEntries(jobs.map((s) => [s ? s.name : 'none', []]));
        for (let r = 0; r < o.rounds; r++) {
          for (let k = 0; k < jobs.length; k++) {
            const spec = jobs[(k + r) % jobs.length];
            const key = spec ? spec.name : 'none';
            const m = await measure(spec, net, tmp, wf.file, wf.packets, pps);
            runs[key].push(m);
            const rate = `${fmtInt(m.pps)} pps`;
            if (m.beforeTap < 0 || m.bSent > 0) log(`warning: stray frames on the veth (${-m.beforeTap} more arrived than were sent; B sent ${m.bSent})`);
            log(`${workload} ${pps === undefined ? 'topspeed' : `${pps} pps`} round ${r + 1}/${o.rounds} ${key.padEnd(10)} sent ${fmtInt(m.sent)} (${rate})` +
              (spec ? `, at tap ${fmtInt(m.atTap)}, received ${fmtInt(m.received)}, reported ${m.reported === null ? 'null' : fmtInt(m.reported)}, missing ${fmtInt(m.missing)}, ` +
                `${fmt(m.cpuUsPerPacket, 3)} µs/pkt, ${fmt(m.peakRssMB, 1)} MB, busy ${fmt(m.busyAfterSeconds, 1)} s after send` : `, at tap ${fmtInt(m.atTap)}`));
          }
        }
        const results = {};
        for (const [key, rs] of Object.entries(runs)) results[key] = { runs: rs, median: summarize(rs) };
        sections.push({ workload, pps, packets: wf.packets, flows: wf.flows, frameBytes: workload === 'udp' ? 60 : undefined, results, targets: targetsFor(results) });
      }
    }
    const seconds = (Date.now() - t0) / 1000;
    const loadAfter = await otherLoad();

    // Report.
    const date = new Date().toISOString();
    const out = [];
    out.push('');
    out.push(`## netmatrix live-capture benchmark — ${date}`);
    out.push('');
    out.push(`machine: ${mach.cpu}, nproc ${mach.nproc}, ${mach.memoryGB} GB, ${mach.kernel}, Node ${mach.node}, libpcap ${mach.libpcap ?? '-'}`);
    out.push(`tools: tcpreplay ${mach.tcpreplay ?? '-'}, tcpdump ${mach.tcpdump ?? '-'}, dumpcap ${mach.dumpcap ?? '-'}; netmatrix ${o.netmatrix.startsWith(repo) ? o.netmatrix.slice(repo.length + 1) : o.netmatrix}`);
    out.push(`veth ${net.vethA} (ns A) -> ${net.vethB} (ns B); capture filter ${o.filter ? `"${o.filter}"` : 'none'}; ring ${RING_MIB} MiB each; ${o.rounds} rounds alternated, medians; ${fmt(seconds, 0)} s`);
    const load = [loadBefore, loadAfter].map((x) => (x === undefined ? '-' : `${fmt(x * 100, 0)}%`)).join(' / ');
    out.push(`other load (busy CPU while idle, 1 s before / after the rounds, % of one core): ${load}`);
    if ([loadBefore, loadAfter].some((x) => x !== undefined && x > 0.1)) {
      out.push(`**warning**: other processes kept the machine busy (more than 10% of a core): CPU and rate figures are disturbed; rerun on an idle machine`);
    }
    for (const s of sections) {
      out.push('');
      const what = s.workload === 'udp'
        ? `UDP, 60-byte frames (64 with FCS), ${o.udpFlowPackets} packets per flow`
        : `TCP, ${TCP_PACKETS_PER_CONN}-packet connections (handshake, ClientHello, FIN exchange)`;
      out.push(`### ${s.workload.toUpperCase()} at ${s.pps === undefined ? 'tcpreplay --topspeed' : `--pps ${fmtInt(s.pps)}`}: ${fmtInt(s.packets)} packets, ${fmtInt(s.flows)} flows per round — ${what}`);
      out.push('');
      const rows = [['tool', 'sender pps', 'sent', 'lost before tap', 'received', 'drops reported', 'missing', 'missing %', 'busy after send s', 'CPU µs/pkt', 'CPU s (life)', 'peak RSS MB']];
      for (const key of [...o.tools, 'none']) {
        const m = s.results[key].median;
        if (key === 'none') {
          rows.push(['(no capture)', fmtInt(m.pps), fmtInt(m.sent), fmtInt(m.beforeTap), '-', '-', '-', '-', '-', '-', '-', '-']);
          continue;
        }
        rows.push([key, fmtInt(m.pps), fmtInt(m.sent), fmtInt(m.beforeTap), fmtInt(m.received), m.reported === null ? 'null' : fmtInt(m.reported), fmtInt(m.missing),
          fmt((m.missingFraction ?? NaN) * 100, 2), fmt(m.busyAfterSeconds, 1), fmt(m.cpuUsPerPacket, 3), fmt(m.cpuTotalSeconds, 2), fmt(m.peakRssMB, 1)]);
      }
      out.push(table(rows));
      out.push('');
      if (s.pps !== undefined) {
        const slow = [...o.tools, 'none'].filter((k) => s.results[k].median.pps < 0.95 * s.pps);
        if (slow.length) {
          out.push(`note: the sender did not reach --pps ${fmtInt(s.pps)} beside ${slow.map((k) => `${k === 'none' ? 'no capture' : k} (${fmtInt(s.results[k].median.pps)} pps)`).join(', ')}: the machine has no spare core for that rate`);
          out.push('');
        }
      }
      for (const t of s.targets) out.push(`- **${t.result}** ${t.name}: ${t.text}`);
    }
    out.push('');
    out.push('sent: tcpreplay "Actual"; lost before tap: sent - frames B\'s veth received (dropped by the veth, never seen by any tool); missing: frames at the tap - frames the tool received;');
    out.push('drops reported: libpcap ps_drop as the tool reports it (netmatrix: pcap[].dropped, null = unknown); busy after send: how long the tool kept working once the sender had');
    out.push('stopped (> 0.1 s: it was slower than the sender and its ring held the difference; more packets per round would overflow it); CPU µs/pkt: the tool\'s CPU (all threads)');
    out.push('from ready to drained per packet received; CPU s (life): GNU time user+sys of the whole process (start-up and exit included).');
    out.push('');
    process.stdout.write(`${out.join('\n')}\n`);

    if (o.json) {
      writeFileSync(o.json, `${JSON.stringify({ date, machine: mach, options: { ...o, pps: o.pps.map((p) => p ?? 'topspeed') }, seconds, otherLoad: { before: loadBefore, after: loadAfter }, sections: sections.map((s) => ({ ...s, results: Object.fromEntries(Object.entries(s.results).map(([k, v]) => [k, { median: v.median, runs: v.runs }])) })) }, null, 2)}\n`);
      log(`results written to ${o.json}`);
    }
    return o.strict && sections.some((s) => s.targets.some((t) => t.result === 'FAIL')) ? 1 : 0;
  } finally {
    cleanup();
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`bench:live: ${err.message}\n`);
    process.exitCode = 2;
  },
);
