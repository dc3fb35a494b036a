import { describe, expect, it } from 'vitest';
import { PAYLOAD_CLASSIFIERS } from '../../src/classify/classify.js';
import type { Packet } from '../../src/decode/packet.js';
import { FlowTable } from '../../src/flow/table.js';
import { inventoryFromFlags } from '../../src/policy/inventory.js';
import { Judge, type JudgedFlow } from '../../src/policy/judge.js';
import { loadRuleSet } from '../../src/policy/load.js';
import { connection } from '../helpers/packets.js';

const NODE = '10.0.0.2';
const NODE2 = '10.0.0.3';
const RES = '10.0.0.1';
const OUT = '203.0.113.66';

function judgeAll(packets: Packet[], matrix: string): JudgedFlow[] {
  const inventory = inventoryFromFlags({ node: [NODE, NODE2], researcher: [RES], vpnserver: [], tunnel: [] });
  const judge = new Judge(loadRuleSet(matrix), inventory);
  const flows: JudgedFlow[] = [];
  const table = new FlowTable({ isServicePort: judge.isServicePort }, (f) => flows.push(judge.judge(f)), PAYLOAD_CLASSIFIERS);
  for (const p of packets) table.add(p);
  table.flush();
  return flows;
}

const codes = (f: JudgedFlow | undefined): string[] => (f?.findings ?? []).map((x) => x.code);
const GET = new TextEncoder().encode('GET / HTTP/1.1\r\nHost: x\r\n\r\n');
/** An MQTT 3.1.1 CONNECT packet: no signature netmatrix knows. */
const MQTT_CONNECT = new Uint8Array([0x10, 0x10, 0x00, 0x04, 0x4d, 0x51, 0x54, 0x54, 0x04, 0x02, 0x00, 0x3c, 0x00, 0x04, 0x6e, 0x6f, 0x64, 0x65]);

describe('the rule sets of the other releases load', () => {
  it.each(['native-5.4', 'docker', 'legacy-mqtt'])('%s is a run-time matrix with host services', (name) => {
    const rules = loadRuleSet(name);
    expect(rules.name).toBe(name);
    expect(rules.phase).toBe('run');
    expect(rules.rows.length).toBeGreaterThan(0);
    expect(rules.outOfScope.map((r) => r.id)).toContain('dns');
    expect(rules.rows.find((r) => r.id === 'node-researcher-grpc' || r.id === 'mqtt-broker')?.status).toBe('mandatory');
  });

  it('native-5.4 has no row into a node but the local GUI', () => {
    const rules = loadRuleSet('native-5.4');
    expect(rules.rows.filter((r) => r.to.includes('node')).map((r) => r.id)).toEqual(['node-gui']);
  });
});

describe('native-5.4', () => {
  it('a node -> node flow to 14000 is inbound-to-node', () => {
    const flows = judgeAll(connection({ t0: 1, client: NODE2, cport: 40000, server: NODE, sport: 14000 }), 'native-5.4');
    expect(flows[0]?.verdict).toBe('violation');
    expect(codes(flows[0])).toContain('inbound-to-node');
    expect(flows[0]?.rule).toBeNull();
  });

  it('researcher -> node 14000 too, and node -> researcher 14000 is not in the matrix', () => {
    const flows = judgeAll(
      [
        ...connection({ t0: 1, client: RES, cport: 40000, server: NODE, sport: 14000 }),
        ...connection({ t0: 2, client: NODE, cport: 40001, server: RES, sport: 14000 }),
      ],
      'native-5.4',
    );
    expect(codes(flows[0])).toContain('inbound-to-node');
    expect(codes(flows[1])).toEqual(['not-in-matrix']);
  });
});

describe('docker', () => {
  it('Tensorboard on 6007 from localhost is allowed', () => {
    const flows = judgeAll(connection({ t0: 1, client: '127.0.0.1', cport: 5000, server: '127.0.0.1', sport: 6007, request: GET }), 'docker');
    expect(flows[0]?.rule).toBe('researcher-tensorboard');
    expect(flows[0]?.verdict).toBe('allowed');
  });

  it('an extra node GUI on 8485 reached from another host is gui-not-localhost', () => {
    const flows = judgeAll(connection({ t0: 1, client: OUT, cport: 5000, server: NODE, sport: 8485, request: GET }), 'docker');
    expect(flows[0]?.verdict).toBe('violation');
    expect(codes(flows[0])).toEqual(expect.arrayContaining(['inbound-to-node', 'gui-not-localhost']));
  });

  it('Tensorboard 6007 of the researcher reached from a node is gui-not-localhost', () => {
    const flows = judgeAll(connection({ t0: 1, client: NODE, cport: 5000, server: RES, sport: 6007, request: GET }), 'docker');
    expect(codes(flows[0])).toEqual(['gui-not-localhost']);
  });
});

describe('legacy-mqtt', () => {
  it('node -> researcher 1883 (MQTT, unrecognised payload) and 8844 (HTTP) are allowed', () => {
    const flows = judgeAll(
      [
        ...connection({ t0: 1, client: NODE, cport: 40000, server: RES, sport: 1883, request: MQTT_CONNECT }),
        ...connection({ t0: 2, client: NODE, cport: 40001, server: RES, sport: 8844, request: GET }),
      ],
      'legacy-mqtt',
    );
    expect(flows.map((f) => [f.rule, f.verdict])).toEqual([
      ['mqtt-broker', 'allowed'],
      ['restful', 'allowed'],
    ]);
    expect(flows[0]?.service).toBe('unknown');
    expect(flows[1]?.service).toBe('http');
  });

  it('HTTP on the broker port is a protocol mismatch; the broker never reaches into a node', () => {
    const flows = judgeAll(
      [
        ...connection({ t0: 1, client: NODE, cport: 40000, server: RES, sport: 1883, request: GET }),
        ...connection({ t0: 2, client: RES, cport: 40001, server: NODE, sport: 1883 }),
      ],
      'legacy-mqtt',
    );
    expect(codes(flows[0])).toEqual(['protocol-mismatch']);
    expect(codes(flows[1])).toContain('inbound-to-node');
  });
});
