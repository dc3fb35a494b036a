/**
 * `netmatrix firewall`: the generated text (unit), and the nft ruleset loaded for real into a network
 * namespace and probed with real sockets. The namespace test needs root (and `ip`, `nft`): on CI
 * (process.env.CI set) it FAILS when they are missing; elsewhere it is skipped.
 */
import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/options.js';
import { run as cli } from '../../src/cli/run.js';
import { firewallRuleset, iptablesRuleset, nftRuleset } from '../../src/firewall/firewall.js';
import { parseInventory } from '../../src/policy/inventory.js';
import { loadRuleSet } from '../../src/policy/load.js';

const run = promisify(execFile);

const LAB_HOSTS = `hosts:
  - { name: researcher, role: researcher, addresses: [10.77.0.1, "fd77::1"] }
  - { name: node1, role: node, addresses: [10.77.0.2, 10.77.2.1] }
  - { name: node2, role: node, addresses: [10.77.0.3, 10.77.2.0/30] }
  - { name: vpnserver, role: vpnserver, addresses: [10.77.0.10] }
`;
const lab = parseInventory('lab.yaml', LAB_HOSTS);

function chain(text: string, name: 'input' | 'output'): string {
  const start = text.indexOf(`\tchain ${name} {`);
  expect(start).toBeGreaterThan(0);
  return text.slice(start, text.indexOf('\n\t}', start));
}

function ruleLines(text: string): string[] {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
}

