/**
 * The engine as the monitor drives it: alerts at the packet that makes a flow a violation, once per
 * flow and code; secagg sessions reported while still open; the evidence frames, judged again,
 * give the same violations.
 */
import { describe, expect, it } from 'vitest';
import { readCaptureFile } from '../../src/capture/file.js';
import type { RawFrame } from '../../src/capture/frame.js';
import { Engine, type Alert } from '../../src/engine/engine.js';
import type { JudgedFlow } from '../../src/policy/judge.js';
import { loadInventoryFile, loadRuleSet } from '../../src/policy/load.js';
import { bytes, eth, frame, ipv4, tcpFrame, v4 } from '../helpers/frames.js';

function replay(file: string, opts: { secaggTimeout?: number; matrix?: string; idleAfter?: number } = {}) {
  const alerts: Alert[] = [];
  const flows: JudgedFlow[] = [];
  const evidence: RawFrame[] = [];
  const engine = new Engine({
    rules: loadRuleSet(opts.matrix ?? 'native'),
    inventory: loadInventoryFile('captures/lab.hosts.yaml'),
    onFlow: (f) => flows.push(f),
    onAlert: (a) => alerts.push(a),
    onEvidence: (f) => evidence.push({ ...f, data: f.data.slice() }),
    ...(opts.secaggTimeout === undefined ? {} : { secaggTimeout: opts.secaggTimeout }),
  });
  const times: number[] = [];
  readCaptureFile(file, (frame) => {
    const before = alerts.length;
    const decoded = engine.frame(frame);
    if (alerts.length > before && decoded) times.push(engine.decoder.packet.ts);
  });
  // Live, the clock keeps ticking after the last packet.
  if (opts.idleAfter !== undefined) engine.tick(engine.table.time + opts.idleAfter);
  const atEnd = alerts.length;
  engine.finish();
  return { alerts, flows, evidence, times, atEnd, engine };
}

const key = (a: Alert): string => `${a.finding.code} ${a.flow.client.ip} -> ${a.flow.server.ip}:${a.flow.server.port}`;

describe('live alerts', () => {
  it('an inbound SYN alerts at the SYN, before the flow ends', () => {
    const { alerts, flows, times } = replay('captures/node-inbound.pcap');
    expect(alerts.map(key).sort()).toEqual(['inbound-to-node 10.77.0.66 -> 10.77.0.2:22', 'inbound-to-node 10.77.0.66 -> 10.77.0.2:9000']);
    // The alert's time is the first packet of its flow: the SYN.
    for (const a of alerts) {
      const flow = flows.find((f) => f.id === a.flow.id);
      expect(a.at).toBe(flow?.start);
      expect(a.flow.state).toBe('S0');
    }
    expect(times).toHaveLength(2);
  });

  it('plaintext on 50051 alerts when the payload shows, once per flow', () => {
    const { alerts } = replay('captures/node-h2c.pcap');
    expect(new Set(alerts.map((a) => a.finding.code))).toEqual(new Set(['protocol-mismatch']));
    expect(new Set(alerts.map((a) => a.flow.id)).size).toBe(alerts.length);
    for (const a of alerts) expect(a.flow.service).toBe('h2c');
  });

  it('a GUI reached from another host raises both codes at the SYN', () => {
    const { alerts } = replay('captures/node-gui-exposed.pcap');
    expect(alerts.map(key).sort()).toEqual([
      'gui-not-localhost 10.77.0.3 -> 10.77.0.2:8484',
      'gui-not-localhost 10.77.0.66 -> 10.77.0.2:8484',
      'inbound-to-node 10.77.0.3 -> 10.77.0.2:8484',
      'inbound-to-node 10.77.0.66 -> 10.77.0.2:8484',
    ]);
  });

  it('a clean capture raises nothing and keeps no evidence', () => {
    const { alerts, evidence } = replay('captures/node-clean.pcapng');
    expect(alerts).toEqual([]);
    expect(evidence).toEqual([]);
  });

  it('a secagg session open past the timeout alerts while still open; without the timeout only at the end', () => {
    // The session opens 50 ms before the capture's last packet; the clock runs on for 2 s.
    const timed = replay('captures/node-secagg-open.pcap', { secaggTimeout: 1, idleAfter: 2 });
    expect(timed.alerts.map(key)).toEqual(['secagg-not-closed 10.77.0.3 -> 10.77.0.2:14001']);
    expect(timed.atEnd).toBe(1);
    expect(timed.alerts[0]?.finding.message).toMatch(/still open after \d+ s/);
    const early = replay('captures/node-secagg-open.pcap', { secaggTimeout: 1, idleAfter: 0.5 });
    expect(early.atEnd).toBe(0);
    const untimed = replay('captures/node-secagg-open.pcap');
    expect(untimed.atEnd).toBe(0);
    expect(untimed.alerts.map(key)).toEqual(['secagg-not-closed 10.77.0.3 -> 10.77.0.2:14001']);
  });

  it('the evidence frames, judged again, show the same violations and nothing of the clean flows', () => {
    const first = replay('captures/node-gui-exposed.pcap');
    const engine2Flows: JudgedFlow[] = [];
    const engine2 = new Engine({
      rules: loadRuleSet('native'),
      inventory: loadInventoryFile('captures/lab.hosts.yaml'),
      onFlow: (f) => engine2Flows.push(f),
    });
    for (const f of first.evidence) engine2.frame(f);
    engine2.finish();
    const violating = (fl: JudgedFlow[]) =>
      fl.filter((f) => f.verdict === 'violation').map((f) => `${f.client.ip}:${f.client.port} ${f.state} ${f.packets} ${f.findings.map((x) => x.code).join()}`).sort();
    expect(violating(engine2Flows)).toEqual(violating(first.flows));
    expect(engine2Flows.every((f) => f.verdict === 'violation')).toBe(true);
  });
});

