import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { CliIO } from '../../src/cli/options.js';
import { run } from '../../src/cli/run.js';

/** `netmatrix rules ...argv`, in-process. */
async function rules(...argv: string[]) {
  let out = '';
  let err = '';
  const io: CliIO = { stdout: (s) => (out += s), stderr: (s) => (err += s), stdoutIsTTY: false, stderrIsTTY: false };
  const code = await run(['rules', ...argv], io);
  return { code, out, err };
}

/** The table's data lines as arrays of trimmed cells. */
function cells(text: string): string[][] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('│'))
    .map((l) => l.split('│').slice(1, -1).map((c) => c.trim()));
}

/** The text of one component's section. */
function section(text: string, component: string): string {
  const start = text.indexOf(`On the ${component} component:`);
  if (start < 0) return '';
  const next = text.indexOf('\nOn the ', start + 1);
  const scope = text.indexOf('\nOut of the matrix scope', start + 1);
  const ends = [next, scope].filter((i) => i > 0);
  return text.slice(start, ends.length > 0 ? Math.min(...ends) : undefined);
}

describe('netmatrix rules list', () => {
  it('lists every shipped rule set with its title and file', async () => {
    const { code, out, err } = await rules('list');
    expect(code).toBe(0);
    expect(err).toBe('');
    const rows = cells(out);
    expect(rows[0]).toEqual(['name', 'title', 'file']);
    const names = rows.slice(1).map((r) => r[0]);
    expect(names).toEqual(expect.arrayContaining(['native', 'native-http', 'vpn', 'native-5.4', 'docker', 'legacy-mqtt', 'install', 'host-services']));
    expect(rows.find((r) => r[0] === 'native')).toEqual(['native', 'Fed-BioMed without VPN/containers (gRPC/TLS), documentation revision 001', 'rules/native.yaml']);
    expect(out).not.toMatch(/\x1b\[/);
  });
});

describe('netmatrix rules show', () => {
  it('native prints the node and researcher tables of the 001 page', async () => {
    const { code, out } = await rules('show', 'native');
    expect(code).toBe(0);
    expect(out).toMatch(/^native: Fed-BioMed without VPN\/containers/);
    expect(cells(section(out, 'node'))).toEqual([
      ['dir', 'source', 'destination', 'port', 'service', 'type', 'status', 'comment'],
      ['out', 'node', 'researcher', 'TCP/50051', 'gRPC/TLS', 'backend', 'mandatory', 'node-researcher communications'],
      ['out', 'node', 'other nodes + researcher', 'TCP/14000-14099', 'MP-SPDZ (or TLS)', 'backend', 'optional', 'secagg key negotiation'],
      ['in', 'other nodes + researcher', 'node', 'TCP/14000-14099', 'MP-SPDZ (or TLS)', 'backend', 'optional', 'secagg key negotiation'],
      ['in', 'localhost', 'node', 'TCP/8484', 'HTTP', 'user', 'optional', 'node GUI'],
    ]);
    expect(cells(section(out, 'researcher'))).toEqual([
      ['dir', 'source', 'destination', 'port', 'service', 'type', 'status', 'comment'],
      ['in', 'nodes', 'researcher', 'TCP/50051', 'gRPC/TLS', 'backend', 'mandatory', 'node-researcher communications'],
      ['in', 'nodes', 'researcher', 'TCP/14000-14099', 'MP-SPDZ (or TLS)', 'backend', 'optional', 'secagg key negotiation'],
      ['out', 'researcher', 'nodes', 'TCP/14000-14099', 'MP-SPDZ (or TLS)', 'backend', 'optional', 'secagg key negotiation'],
      ['in', 'localhost', 'researcher', 'TCP/8888', 'HTTP', 'user', 'optional', 'Jupyter'],
      ['in', 'localhost', 'researcher', 'TCP/6006', 'HTTP', 'user', 'optional', 'Tensorboard'],
    ]);
    expect(section(out, 'vpnserver')).toBe('');
    expect(out).toContain('Out of the matrix scope');
    expect(out).toContain('UDP/53 TCP/53');
  });

  it('native-5.4 has nothing entering a node but the local GUI', async () => {
    const { out } = await rules('show', 'native-5.4');
    const node = cells(section(out, 'node')).slice(1);
    expect(node.filter((r) => r[0] === 'in')).toEqual([['in', 'localhost', 'node', 'TCP/8484', 'HTTP', 'user', 'optional', 'node GUI']]);
    expect(out).not.toContain('14000');
  });

  it('vpn prints the vpnserver table and HTTPS for the GUI', async () => {
    const { out } = await rules('show', 'vpn');
    expect(cells(section(out, 'node'))[1]).toEqual(['out', 'node', 'vpnserver', 'UDP/51820', 'WireGuard', 'backend', 'mandatory', '']);
    expect(cells(section(out, 'node'))[2]).toEqual(['in', 'localhost', 'node', 'TCP/8443', 'HTTPS', 'user', 'optional', 'node GUI']);
    expect(cells(section(out, 'vpnserver')).slice(1).map((r) => r.slice(0, 3))).toEqual([
      ['in', 'nodes + researcher', 'vpnserver'],
    ]);
  });

  it('legacy-mqtt shows the broker and restful service on the researcher side; install shows its rows', async () => {
    const { out } = await rules('show', 'legacy-mqtt');
    const node = cells(section(out, 'node')).slice(1);
    expect(node[0]).toEqual(['out', 'node', 'researcher', 'TCP/1883', 'any (not checked)', 'backend', 'mandatory', expect.stringContaining('MQTT')]);
    expect(node[1]?.slice(0, 5)).toEqual(['out', 'node', 'researcher', 'TCP/8844', 'HTTP']);
    const install = await rules('show', 'install');
    expect(install.code).toBe(0);
    expect(cells(section(install.out, 'node'))[1]?.slice(0, 5)).toEqual(['out', 'node', 'Internet', 'TCP/80', 'HTTP']);
  });

  it('an unknown name is a usage error (exit 2, one line)', async () => {
    const { code, out, err } = await rules('show', 'nope');
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err).toMatch(/^netmatrix: unknown matrix "nope".*\n$/);
    expect((await rules('show')).code).toBe(2);
  });
});

describe('netmatrix rules check', () => {
  const dir = mkdtempSync(join(tmpdir(), 'netmatrix-rules-'));

  it('a valid file: its row count, exit 0', async () => {
    const file = join(dir, 'mine.yaml');
    writeFileSync(
      file,
      'matrix: mine\ntitle: my site\ninclude: [host-services]\nrows:\n  - { id: grpc, from: node, to: researcher, transport: tcp, ports: [50051], service: tls, type: backend, status: mandatory }\n',
    );
    const { code, out, err } = await rules('check', file);
    expect({ code, out, err }).toEqual({ code: 0, out: `${file}: 1 rows, valid\n`, err: '' });
  });

  it('a bad file: the RulesError line naming file, line and field, exit 2', async () => {
    const file = join(dir, 'bad.yaml');
    writeFileSync(file, 'matrix: bad\nrows:\n  - { id: x, from: broker, to: researcher, transport: tcp, ports: [1883], service: mqtt, type: backend, status: optional }\n');
    const { code, out, err } = await rules('check', file);
    expect(code).toBe(2);
    expect(out).toBe('');
    expect(err.split('\n')).toHaveLength(2);
    expect(err).toContain(file);
    expect(err).toMatch(/broker/);
  });

  it('a missing file, exit 2', async () => {
    const { code, err } = await rules('check', join(dir, 'missing.yaml'));
    expect(code).toBe(2);
    expect(err).toMatch(/cannot read/);
  });
});
