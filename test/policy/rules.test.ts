import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { RulesError } from '../../src/model/errors.js';
import { parseInventory, RoleResolver, inventoryFromFlags } from '../../src/policy/inventory.js';
import { builtinMatrices, loadRuleSet } from '../../src/policy/load.js';
import { parseRuleFile } from '../../src/policy/schema.js';

function ruleError(text: string): string {
  try {
    parseRuleFile('bad.yaml', text);
  } catch (err) {
    expect(err).toBeInstanceOf(RulesError);
    return (err as Error).message;
  }
  throw new Error('expected a RulesError');
}

const ROW = `matrix: t
phase: run
rows:
  - id: a
    from: node
    to: researcher
    transport: tcp
    ports: [50051]
    service: tls
    type: backend
    status: mandatory
`;

describe('shipped rule sets', () => {
  it('lists the documented matrices', () => {
    expect(builtinMatrices()).toEqual(['docker', 'host-services', 'install', 'legacy-mqtt', 'native', 'native-5.4', 'native-http', 'vpn']);
  });

  it('native (revision 001) expects gRPC/TLS on 50051 and keeps GUIs local', () => {
    const rules = loadRuleSet('native');
    const grpc = rules.rows.find((r) => r.id === 'node-researcher-grpc');
    expect(grpc?.service).toEqual(['tls']);
    expect(grpc?.ports).toEqual([{ lo: 50051, hi: 50051 }]);
    expect(grpc?.status).toBe('mandatory');
    expect(rules.rows.filter((r) => r.localOnly).map((r) => r.ports[0]?.lo).sort()).toEqual([6006, 8484, 8888]);
    expect(rules.rows.filter((r) => r.mustClose).map((r) => r.id)).toEqual(['secagg-node', 'secagg-researcher']);
    expect(rules.outOfScope.map((r) => r.id)).toContain('dns');
    expect(rules.phase).toBe('run');
  });

  it('native-http (revision 000) expects plain HTTP on 50051', () => {
    const grpc = loadRuleSet('native-http').rows.find((r) => r.id === 'node-researcher-grpc');
    expect(grpc?.service).toEqual(['http', 'h2c']);
  });

  it('vpn: WireGuard to the vpnserver, backend rows only inside the tunnel', () => {
    const rules = loadRuleSet('vpn');
    const underlay = rules.rows.filter((r) => r.via === 'underlay' && !r.localOnly);
    expect(underlay.map((r) => `${r.from.join()}>${r.to.join()} ${r.transport.join()}/${r.ports[0]?.lo} ${r.service.join()}`)).toEqual([
      'node>vpnserver udp/51820 wireguard',
      'researcher>vpnserver udp/51820 wireguard',
    ]);
    expect(rules.rows.find((r) => r.id === 'node-gui-https')?.ports[0]?.lo).toBe(8443);
  });

  it('--phase install adds outbound HTTP and HTTPS to the Internet', () => {
    const rules = loadRuleSet('native', 'install');
    const install = rules.rows.filter((r) => r.phase === 'install');
    expect(install.map((r) => `${r.to.join()} ${r.ports[0]?.lo}`)).toEqual(['internet 80', 'internet 443']);
    expect(rules.phase).toBe('install');
  });

  it('an unknown matrix name is an error that lists the known ones', () => {
    expect(() => loadRuleSet('nope')).toThrow(/unknown matrix "nope".*native/);
  });
});

