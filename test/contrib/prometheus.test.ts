/**
 * contrib/: the Prometheus alerting rules and their unit tests (promtool), the example scrape
 * configuration, the systemd unit (systemd-analyze verify; its command line against the CLI; its
 * privilege design emulated with setpriv), and a real Prometheus scraping a real monitor on loopback
 * with the shipped rules loaded.
 *
 * Tools: promtool and prometheus (Debian package `prometheus`), systemd-analyze (package `systemd`),
 * setpriv (util-linux), ip. The live parts need root (network namespace, capture). On CI
 * (process.env.CI set) a missing tool or root is a failure; elsewhere those tests are skipped and
 * their title says what is missing. No traffic leaves loopback: the live parts run in a network
 * namespace of their own that has only `lo`.
 */
import { execFile, execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import { chownSync, copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { startMetrics, type MonitorCounters } from '../../src/monitor/metrics.js';

const execFileP = promisify(execFile);

const CONTRIB = resolve('contrib');
const RULES = join(CONTRIB, 'prometheus', 'netmatrix.rules.yml');
const RULES_TEST = join(CONTRIB, 'prometheus', 'netmatrix.rules.test.yml');
const PROM_CONFIG = join(CONTRIB, 'prometheus', 'prometheus.yml');
const UNIT = join(CONTRIB, 'netmatrix-monitor.service');
const ENV_EXAMPLE = join(CONTRIB, 'netmatrix-monitor.env.example');
const CLI = resolve('dist/bin/netmatrix.cjs');
const UNIT_BINARY = '/usr/local/bin/netmatrix';

const isRoot = process.getuid?.() === 0;
const inCI = Boolean(process.env.CI);

function have(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/** What a suite lacks, for its title; empty when it can run. */
function lacking(needs: { root?: boolean; tools: string[] }): string[] {
  const out = needs.tools.filter((t) => !have(t));
  if (needs.root && !isRoot) out.unshift('root');
  return out;
}

function title(name: string, missing: string[]): string {
  return missing.length === 0 ? name : `${name} (${inCI ? 'fails on CI' : 'skipped'}: needs ${missing.join(', ')})`;
}

/** Prints the body of a GET to stdout; exit 1 on an HTTP error. Run inside a namespace. */
const FETCH = `fetch(process.argv[1]).then(async (r) => { process.stdout.write(await r.text()); process.exit(r.ok ? 0 : 1); }, (e) => { process.stderr.write(String(e)); process.exit(2); });`;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** SIGKILLs the processes still running and waits (at most 5 s) until they are gone. */
async function killAll(children: (ChildProcess | undefined)[]): Promise<void> {
  const running = children.filter((c): c is ChildProcess => c !== undefined && c.exitCode === null && c.signalCode === null);
  const gone = running.map((c) => new Promise<void>((r) => c.once('exit', () => r())));
  for (const c of running) c.kill('SIGKILL');
  await Promise.race([Promise.all(gone), sleep(5000)]);
}

/** Thrown by a probe of until(): stop waiting at once (a process that should be running exited). */
class Fatal extends Error {}

/**
 * Polls `probe` every `every` ms until it returns a value (not undefined) or `ms` have passed; an
 * error thrown by the probe counts as not yet (it is shown if time runs out), except Fatal.
 */
async function until<T>(what: string, ms: number, probe: () => Promise<T | undefined> | T | undefined, every = 250): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (e) {
      if (e instanceof Fatal) throw e;
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${String(last)})` : ''}`);
    await sleep(every);
  }
}

// ---- systemd's reading of the unit: enough of systemd.service(5) and systemd.exec(5) for ours ----

/** Joins backslash-continued lines, drops comments. */
function unitLines(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#') && !l.startsWith(';'));
}

/** Splits at white space, keeping "double" and 'single' quoted words together (quotes removed). */
function words(text: string): string[] {
  const out: string[] = [];
  for (const m of text.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|(\S+)/g)) out.push(m[1] ?? m[2] ?? m[3] ?? '');
  return out;
}