describe('nft ruleset (unit)', () => {
  const { text, warnings } = nftRuleset(loadRuleSet('native'), lab, 'node');
  const input = chain(text, 'input');
  const output = chain(text, 'output');

  it('replaces only its own table, chains with policy drop', () => {
    expect(text).toMatch(/^table inet netmatrix\ndelete table inet netmatrix\n\ntable inet netmatrix \{$/m);
    expect(input).toContain('type filter hook input priority filter; policy drop;');
    expect(output).toContain('type filter hook output priority filter; policy drop;');
    expect(warnings).toEqual([]);
  });

  it('established/related and loopback first', () => {
    for (const c of [input, output]) {
      const rules = ruleLines(c);
      expect(rules[2]).toBe('ct state established,related accept comment "established"');
    }
    expect(input).toContain('iif "lo" accept comment "loopback"');
    expect(output).toContain('oif "lo" accept comment "loopback"');
  });

  it('node: output to the researcher on 50051 (v4 and v6), citing the row', () => {
    expect(output).toContain('# row node-researcher-grpc');
    expect(output).toContain('ip daddr 10.77.0.1 tcp dport 50051 counter accept comment "row node-researcher-grpc"');
    expect(output).toContain('ip6 daddr fd77::1 tcp dport 50051 counter accept comment "row node-researcher-grpc"');
    expect(input).not.toContain('50051');
  });

  it('node: input 14000-14099 from nodes and the researcher (blocks merged), output to them too', () => {
    // node1's 10.77.2.1 lies in node2's 10.77.2.0/30: the block covers it.
    expect(input).toContain('ip saddr 10.77.0.1 tcp dport 14000-14099 counter accept comment "row secagg-researcher"');
    expect(input).toContain('ip saddr { 10.77.0.2, 10.77.0.3, 10.77.2.0/30 } tcp dport 14000-14099 counter accept comment "row secagg-node"');
    expect(output).toContain(
      'ip daddr { 10.77.0.1, 10.77.0.2, 10.77.0.3, 10.77.2.0/30 } tcp dport 14000-14099 counter accept comment "row secagg-node"',
    );
    expect(output).toContain('ip6 daddr fd77::1 tcp dport 14000-14099 counter accept comment "row secagg-node"');
  });

  it('node: the GUI 8484 only from loopback; researcher GUIs absent', () => {
    const gui = ruleLines(input).filter((l) => l.includes('8484'));
    expect(gui).toEqual(['iif "lo" tcp dport 8484 counter accept comment "row node-gui (local only)"']);
    expect(text).not.toContain('8888');
    expect(text).not.toContain('6006');
  });

  it('host services out of scope allowed outbound, ICMPv6 ND both ways', () => {
    expect(output).toContain('meta l4proto { udp, tcp } th dport 53 counter accept comment "out of scope dns"');
    expect(output).toContain('udp dport 123 counter accept comment "out of scope ntp"');
    expect(input).toContain('ip6 saddr fe80::/10 udp sport 547 udp dport 546 counter accept');
    expect(input).toMatch(/icmpv6 type \{[^}]*nd-neighbor-solicit, nd-neighbor-advert[^}]*\} accept/);
    expect(output).toMatch(/icmpv6 type \{[^}]*nd-neighbor-solicit, nd-neighbor-advert[^}]*\} accept/);
    expect(input).not.toMatch(/icmp type \{[^}]*echo-request/);
  });

  it('each chain ends with a counted drop', () => {
    expect(text).toContain('counter input_drop {');
    expect(ruleLines(input).at(-1)).toBe('counter name input_drop drop comment "not in the matrix"');
    expect(ruleLines(output).at(-1)).toBe('counter name output_drop drop comment "not in the matrix"');
  });

  it('researcher: input 50051 from nodes; --phase install: output 80/443 to any address', () => {
    const r = nftRuleset(loadRuleSet('native', 'install'), lab, 'researcher').text;
    expect(chain(r, 'input')).toContain('ip saddr { 10.77.0.2, 10.77.0.3, 10.77.2.0/30 } tcp dport 50051 counter accept');
    expect(chain(r, 'output')).toContain('\t\ttcp dport 443 counter accept comment "row install-https"');
    expect(chain(r, 'input')).toContain('iif "lo" tcp dport 8888 counter accept');
  });

  it('vpn: underlay WireGuard to the vpnserver; tunnel rows use the tunnel addresses', () => {
    const inv = parseInventory(
      'v.yaml',
      `hosts:
  - { name: r, role: researcher, addresses: [10.77.0.1, 10.78.0.1] }
  - { name: n, role: node, addresses: [10.77.0.2, 10.78.0.2] }
  - { name: v, role: vpnserver, addresses: [10.77.0.10, 10.78.0.10] }
tunnel: [10.78.0.0/24]
`,
    );
    const t = nftRuleset(loadRuleSet('vpn'), inv, 'node').text;
    expect(chain(t, 'output')).toContain('ip daddr 10.77.0.10 udp dport 51820 counter accept comment "row node-vpnserver-wireguard"');
    expect(chain(t, 'output')).toContain('ip daddr 10.78.0.1 tcp dport 50051 counter accept comment "row tunnel-node-researcher-grpc"');
    expect(chain(t, 'input')).toContain('iif "lo" tcp dport 8443');
    const v = nftRuleset(loadRuleSet('vpn'), inv, 'vpnserver').text;
    expect(chain(v, 'input')).toContain('ip saddr 10.77.0.2 udp dport 51820 counter accept');
  });

  it('warns when a peer role has no address', () => {
    const only = parseInventory('o.yaml', 'hosts:\n  - { name: n, role: node, addresses: [10.0.0.2] }\n');
    const { text: t, warnings: w } = nftRuleset(loadRuleSet('native'), only, 'node');
    expect(w.some((x) => x.startsWith('row node-researcher-grpc'))).toBe(true);
    expect(t).not.toContain('50051');
  });
});