describe('rule file validation names file, line and field', () => {
  it('accepts a minimal valid file', () => {
    expect(parseRuleFile('ok.yaml', ROW).rows).toHaveLength(1);
  });

  it('unknown field', () => {
    expect(ruleError(`${ROW}    colour: blue\n`)).toBe(
      'bad.yaml:12: rows[0].colour: unknown field (expected one of: id, from, to, transport, ports, service, alpn, type, status, local-only, must-close, via, comment)',
    );
  });

  it('unknown role', () => {
    expect(ruleError(ROW.replace('to: researcher', 'to: researchr'))).toBe(
      'bad.yaml:6: rows[0] (a).to: "researchr" is not one of node, researcher, vpnserver, internet, localhost',
    );
  });

  it('port range out of order', () => {
    expect(ruleError(ROW.replace('[50051]', '[14099-14000]'))).toBe('bad.yaml:8: rows[0] (a).ports: port range 14099-14000 is out of order');
  });

  it('port out of range and garbage ports', () => {
    expect(ruleError(ROW.replace('[50051]', '[70000]'))).toMatch(/^bad.yaml:8: .*port 70000 is outside 1-65535/);
    expect(ruleError(ROW.replace('[50051]', '[http]'))).toMatch(/^bad.yaml:8: .*"http" is not a port/);
  });

  it('missing field', () => {
    expect(ruleError(ROW.replace('    status: mandatory\n', ''))).toBe('bad.yaml:4: rows[0] (a).status: missing required field');
  });

  it('duplicate id', () => {
    const dup = `${ROW}${ROW.split('rows:\n')[1]}`;
    expect(ruleError(dup)).toMatch(/^bad.yaml:12: rows\[1\]\.id: duplicate row id "a"/);
  });

  it('local-only rows come from localhost', () => {
    expect(ruleError(`${ROW}    local-only: true\n`)).toMatch(/^bad.yaml:5: .*local-only row must come from localhost/);
  });

  it('broken YAML', () => {
    expect(ruleError('rows: [\n')).toMatch(/^bad.yaml:\d+: not valid YAML/);
  });

  it('a bad file given with --matrix is rejected whole', () => {
    const dir = mkdtempSync(join(tmpdir(), 'nm-rules-'));
    const file = join(dir, 'site.yaml');
    writeFileSync(file, ROW.replace('service: tls', 'service: ftp'));
    expect(() => loadRuleSet(file)).toThrow(`${file}:9: rows[0] (a).service: "ftp" is not one of tls, http, h2c, wireguard, mpspdz, unknown`);
  });
});

describe('inventory', () => {
  const INV = `hosts:
  - name: node1
    role: node
    addresses: [10.0.0.2, "fd00::2"]
  - name: lab
    role: researcher
    addresses: [10.1.0.0/24]
tunnel: [10.78.0.0/24]
`;

  it('resolves roles, hosts, loopback, tunnel and internet', () => {
    const r = new RoleResolver(parseInventory('inv.yaml', INV));
    expect(r.resolve('10.0.0.2')).toEqual({ role: 'node', host: 'node1', loopback: false, group: false, tunnel: false });
    expect(r.resolve('fd00::2').host).toBe('node1');
    // A CIDR stands for many machines: each address is its own host.
    expect(r.resolve('10.1.0.7')).toMatchObject({ role: 'researcher', host: '10.1.0.7' });
    expect(r.resolve('127.0.0.1')).toMatchObject({ role: 'localhost', loopback: true });
    expect(r.resolve('::1')).toMatchObject({ role: 'localhost', loopback: true });
    expect(r.resolve('8.8.8.8').role).toBe('internet');
    expect(r.resolve('224.0.0.251').group).toBe(true);
    expect(r.resolve('10.78.0.5').tunnel).toBe(true);
  });

  it('overlapping blocks with different roles are an error naming both', () => {
    const bad = `${INV.split('tunnel')[0]}  - name: odd\n    role: node\n    addresses: [10.1.0.9]\n`;
    expect(() => parseInventory('inv.yaml', bad)).toThrow(
      'inv.yaml:8: hosts (odd).addresses: 10.1.0.9 (node) overlaps 10.1.0.0/24 of lab (researcher, inv.yaml:5)',
    );
  });

  it('unknown role and bad address', () => {
    expect(() => parseInventory('inv.yaml', INV.replace('role: node', 'role: nod'))).toThrow(
      'inv.yaml:3: hosts[0].role: unknown role "nod" (expected node, researcher, vpnserver)',
    );
    expect(() => parseInventory('inv.yaml', INV.replace('10.0.0.2', '10.0.0.300'))).toThrow(
      'inv.yaml:4: hosts[0].addresses[0]: "10.0.0.300" is not an IP address or CIDR block',
    );
  });

  it('flags: each address is a host; conflicting roles are a usage error', () => {
    const inv = inventoryFromFlags({ node: ['10.0.0.2'], researcher: ['10.0.0.1'] });
    expect(inv.hosts.map((h) => `${h.role}:${h.name}`)).toEqual(['node:10.0.0.2', 'researcher:10.0.0.1']);
    expect(() => inventoryFromFlags({ node: ['10.0.0.0/24'], researcher: ['10.0.0.1'] })).toThrow(/overlaps/);
    expect(() => inventoryFromFlags({ node: ['nodeone'] })).toThrow('--node nodeone: not an IP address or CIDR block');
  });
});