/** EnvironmentFile= syntax: NAME=value a line, # comments, optional double or single quotes. */
function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const t = line.trim();
    if (t === '' || t.startsWith('#') || t.startsWith(';')) continue;
    const m = /^([A-Za-z_][A-Za-z0-9_]*)=(.*)$/.exec(t);
    if (!m) throw new Error(`bad environment file line: ${line}`);
    let v = m[2]!.trim();
    if (/^"(?:[^"\\]|\\.)*"$/.test(v)) v = v.slice(1, -1).replace(/\\(.)/g, '$1');
    else if (/^'[^']*'$/.test(v)) v = v.slice(1, -1);
    env[m[1]!] = v;
  }
  return env;
}

/** The unit's Environment= defaults. */
function unitEnvironment(unit: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const l of unitLines(unit)) {
    if (!l.startsWith('Environment=')) continue;
    for (const w of words(l.slice('Environment='.length))) {
      const eq = w.indexOf('=');
      env[w.slice(0, eq)] = w.slice(eq + 1);
    }
  }
  return env;
}

/** ExecStart= as systemd runs it: "$VAR" alone splits into 0+ words, "${VAR}" is one word. */
function execStart(unit: string, env: Record<string, string>): string[] {
  const line = unitLines(unit).find((l) => l.startsWith('ExecStart='));
  if (!line) throw new Error('no ExecStart=');
  const out: string[] = [];
  for (const w of words(line.slice('ExecStart='.length))) {
    const alone = /^\$([A-Za-z_][A-Za-z0-9_]*)$/.exec(w);
    if (alone) out.push(...(env[alone[1]!] ?? '').split(/\s+/).filter((x) => x !== ''));
    else out.push(w.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => env[name] ?? ''));
  }
  return out;
}

/** Every variable ExecStart= refers to. */
function execStartVariables(unit: string): string[] {
  const line = unitLines(unit).find((l) => l.startsWith('ExecStart=')) ?? '';
  return [...new Set([...line.matchAll(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g)].map((m) => m[1]!))].sort();
}

/** The unit's command for this checkout: the built CLI instead of the installed one. */
function unitCommand(overrides: Record<string, string>): string[] {
  const unit = readFileSync(UNIT, 'utf8');
  const env = { ...unitEnvironment(unit), ...parseEnvFile(readFileSync(ENV_EXAMPLE, 'utf8')), INVOCATION_ID: '0123456789abcdef0123456789abcdef', ...overrides };
  const argv = execStart(unit, env);
  expect(argv[0]).toBe(UNIT_BINARY);
  return [process.execPath, CLI, ...argv.slice(1)];
}

// ---- Prometheus rules and configuration (promtool) ----

