import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../../src/engine/analyze.js';
import { inventoryFromFlags } from '../../src/policy/inventory.js';
import type { JudgedFlow } from '../../src/policy/judge.js';
import { loadInventoryFile, loadRuleSet } from '../../src/policy/load.js';
import { flowFields } from '../../src/report/json.js';
import { Tally } from '../../src/report/summary.js';
import { eth, gtp, ipv4, tcp, udp } from '../helpers/frames.js';
import { writePcap } from '../helpers/pcap.js';

describe('analyzeCaptures progress', () => {
  it('reports bytes done against the total size of all inputs (the progress bar needs the total)', () => {
    const files = ['captures/node-clean.pcapng', 'captures/node-inbound.pcap'];
    const total = files.reduce((n, f) => n + statSync(f).size, 0);
    const calls: [number, number][] = [];
    analyzeCaptures({
      files,
      rules: loadRuleSet('native'),
      inventory: loadInventoryFile('captures/lab.hosts.yaml'),
      onFlow: () => undefined,
      onProgress: (done, all) => calls.push([done, all]),
    });
    expect(calls.length).toBeGreaterThanOrEqual(files.length);
    // Every call reports the same total, the files' summed size: a total of 0 would keep the progress bar hidden.
    expect(new Set(calls.map(([, all]) => all))).toEqual(new Set([total]));
    expect(calls.at(-1)).toEqual([total, total]);
    for (let i = 1; i < calls.length; i++) expect(calls[i]![0]).toBeGreaterThanOrEqual(calls[i - 1]![0]);
  });
});

describe('encapsulated flows', () => {
  it('a UDP tunnel is a flow and so is each packet inside it; both tracked, the inner ones carry their encapsulation', () => {
    const node = [10, 0, 0, 2];
    const researcher = [10, 0, 0, 1];
    const inner = (flags: number, fromNode: boolean): Uint8Array =>
      ipv4(
        { src: fromNode ? node : researcher, dst: fromNode ? researcher : node },
        tcp({ sport: fromNode ? 40000 : 50051, dport: fromNode ? 50051 : 40000, flags, seq: fromNode ? 100 : 500, ack: fromNode ? 0 : 101 }),
      );
    const tunnel = (payload: Uint8Array, up: boolean): Uint8Array =>
      eth(0x0800, ipv4({ src: up ? [192, 0, 2, 1] : [192, 0, 2, 2], dst: up ? [192, 0, 2, 2] : [192, 0, 2, 1], proto: 17 }, udp({ sport: 2152, dport: 2152 }, gtp(payload))), [[0x8100, 7]]);
    const file = writePcap(join(mkdtempSync(join(tmpdir(), 'nm-encap-')), 'gtp.pcap'), [
      { ts: 1, data: tunnel(inner(0x02, true), true) },
      { ts: 1.001, data: tunnel(inner(0x12, false), false) },
      { ts: 1.002, data: eth(0x0800, ipv4({ src: node, dst: researcher, proto: 6 }, tcp({ sport: 40001, dport: 50051, flags: 0x02 }))) },
    ]);
    const flows: JudgedFlow[] = [];
    const result = analyzeCaptures({
      files: [file],
      rules: loadRuleSet('native'),
      inventory: inventoryFromFlags({ node: ['10.0.0.2'], researcher: ['10.0.0.1'] }),
      onFlow: (f) => flows.push(f),
    });
    const seen = flows
      .map((f) => `${f.transport} ${f.client.ip}:${f.client.port} ${f.server.ip}:${f.server.port} ${f.state} ${f.history} ${JSON.stringify(f.encapsulation)}`)
      .sort();
    expect(seen).toEqual([
      'tcp 10.0.0.2:40000 10.0.0.1:50051 S1 Sh ["vlan","gtp"]',
      'tcp 10.0.0.2:40001 10.0.0.1:50051 S0 S undefined',
      'udp 192.0.2.1:2152 192.0.2.2:2152 SF Dd ["vlan"]',
    ]);
    // The inner connection is judged like any other: a node's gRPC connection to the researcher.
    expect(flows.find((f) => f.client.port === 40000)?.rule).toBe('node-researcher-grpc');
    expect(new Tally().summary(result).decode.encapsulations).toEqual({ vlan: 4, gtp: 2 });
    // No encapsulation, no field.
    const plain = flows.find((f) => f.client.port === 40001) as JudgedFlow;
    expect(`{${flowFields(plain)}}`).not.toContain('encapsulation');
    expect(JSON.parse(`{${flowFields(flows.find((f) => f.client.port === 40000) as JudgedFlow)}}`).encapsulation).toEqual(['vlan', 'gtp']);
  });
});
