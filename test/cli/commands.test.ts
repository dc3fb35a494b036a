/** The rules and infer commands are reachable from the command line (their logic has its own tests). */
import { describe, expect, it } from 'vitest';
import { run } from '../../src/cli/run.js';
import { parseInventory } from '../../src/policy/inventory.js';

async function cli(...argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await run(argv, { stdout: (t) => (stdout += t), stderr: (t) => (stderr += t), stdoutIsTTY: false, stderrIsTTY: false });
  return { code, stdout, stderr };
}

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
});