describe('ICMP and other IP protocols, live', () => {
  it('a ping and an OSPF hello toward a node raise no alert and keep no evidence; they end as out-of-scope flows', () => {
    const alerts: Alert[] = [];
    const flows: JudgedFlow[] = [];
    const evidence: RawFrame[] = [];
    const engine = new Engine({
      rules: loadRuleSet('native'),
      inventory: loadInventoryFile('captures/lab.hosts.yaml'),
      onFlow: (f) => flows.push(f),
      onAlert: (a) => alerts.push(a),
      onEvidence: (f) => evidence.push(f),
    });
    const node = v4('10.77.0.2');
    const outside = v4('10.77.0.66');
    const echo = (type: number): Uint8Array => bytes([type, 0, 0, 0, 0, 1, 0, 1], new Uint8Array(56));
    engine.frame(frame(1, eth(0x0800, ipv4({ src: outside, dst: node, proto: 1 }, echo(8))), 1000));
    engine.frame(frame(1, eth(0x0800, ipv4({ src: node, dst: outside, proto: 1 }, echo(0))), 1000.001));
    engine.frame(frame(1, eth(0x0800, ipv4({ src: outside, dst: node, proto: 89 }, new Uint8Array(44))), 1001));
    // The same peer's SYN to the node does alert: the engine is watching.
    engine.frame(frame(1, tcpFrame({ src: '10.77.0.66', dst: '10.77.0.2', sport: 40000, dport: 22, flags: 0x02, seq: 1 }), 1002));
    engine.finish();
    expect(alerts.map((a) => `${a.finding.code} ${a.flow.transport}`)).toEqual(['inbound-to-node tcp']);
    expect(evidence).toHaveLength(1);
    expect(flows.map((f) => `${f.transport} ${f.client.ip}:${f.client.port} -> ${f.server.ip}:${f.server.port} ${f.verdict} ${f.findings.length}`)).toEqual([
      'icmp 10.77.0.66:8 -> 10.77.0.2:0 out-of-scope 0',
      'unknown_transport 10.77.0.66:0 -> 10.77.0.2:0 out-of-scope 0',
      'tcp 10.77.0.66:40000 -> 10.77.0.2:22 violation 1',
    ]);
    expect(engine.flowStats.otherPackets).toBe(0);
  });
});
