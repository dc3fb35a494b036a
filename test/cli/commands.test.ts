/**
 * The rules, infer, firewall and monitor commands are reachable from the command line (their logic has
 * its own tests); errors of every command come out the same way: one line on stderr, exit 2.
 */
import { describe, expect, it } from 'vitest';
import { cli } from '../helpers/cli.js';
import { parseInventory } from '../../src/policy/inventory.js';

describe('command line', () => {
  it('rules list names every shipped rule set; rules check validates a file', async () => {
    const list = await cli('rules', 'list');
    expect(list.code).toBe(0);
    for (const name of ['native', 'native-http', 'vpn', 'native-5.4', 'docker', 'legacy-mqtt']) expect(list.stdout).toContain(name);
    const check = await cli('rules', 'check', 'rules/vpn.yaml');
    expect(check).toEqual({ code: 0, stdout: 'rules/vpn.yaml: 8 rows, valid\n', stderr: '' });
    const bad = await cli('rules', 'frobnicate');
    expect(bad.code).toBe(2);
  });

  it('infer proposes an inventory that analyze accepts', async () => {
    const { code, stdout } = await cli('infer', 'captures/researcher-view.pcap');
    expect(code).toBe(0);
    const inv = parseInventory('proposal.yaml', stdout);
    expect(inv.hosts.map((h) => `${h.role} ${h.cidrs.map((c) => c.text).join()}`).sort()).toEqual([
      'node 10.77.0.2',
      'node 10.77.0.3',
      'researcher 10.77.0.1',
    ]);
  });

  it('firewall prints an nft ruleset for a role', async () => {
    const { code, stdout } = await cli('firewall', '--hosts', 'captures/lab.hosts.yaml', '--role', 'node');
    expect(code).toBe(0);
    expect(stdout).toContain('table inet netmatrix');
    expect(stdout).toMatch(/tcp dport 50051/);
    const bad = await cli('firewall', '--hosts', 'captures/lab.hosts.yaml', '--role', 'gui');
    expect(bad.code).toBe(2);
  });

  it('monitor checks its options before it opens an interface: one line, exit 2 (no root needed)', async () => {
    const monitor = (...args: string[]) => cli('monitor', '-i', 'lo', ...args);
    const cases: [string[], string][] = [
      [['--researcher', '10.0.0.1', '--secagg-timeout', '0'], '--secagg-timeout must be a positive number'],
      [['--researcher', '10.0.0.1', '--stats-interval', '-1'], '--stats-interval must be a positive number'],
      [['--researcher', '10.0.0.1', '--duration', '0'], '--duration must be a positive number'],
      [['--researcher', '10.0.0.1', '--max-flows', '0'], '--max-flows must be a positive integer'],
      [['--researcher', '10.0.0.1', '--matrix', 'nope'], 'unknown matrix "nope"'],
      // The loopback interface's own addresses stay localhost: no inventory at all.
      [[], 'no inventory: give --node/--researcher/--vpnserver'],
    ];
    for (const [args, message] of cases) {
      const r = await monitor(...args);
      expect({ args, code: r.code, stdout: r.stdout }).toEqual({ args, code: 2, stdout: '' });
      expect(r.stderr.startsWith(`netmatrix: ${message}`), r.stderr).toBe(true);
      expect(r.stderr.split('\n')).toHaveLength(2);
    }
    const missing = await cli('monitor', '--researcher', '10.0.0.1');
    expect(missing.code).toBe(2);
    expect(missing.stderr).toBe('netmatrix: Missing required argument: interface (see netmatrix --help)\n');
  });
});