describe('iptables-restore text (unit)', () => {
  const rules = loadRuleSet('native');

  it('IPv4: policies, established, rows, final drop', () => {
    const { text } = iptablesRuleset(rules, lab, 'node', 4);
    const lines = ruleLines(text);
    expect(lines.slice(0, 4)).toEqual(['*filter', ':INPUT DROP [0:0]', ':FORWARD ACCEPT [0:0]', ':OUTPUT DROP [0:0]']);
    expect(lines).toContain('-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment "established" -j ACCEPT');
    expect(lines).toContain('-A OUTPUT -d 10.77.0.1 -p tcp -m tcp --dport 50051 -m comment --comment "row node-researcher-grpc" -j ACCEPT');
    expect(lines).toContain('-A INPUT -s 10.77.0.1 -p tcp -m tcp --dport 14000:14099 -m comment --comment "row secagg-researcher" -j ACCEPT');
    expect(lines).toContain('-A INPUT -i lo -p tcp -m tcp --dport 8484 -m comment --comment "row node-gui (local only)" -j ACCEPT');
    expect(lines).toContain('-A OUTPUT -p udp -m udp --dport 53 -m comment --comment "out of scope dns" -j ACCEPT');
    expect(lines.filter((l) => l.endsWith('-j DROP') && l.includes('not in the matrix'))).toHaveLength(2);
    expect(lines.at(-1)).toBe('COMMIT');
    expect(text).not.toContain('fd77::1');
  });

  it('IPv6: the v6 addresses and ICMPv6 neighbour discovery', () => {
    const { text } = firewallRuleset(rules, lab, 'node', 'ip6tables');
    expect(text).toContain('-A OUTPUT -d fd77::1 -p tcp -m tcp --dport 50051');
    expect(text).toContain('-A INPUT -p ipv6-icmp -m icmp6 --icmpv6-type neighbour-solicitation');
    expect(text).not.toContain('10.77.0.1');
  });
});

describe('netmatrix firewall (CLI entry)', () => {
  function io(): CliIO & { out: string; err: string } {
    const o = { out: '', err: '', stdoutIsTTY: false, stderrIsTTY: false } as CliIO & { out: string; err: string };
    o.stdout = (t) => (o.out += t);
    o.stderr = (t) => (o.err += t);
    return o;
  }

  it('prints the nft ruleset for the lab inventory', async () => {
    const o = io();
    const code = await cli(['firewall', '--matrix', 'native', '--hosts', 'captures/lab.hosts.yaml', '--role', 'node', '--format', 'nft', '--phase', 'run'], o);
    expect(code).toBe(0);
    expect(o.out).toContain('ip daddr 10.77.0.1 tcp dport 50051');
    expect(o.err).toBe('');
  });

  it('a bad matrix or hosts file: exit 2, one line on stderr', async () => {
    const o = io();
    expect(await cli(['firewall', '--matrix', 'nope', '--hosts', 'captures/lab.hosts.yaml', '--role', 'node'], o)).toBe(2);
    expect(o.err).toMatch(/^netmatrix: unknown matrix "nope".*\n$/);
    const p = io();
    expect(await cli(['firewall', '--hosts', '/nonexistent.yaml', '--role', 'node', '--format', 'iptables'], p)).toBe(2);
    expect(p.out).toBe('');
    expect(p.err).toMatch(/^netmatrix: \/nonexistent.yaml: cannot read inventory.*\n$/);
  });
});

// ---------------------------------------------------------------------------------------------------
// For real: nft in network namespaces, real sockets.

