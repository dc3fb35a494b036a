import { describe, expect, it } from 'vitest';
import type { JudgedFlow } from '../../src/policy/judge.js';
import { FlowGroups } from '../../src/report/summary.js';
import { encapsulationLine, evidence } from '../../src/report/table.js';
import { Rng } from '../helpers/random.mjs';

const base: JudgedFlow = {
  id: 1,
  transport: 'tcp',
  ipProto: 6,
  client: { ip: '203.0.113.9', port: 40000, role: 'internet', packets: 1, bytes: 60 },
  server: { ip: '10.0.0.2', port: 22, role: 'node', packets: 1, bytes: 60 },
  service: 'unknown',
  serviceBy: 'port',
  state: 'S0',
  history: 'S',
  packets: 1,
  bytes: 60,
  start: 1_700_000_000,
  end: 1_700_000_000,
  tunnel: false,
  endReason: 'idle',
  rule: null,
  targets: [],
  verdict: 'violation',
  findings: [],
};

describe('FlowGroups', () => {
  it('sorts groups by client role, server role, then port as numbers, as localeCompare orders them', () => {
    const rng = new Rng(14);
    const groups = new FlowGroups(1000);
    const roles = ['internet', 'node', 'researcher', 'vpnserver', 'localhost'] as const;
    for (let i = 0; i < 500; i++) {
      groups.add({
        ...base,
        transport: rng.pick(['tcp', 'udp'] as const),
        client: { ...base.client, role: rng.pick(roles) },
        server: { ...base.server, role: rng.pick(roles), port: rng.int(0, 65535) },
      });
    }
    const sorted = groups.sorted();
    const expected = [...sorted].sort(
      (a, b) =>
        a.clientRole.localeCompare(b.clientRole) ||
        a.serverRole.localeCompare(b.serverRole) ||
        a.port.localeCompare(b.port, undefined, { numeric: true }),
    );
    expect(sorted.map((g) => `${g.clientRole} ${g.serverRole} ${g.port}`)).toEqual(expected.map((g) => `${g.clientRole} ${g.serverRole} ${g.port}`));
    const ports = sorted.filter((g) => g.clientRole === 'internet' && g.serverRole === 'node' && g.port.startsWith('tcp/')).map((g) => Number(g.port.slice(4)));
    expect(ports.length).toBeGreaterThan(3);
    expect(ports).toEqual([...ports].sort((a, b) => a - b));
  });
});

describe('encapsulation in the readable reports', () => {
  it('a flow that came through encapsulations says so in its evidence; a plain flow does not', () => {
    expect(evidence(base)).toBe('unknown (by port) S0');
    expect(evidence({ ...base, encapsulation: ['vlan', 'gtp'] })).toBe('unknown (by port) S0 via vlan/gtp');
  });

  it('the summary line lists packets per encapsulation, and is absent without any', () => {
    expect(encapsulationLine(undefined)).toBeUndefined();
    expect(encapsulationLine({ vlan: 4, gtp: 2 })).toBe('encapsulated packets: vlan 4, gtp 2');
  });
});