interface RuleFile {
  groups: { name: string; rules: { alert: string; expr: string; for?: string; labels?: Record<string, string> }[] }[];
}
interface RuleTestFile {
  tests: { name: string; alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const rulesMissing = lacking({ tools: ['promtool'] });

describe.runIf(rulesMissing.length === 0 || inCI)(title('contrib/prometheus: rules and configuration (promtool)', rulesMissing), () => {
  const rules = parseYaml(readFileSync(RULES, 'utf8')) as RuleFile;
  const alerts = rules.groups.flatMap((g) => g.rules.map((r) => r.alert));

  beforeAll(() => {
    expect(rulesMissing, 'promtool is missing: apt-get install prometheus').toEqual([]);
  });

  it('promtool check rules: the rules file is valid', () => {
    const r = spawnSync('promtool', ['check', 'rules', RULES], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
    expect(alerts).toEqual([
      'NetmatrixViolation',
      'NetmatrixCaptureDrops',
      'NetmatrixInterfaceDrops',
      'NetmatrixMonitorDown',
      'NetmatrixMonitorsAbsent',
      'NetmatrixMetricsMissing',
      'NetmatrixMonitorRestarting',
    ]);
    for (const g of rules.groups) for (const r of g.rules) expect(['critical', 'warning']).toContain(r.labels?.severity);
  });

  it('promtool test rules: every alert fires and stays quiet where it should', () => {
    const r = spawnSync('promtool', ['test', 'rules', RULES_TEST], { encoding: 'utf8', timeout: 20_000, cwd: join(CONTRIB, 'prometheus') });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('SUCCESS');
    expect(r.stdout + r.stderr).not.toContain('FAILED');
    // Each alert is tested both firing and not firing.
    const cases = (parseYaml(readFileSync(RULES_TEST, 'utf8')) as RuleTestFile).tests.flatMap((t) => t.alert_rule_test ?? []);
    for (const alert of alerts) {
      const mine = cases.filter((c) => c.alertname === alert);
      expect(mine.some((c) => c.exp_alerts.length > 0), `${alert} never expected to fire`).toBe(true);
      expect(mine.some((c) => c.exp_alerts.length === 0), `${alert} never expected to stay quiet`).toBe(true);
    }
  });

  it('promtool check config: the example scrape configuration is valid and loads the rules', () => {
    const r = spawnSync('promtool', ['check', 'config', PROM_CONFIG], { encoding: 'utf8', timeout: 20_000 });
    expect(r.status, r.stdout + r.stderr).toBe(0);
    expect(r.stdout).toContain('is valid prometheus config file syntax');
    expect(r.stdout).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it('the rules use only metrics the monitor exports', async () => {
    const counters: MonitorCounters = {
      packets: 1,
      bytes: 60,
      flowsActive: 0,
      flowsEnded: 0,
      flowsEvicted: 0,
      alertsByCode: {},
      interfaces: [{ name: 'eth0', received: 1, dropped: 0, ifDropped: 0 }],
      decodeMalformed: 0,
    };
    const server = await startMetrics('127.0.0.1:0', () => counters);
    let text: string;
    try {
      text = await (await fetch(server.url)).text();
    } finally {
      await server.close();
    }
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const used = [...new Set([...readFileSync(RULES, 'utf8').matchAll(/\bnetmatrix_[a-z_]+/g)].map((m) => m[0]))];
    expect(used.length).toBeGreaterThan(4);
    for (const name of used) expect(exported, `${name} is not exported by src/report/metrics.ts`).toContain(name);
  });
});

// ---- The systemd unit ----

const unitMissing = lacking({ tools: ['systemd-analyze'] });

/** Alternative (i) of the unit, made the way its comments say. */
function alternativeUnit(unit: string): string {
  const ii = 'CapabilityBoundingSet=CAP_NET_RAW CAP_SETUID CAP_SETGID\nAmbientCapabilities=\n';
  const i = 'DynamicUser=yes\nAmbientCapabilities=CAP_NET_RAW\nCapabilityBoundingSet=CAP_NET_RAW\nStateDirectory=netmatrix\n';
  expect(unit).toContain(ii);
  expect(unit).toContain(' --user netmatrix \\\n');
  for (const line of i.trim().split('\n')) expect(unit, `the comments show ${line}`).toContain(`#     ${line}\n`);
  return unit.replace(ii, i).replace(' --user netmatrix \\\n', ' \\\n');
}

function verify(text: string): { status: number | null; stderr: string } {
  // verify wants the ExecStart= binary to exist: the built CLI stands in for the installed one.
  const dir = mkdtempSync(join(tmpdir(), 'nm-unit-'));
  try {
    const unit = join(dir, 'netmatrix-monitor.service');
    writeFileSync(unit, text.replace(UNIT_BINARY, CLI));
    return spawnSync('systemd-analyze', ['verify', unit], { encoding: 'utf8', timeout: 30_000 });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe.runIf(unitMissing.length === 0 || inCI)(title('contrib/netmatrix-monitor.service: systemd-analyze verify', unitMissing), () => {
  beforeAll(() => {
    expect(unitMissing, 'systemd-analyze is missing: apt-get install systemd').toEqual([]);
  });

  it('verifies without a warning', () => {
    const r = verify(readFileSync(UNIT, 'utf8'));
    expect(r.status, r.stderr).toBe(0);
    // Unknown keys and unparsable values are only warnings for systemd: none allowed.
    expect(r.stderr.trim()).toBe('');
  });

  it('so does its alternative (i), DynamicUser with an ambient CAP_NET_RAW', () => {
    const text = alternativeUnit(readFileSync(UNIT, 'utf8'));
    expect(execStart(text, {})).not.toContain('--user');
    const r = verify(text);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stderr.trim()).toBe('');
  });
});

describe('contrib/netmatrix-monitor.service: its command line', () => {
  it('refers only to variables the unit or the example environment file set', () => {
    const unit = readFileSync(UNIT, 'utf8');
    const defined = new Set([...Object.keys(unitEnvironment(unit)), ...Object.keys(parseEnvFile(readFileSync(ENV_EXAMPLE, 'utf8'))), 'INVOCATION_ID']);
    for (const v of execStartVariables(unit)) expect(defined, `$${v} is set nowhere`).toContain(v);
    const documented = Object.keys(parseEnvFile(readFileSync(ENV_EXAMPLE, 'utf8')));
    for (const v of documented) expect(execStartVariables(unit), `${v} of the example file is not used`).toContain(v);
  });

  it('is accepted by the CLI with the example options, and with the optional ones empty', () => {
    // An interface that does not exist: the monitor gets as far as opening the capture, which is
    // after every option has been parsed and checked (rules, inventory, metrics address). Where npm
    // could not build the optional cap binding (no libpcap-dev, no compiler or Node headers: e.g. an
    // ordinary user without the headers' nodedir) it stops one step earlier, at loading cap, which
    // is still after the options; CI builds cap.
    const capBuilt = (() => {
      try {
        createRequire(import.meta.url).resolve('cap');
        return true;
      } catch {
        return false;
      }
    })();
    if (process.env.CI) expect(capBuilt, 'CI builds the cap binding').toBe(true);
    const reached = capBuilt ? /no such interface: nm-nope0/ : /live capture needs the optional cap package built against libpcap/;
    const cases: Record<string, string>[] = [
      { NETMATRIX_INTERFACES: 'nm-nope0', NETMATRIX_HOSTS: resolve('captures/lab.hosts.yaml') },
      { NETMATRIX_INTERFACES: 'nm-nope0 nm-nope1', NETMATRIX_HOSTS: '', NETMATRIX_RESEARCHER: '192.0.2.1 192.0.2.2', NETMATRIX_METRICS: '', NETMATRIX_EXTRA: '' },
      { NETMATRIX_INTERFACES: 'nm-nope0', NETMATRIX_HOSTS: resolve('captures/lab.hosts.yaml'), NETMATRIX_FILTER: 'not (tcp port 9469 and host 192.0.2.10)' },
    ];
    for (const env of cases) {
      const [node, ...args] = unitCommand(env);
      const r = spawnSync(node!, args, { encoding: 'utf8', timeout: 20_000 });
      expect(r.stderr, JSON.stringify(args)).toMatch(reached);
      expect(r.status).toBe(2);
    }
  });
});

// ---- The unit's privilege design, emulated: setpriv does what systemd's settings do ----

const privMissing = lacking({ root: true, tools: ['ip', 'setpriv'] });

describe.runIf(privMissing.length === 0 || inCI)(title('contrib/netmatrix-monitor.service: privileges (emulated with setpriv)', privMissing), () => {
  const NS = `nm-unit-${process.pid % 100000}`;
  const children: ChildProcess[] = [];
  let evidenceDir = '';
  let nobody = { uid: 65534, gid: 65534 };

  const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });
  const nsFetch = async (url: string): Promise<string> =>
    (await execFileP('ip', ['netns', 'exec', NS, process.execPath, '-e', FETCH, url], { encoding: 'utf8', timeout: 5000 })).stdout;

  beforeAll(() => {
    expect(privMissing, 'needs root, ip and setpriv').toEqual([]);
    nobody = {
      uid: Number(execFileSync('id', ['-u', 'nobody'], { encoding: 'utf8' })),
      gid: Number(execFileSync('id', ['-g', 'nobody'], { encoding: 'utf8' })),
    };
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    // Straight in the world-traversable temporary directory: the user it becomes must reach it.
    evidenceDir = mkdtempSync(join(tmpdir(), 'nm-unit-evidence-'));
    chownSync(evidenceDir, nobody.uid, nobody.gid);
  });

  afterAll(async () => {
    await killAll(children);
    spawnSync('ip', ['netns', 'del', NS]);
    if (evidenceDir) rmSync(evidenceDir, { recursive: true, force: true, maxRetries: 3 });
    for (const d of cleanupDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  const cleanupDirs: string[] = [];

  /**
   * Starts the unit's command (lo of the namespace) under `setpriv`; resolves once it monitors.
   * `user`: what becomes of the unit's "--user netmatrix" (undefined: the option is removed).
   */
  async function start(setpriv: string[], user: string | undefined, cli = CLI): Promise<{ child: ChildProcess; stderr: () => string }> {
    const argv = withUser(unitCommand({
      NETMATRIX_INTERFACES: 'lo',
      NETMATRIX_HOSTS: '',
      NETMATRIX_RESEARCHER: '10.99.6.1',
      NETMATRIX_METRICS: '127.0.0.1:9469',
      NETMATRIX_EXTRA: '--stats-interval 0',
    }), user).map((a) => (a === CLI ? cli : a.replace(/^\/var\/lib\/netmatrix\//, `${evidenceDir}/`)));
    const child = spawn('ip', ['netns', 'exec', NS, 'setpriv', ...setpriv, ...argv], { stdio: ['ignore', 'pipe', 'pipe'] });
    children.push(child);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout?.resume();
    await until('the monitor to start', 10_000, () => {
      if (child.exitCode !== null) throw new Fatal(`exited ${child.exitCode}: ${err}`);
      return err.includes('monitoring lo') ? true : undefined;
    });
    return { child, stderr: () => err };
  }

  function withUser(argv: string[], user: string | undefined): string[] {
    const at = argv.indexOf('--user');
    expect(argv[at + 1]).toBe('netmatrix');
    return [...argv.slice(0, at), ...(user === undefined ? [] : ['--user', user]), ...argv.slice(at + 2)];
  }

  /**
   * What the command loads at run time (the bundle, its code cache, the rules and their cache, and
   * the two packages left outside the bundle with their dependencies), copied into a folder every user
   * can read. Links are followed: node_modules/cap points into native/cap.
   */
  function runnableCopy(): string {
    const out = mkdtempSync(join(tmpdir(), 'nm-cli-copy-'));
    cleanupDirs.push(out);
    for (const part of ['package.json', 'dist', 'rules', 'node_modules/cap/package.json', 'node_modules/cap/lib', 'node_modules/cap/build/Release/cap.node',
      'node_modules/prom-client', 'node_modules/tdigest', 'node_modules/bintrees', 'node_modules/@opentelemetry']) {
      if (existsSync(resolve(part))) cpSync(resolve(part), join(out, part), { recursive: true, dereference: true });
    }
    spawnSync('chmod', ['-R', 'a+rX', out]);
    return join(out, 'dist/bin/netmatrix.cjs');
  }

  /** Uid and capability sets of every thread of a process. */
  function threads(pid: number): { uid: string; capPrm: string; capEff: string; capAmb: string }[] {
    return readdirSync(`/proc/${pid}/task`).map((t) => {
      const s = readFileSync(`/proc/${pid}/task/${t}/status`, 'utf8');
      const field = (name: string): string => new RegExp(`^${name}:\\s*(\\S+)`, 'm').exec(s)?.[1] ?? '?';
      return { uid: field('Uid'), capPrm: field('CapPrm'), capEff: field('CapEff'), capAmb: field('CapAmb') };
    });
  }

  const stop = (child: ChildProcess): Promise<number> =>
    new Promise((r) => {
      child.once('exit', (code) => r(code ?? -1));
      child.kill('SIGTERM');
    });

  it('(ii) root with CAP_NET_RAW, CAP_SETUID, CAP_SETGID and no_new_privs: captures, then holds no capability', async () => {
    // CapabilityBoundingSet=CAP_NET_RAW CAP_SETUID CAP_SETGID, AmbientCapabilities=, NoNewPrivileges=yes,
    // no User=: as systemd runs it. The unit's "--user netmatrix" becomes nobody here (no such user on CI).
    const { child, stderr } = await start(['--bounding-set=-all,+net_raw,+setuid,+setgid', '--inh-caps=-all', '--no-new-privs'], 'nobody');
    expect(stderr()).toContain(`running as nobody (uid ${nobody.uid}, gid ${nobody.gid})`);
    const all = threads(child.pid!);
    expect(all.length).toBeGreaterThan(1); // Node's worker threads too
    for (const t of all) expect(t).toEqual({ uid: String(nobody.uid), capPrm: '0000000000000000', capEff: '0000000000000000', capAmb: '0000000000000000' });
    expect(await nsFetch('http://127.0.0.1:9469/metrics')).toMatch(/^netmatrix_pcap_received_total\{interface="lo"\} \d+$/m);
    expect(await stop(child)).toBe(0);
    // The evidence file of this run, created by the user the monitor became.
    const evidence = join(evidenceDir, 'evidence-0123456789abcdef0123456789abcdef.pcapng');
    expect(existsSync(evidence), readdirSync(evidenceDir).join(', ')).toBe(true);
    expect(statSync(evidence).uid).toBe(nobody.uid);
  }, 20_000);

  it('(i) the alternative: an ordinary user with ambient CAP_NET_RAW captures, and keeps CAP_NET_RAW', async () => {
    // DynamicUser=yes (nobody stands in), AmbientCapabilities=CAP_NET_RAW, CapabilityBoundingSet=CAP_NET_RAW,
    // NoNewPrivileges=yes, and no --user. The process must be able to read the checkout as that user.
    // A checkout closed to other users (a clone into mktemp -d) cannot be run by nobody: then the
    // command runs from a copy of what it loads, in a folder nobody can read.
    const asNobody = ['--reuid=nobody', '--regid=nogroup', '--clear-groups'];
    const readable = spawnSync('setpriv', [...asNobody, 'test', '-r', CLI]).status === 0;
    const cli = readable ? CLI : runnableCopy();
    const { child } = await start(
      [...asNobody, '--inh-caps=-all,+net_raw', '--ambient-caps=-all,+net_raw', '--bounding-set=-all,+net_raw', '--no-new-privs'],
      undefined,
      cli,
    );
    const CAP_NET_RAW = (1n << 13n).toString(16).padStart(16, '0');
    for (const t of threads(child.pid!)) expect(t).toEqual({ uid: String(nobody.uid), capPrm: CAP_NET_RAW, capEff: CAP_NET_RAW, capAmb: CAP_NET_RAW });
    expect(await stop(child)).toBe(0);
  }, 20_000);
});

// ---- A real Prometheus scraping a real monitor, with the shipped rules ----

interface QueryResult {
  status: string;
  data: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
}
interface RulesResult {
  status: string;
  data: {
    groups: {
      name: string;
      rules: { name: string; type: string; health: string; lastError?: string; state: string; alerts: { labels: Record<string, string>; state: string }[] }[];
    }[];
  };
}

const liveMissing = lacking({ root: true, tools: ['prometheus', 'ip'] });

describe.runIf(liveMissing.length === 0 || inCI)(title('Prometheus scrapes a live monitor and runs the shipped rules', liveMissing), () => {
  const NS = `nm-prom-${process.pid % 100000}`;
  const NODE_IP = '10.99.5.2';
  const RES_IP = '10.99.5.1';
  const OUT_IP = '10.99.5.66';
  const PROM = 'http://127.0.0.1:9090';
  let dir = '';
  let monitor: ChildProcess | undefined;
  let prometheus: ChildProcess | undefined;
  let monitorOut = '';
  let monitorErr = '';
  let promErr = '';

  const ip = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });
  const nsFetch = async (url: string): Promise<string> =>
    (await execFileP('ip', ['netns', 'exec', NS, process.execPath, '-e', FETCH, url], { encoding: 'utf8', timeout: 5000 })).stdout;
  const query = async (q: string): Promise<QueryResult['data']['result']> => {
    const r = JSON.parse(await nsFetch(`${PROM}/api/v1/query?query=${encodeURIComponent(q)}`)) as QueryResult;
    expect(r.status).toBe('success');
    return r.data.result;
  };
  const why = (): string => `\nmonitor stderr: ${monitorErr}\nprometheus stderr: ${promErr.slice(-2000)}`;

  beforeAll(async () => {
    expect(liveMissing, 'needs root, prometheus (apt-get install prometheus) and ip').toEqual([]);
    dir = mkdtempSync(join(tmpdir(), 'nm-prom-'));
    // A namespace with only lo. Its whole 10.99.5.0/24 is local (a "local" route), so a connection
    // between two of those addresses goes over lo, and neither is an address of lo that the monitor
    // would take as its own: OUT_IP is a stranger to the inventory, NODE_IP the node it watches.
    ip('netns', 'add', NS);
    ip('-n', NS, 'link', 'set', 'lo', 'up');
    ip('-n', NS, 'route', 'add', 'local', '10.99.5.0/24', 'dev', 'lo');

    copyFileSync(RULES, join(dir, 'netmatrix.rules.yml'));
    writeFileSync(
      join(dir, 'prometheus.yml'),
      [
        'global: { scrape_interval: 1s, scrape_timeout: 900ms, evaluation_interval: 1s }',
        'rule_files: [netmatrix.rules.yml]',
        'scrape_configs:',
        '  - job_name: netmatrix',
        "    static_configs: [{ targets: ['127.0.0.1:9469'] }]",
        '',
      ].join('\n'),
    );
    monitor = spawn(
      'ip',
      ['netns', 'exec', NS, process.execPath, CLI, 'monitor', '-i', 'lo', '--node', NODE_IP, '--researcher', RES_IP,
        '--metrics', '127.0.0.1:9469', '--format', 'jsonl', '--stats-interval', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    monitor.stdout?.on('data', (d: Buffer) => (monitorOut += d.toString()));
    monitor.stderr?.on('data', (d: Buffer) => (monitorErr += d.toString()));
    prometheus = spawn(
      'ip',
      ['netns', 'exec', NS, 'prometheus', `--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`,
        '--web.listen-address=127.0.0.1:9090', '--log.level=warn'],
      { stdio: ['ignore', 'ignore', 'pipe'] },
    );
    prometheus.stderr?.on('data', (d: Buffer) => (promErr += d.toString()));

    await until('the monitor to start', 10_000, () => {
      if (monitor?.exitCode !== null) throw new Fatal(`monitor exited: ${monitorErr}`);
      return monitorErr.includes('monitoring lo') ? true : undefined;
    });
    await until('Prometheus to be ready', 15_000, async () => {
      if (prometheus?.exitCode !== null) throw new Fatal(`prometheus exited: ${promErr}`);
      return (await nsFetch(`${PROM}/-/ready`)) ? true : undefined;
    });
    // One scrape before the violation, so the counters are seen at 0 first.
    await until('a first scrape of the monitor', 10_000, async () => ((await query('netmatrix_alerts_total{code="inbound-to-node"}')).length > 0 ? true : undefined));
  }, 40_000);

  afterAll(async () => {
    await killAll([monitor, prometheus]);
    spawnSync('ip', ['netns', 'del', NS]);
    if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  });

  it('an inbound connection to the node shows in netmatrix_alerts_total{code="inbound-to-node"}', async () => {
    const before = await query('netmatrix_alerts_total');
    const codes = before.map((s) => s.metric.code).sort();
    expect(codes).toContain('inbound-to-node');
    expect(codes).toContain('gui-not-localhost');
    for (const s of before) {
      expect(s.metric.job).toBe('netmatrix');
      expect(s.value[1]).toBe('0');
    }
    // A stranger connects to port 22 of the node (refused: no listener), over lo.
    const client = `const s = require('net').connect({ host: '${NODE_IP}', port: 22, localAddress: '${OUT_IP}' }); s.on('error', () => process.exit(0)); s.on('connect', () => s.end());`;
    execFileSync('ip', ['netns', 'exec', NS, process.execPath, '-e', client], { timeout: 5000 });
    await until('the monitor to alert', 5000, () => (monitorOut.includes('"code":"inbound-to-node"') ? true : undefined));
    const hit = await until(`netmatrix_alerts_total{code="inbound-to-node"} > 0 in Prometheus${why()}`, 10_000, async () =>
      (await query('netmatrix_alerts_total{code="inbound-to-node"} > 0'))[0],
    );
    expect(Number(hit.value[1])).toBe(1);
    expect(hit.metric.instance).toBe('127.0.0.1:9469');
  }, 20_000);

  it('the shipped rules load, and NetmatrixViolation fires for the monitor and the code', async () => {
    const fired = await until(`NetmatrixViolation to fire${why()}`, 10_000, async () => {
      const r = JSON.parse(await nsFetch(`${PROM}/api/v1/rules?type=alert`)) as RulesResult;
      expect(r.status).toBe('success');
      const rule = r.data.groups.find((g) => g.name === 'netmatrix')?.rules.find((x) => x.name === 'NetmatrixViolation');
      const alert = rule?.alerts.find((a) => a.labels.code === 'inbound-to-node' && (a.state === 'firing' || a.state === 'pending'));
      return alert ? r : undefined;
    });
    const group = fired.data.groups.find((g) => g.name === 'netmatrix')!;
    const shipped = (parseYaml(readFileSync(RULES, 'utf8')) as RuleFile).groups[0]!.rules.map((r) => r.alert);
    expect(group.rules.map((r) => r.name)).toEqual(shipped);
    const byName = new Map(group.rules.map((r) => [r.name, r]));
    const violation = byName.get('NetmatrixViolation')!;
    expect(violation.alerts).toHaveLength(1); // one code, one monitor
    expect(violation.alerts[0]!.labels).toMatchObject({ alertname: 'NetmatrixViolation', code: 'inbound-to-node', instance: '127.0.0.1:9469', job: 'netmatrix', severity: 'critical' });
    // Every rule evaluates without error against real series; those about a healthy, idle monitor stay quiet.
    await until('every rule to have been evaluated', 5000, async () => {
      const r = JSON.parse(await nsFetch(`${PROM}/api/v1/rules?type=alert`)) as RulesResult;
      const rules = r.data.groups.find((g) => g.name === 'netmatrix')?.rules ?? [];
      return rules.length > 0 && rules.every((x) => x.health === 'ok') ? rules : undefined;
    }).then((rules) => {
      for (const r of rules) expect(r.lastError ?? '', r.name).toBe('');
      for (const quiet of ['NetmatrixMonitorDown', 'NetmatrixMonitorsAbsent', 'NetmatrixMetricsMissing', 'NetmatrixCaptureDrops', 'NetmatrixInterfaceDrops', 'NetmatrixMonitorRestarting']) {
        expect(rules.find((r) => r.name === quiet)?.state, quiet).toBe('inactive');
      }
    });
  }, 20_000);

  it('libpcap counters per interface: received, and kernel drops as a number (0 on an idle lo)', async () => {
    const received = await query('netmatrix_pcap_received_total');
    expect(received.map((s) => s.metric.interface)).toEqual(['lo']);
    expect(Number(received[0]!.value[1])).toBeGreaterThan(0);
    // The kernel drop count is a number: a series per interface (a monitor that cannot count drops
    // leaves the series out rather than claim 0).
    const dropped = await query('netmatrix_pcap_dropped_total');
    expect(dropped.map((s) => s.metric.interface), 'no netmatrix_pcap_dropped_total series: drops not counted').toEqual(['lo']);
    expect(Number(dropped[0]!.value[1])).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(Number(dropped[0]!.value[1]))).toBe(true);
    const ifDropped = await query('netmatrix_pcap_ifdropped_total');
    expect(ifDropped.map((s) => s.metric.interface)).toEqual(['lo']);
  });
});