const isRoot = process.getuid?.() === 0;
const inCI = Boolean(process.env.CI);
function have(cmd: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
const canRun = isRoot && have('ip') && have('nft');

const PROBE = `
import net from 'node:net';
const [mode, ...rest] = process.argv.slice(2);
if (mode === 'listen') {
  let pending = rest.length / 2;
  for (let i = 0; i < rest.length; i += 2) {
    const s = net.createServer((c) => { c.on('error', () => {}); c.end('ok'); });
    s.listen({ host: rest[i], port: Number(rest[i + 1]), ipv6Only: rest[i].includes(':') }, () => {
      if (--pending === 0) process.stdout.write('ready\\n');
    });
    s.on('error', (e) => { process.stdout.write('error ' + e.message + '\\n'); process.exit(1); });
  }
} else {
  const [host, port, local, ms] = rest;
  const opts = { host, port: Number(port) };
  if (local && local !== '-') opts.localAddress = local;
  const c = net.connect(opts);
  const t = setTimeout(() => { process.stdout.write('timeout'); process.exit(0); }, Number(ms));
  c.on('connect', () => { clearTimeout(t); process.stdout.write('connected'); c.destroy(); process.exit(0); });
  c.on('error', (e) => { clearTimeout(t); process.stdout.write('error ' + e.code); process.exit(0); });
}
`;

describe.runIf(canRun || inCI)('nft ruleset in a network namespace (real sockets)', () => {
  const tag = `${process.pid % 100000}`;
  const NODE = `nm-fw-node-${tag}`;
  const WORLD = `nm-fw-world-${tag}`;
  let dir = '';
  let probe = '';
  const listeners: ChildProcess[] = [];

  const ns = (name: string, ...args: string[]): string => execFileSync('ip', ['netns', 'exec', name, ...args], { encoding: 'utf8' });
  const sh = (...args: string[]): void => void execFileSync('ip', args, { stdio: 'pipe' });

  function listen(name: string, ...hostPorts: string[]): Promise<void> {
    const child = spawn('ip', ['netns', 'exec', name, process.execPath, probe, 'listen', ...hostPorts], { stdio: ['ignore', 'pipe', 'inherit'] });
    listeners.push(child);
    return new Promise((resolve, reject) => {
      let buf = '';
      child.stdout?.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.includes('ready')) resolve();
        else if (buf.includes('error')) reject(new Error(`listener in ${name}: ${buf}`));
      });
      child.on('exit', (code) => reject(new Error(`listener in ${name} exited ${code}: ${buf}`)));
    });
  }

  async function connect(name: string, host: string, port: number, local = '-', ms = 1000): Promise<string> {
    const { stdout } = await run('ip', ['netns', 'exec', name, process.execPath, probe, 'connect', host, String(port), local, String(ms)]);
    return stdout.trim();
  }

  function counter(name: 'input_drop' | 'output_drop'): number {
    const out = ns(NODE, 'nft', 'list', 'counter', 'inet', 'netmatrix', name);
    const m = /packets (\d+)/.exec(out);
    return m ? Number(m[1]) : -1;
  }

  beforeAll(async () => {
    if (!canRun) return;
    dir = mkdtempSync(join(tmpdir(), 'nm-fw-'));
    probe = join(dir, 'probe.mjs');
    writeFileSync(probe, PROBE);
    sh('netns', 'add', NODE);
    sh('netns', 'add', WORLD);
    sh('-n', NODE, 'link', 'add', 'veth0', 'type', 'veth', 'peer', 'name', 'veth1', 'netns', WORLD);
    sh('-n', NODE, 'addr', 'add', '10.88.0.2/24', 'dev', 'veth0');
    sh('-n', NODE, 'addr', 'add', 'fd88::2/64', 'dev', 'veth0', 'nodad');
    sh('-n', WORLD, 'addr', 'add', '10.88.0.1/24', 'dev', 'veth1');
    sh('-n', WORLD, 'addr', 'add', '10.88.0.66/24', 'dev', 'veth1');
    sh('-n', WORLD, 'addr', 'add', 'fd88::1/64', 'dev', 'veth1', 'nodad');
    for (const n of [NODE, WORLD]) sh('-n', n, 'link', 'set', 'lo', 'up');
    sh('-n', NODE, 'link', 'set', 'veth0', 'up');
    sh('-n', WORLD, 'link', 'set', 'veth1', 'up');
    const inv = parseInventory(
      'ns.yaml',
      `hosts:
  - { name: node, role: node, addresses: [10.88.0.2, "fd88::2"] }
  - { name: researcher, role: researcher, addresses: [10.88.0.1, "fd88::1"] }
`,
    );
    const { text } = nftRuleset(loadRuleSet('native'), inv, 'node');
    writeFileSync(join(dir, 'node.nft'), text);
    ns(NODE, 'nft', '-f', join(dir, 'node.nft'));
    // Loading twice replaces the table (no duplicate rules).
    ns(NODE, 'nft', '-f', join(dir, 'node.nft'));
    await Promise.all([
      listen(WORLD, '10.88.0.1', '50051', 'fd88::1', '50051', '10.88.0.66', '443'),
      listen(NODE, '0.0.0.0', '14000', '0.0.0.0', '22', '0.0.0.0', '9000', '0.0.0.0', '8484'),
    ]);
  }, 20_000);

  afterAll(() => {
    for (const l of listeners) if (l.pid !== undefined && l.exitCode === null) l.kill('SIGKILL');
    for (const n of [NODE, WORLD]) {
      try {
        execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
      } catch {
        /* not created */
      }
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('allows what the matrix allows, drops and counts the rest', async () => {
    if (!canRun) throw new Error('CI is set: this test needs root, ip and nft (nftables)');
    expect(ns(NODE, 'nft', 'list', 'ruleset').match(/chain input/g)).toHaveLength(1);
    // Allowed first (this also resolves the neighbours, so a dropped probe below cannot be a lost ARP
    // or neighbour solicitation); they wait up to 3 s: on a fresh link the first solicitation may be
    // lost and is resent after 1 s. Dropped probes give up after 1 s.
    const [toResearcher, toResearcher6, secagg, guiLocal, selfOther] = await Promise.all([
      connect(NODE, '10.88.0.1', 50051, '-', 3000),
      connect(NODE, 'fd88::1', 50051, '-', 3000),
      connect(WORLD, '10.88.0.2', 14000, '10.88.0.1', 3000),
      connect(NODE, '127.0.0.1', 8484, '-', 3000),
      // The node's own address from the node itself is loopback: the listeners below are up.
      connect(NODE, '10.88.0.2', 9000, '-', 3000),
    ]);
    expect({ toResearcher, toResearcher6, secagg, guiLocal, selfOther }).toEqual({
      toResearcher: 'connected',
      toResearcher6: 'connected',
      secagg: 'connected',
      guiLocal: 'connected',
      selfOther: 'connected',
    });
    const [toOutsider, ssh, other, gui] = await Promise.all([
      connect(NODE, '10.88.0.66', 443),
      connect(WORLD, '10.88.0.2', 22, '10.88.0.66'),
      connect(WORLD, '10.88.0.2', 9000, '10.88.0.66'),
      connect(WORLD, '10.88.0.2', 8484, '10.88.0.66'),
    ]);
    expect({ toOutsider, ssh, other, gui }).toEqual({ toOutsider: 'timeout', ssh: 'timeout', other: 'timeout', gui: 'timeout' });
    // The researcher's own address reaches the GUI no better than the outsider.
    expect(await connect(WORLD, '10.88.0.2', 8484, '10.88.0.1')).toBe('timeout');
    expect(counter('input_drop')).toBeGreaterThan(0);
    expect(counter('output_drop')).toBeGreaterThan(0);
    expect(ns(NODE, 'nft', 'list', 'ruleset')).toMatch(/comment "row node-researcher-grpc"/);
  }, 30_000);

  it('every shipped matrix and role loads in nft (check mode)', () => {
    if (!canRun) throw new Error('CI is set: this test needs root, ip and nft (nftables)');
    const inv = parseInventory('lab', LAB_HOSTS + 'tunnel: [10.78.0.0/24]\n');
    for (const matrix of ['native', 'native-http', 'vpn']) {
      for (const phase of ['run', 'install'] as const) {
        for (const role of ['node', 'researcher', 'vpnserver'] as const) {
          const file = join(dir, `${matrix}-${phase}-${role}.nft`);
          writeFileSync(file, nftRuleset(loadRuleSet(matrix, phase), inv, role).text);
          expect(() => ns(NODE, 'nft', '-c', '-f', file), `${matrix} ${phase} ${role}`).not.toThrow();
        }
      }
    }
  });
});
