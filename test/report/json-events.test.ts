/** The monitor's JSON lines (JsonlEventWriter): the fields the README documents, in order, escaped as the reports escape. */
import { describe, expect, it } from 'vitest';
import { analyzeCaptures } from '../../src/engine/analyze.js';
import type { JudgedFlow } from '../../src/policy/judge.js';
import { loadInventoryFile, loadRuleSet } from '../../src/policy/load.js';
import { flowFields, JsonlEventWriter } from '../../src/report/json.js';
import { Tally } from '../../src/report/summary.js';

function violatingFlow(): JudgedFlow {
  const flows: JudgedFlow[] = [];
  analyzeCaptures({ files: ['captures/node-gui-exposed.pcap'], rules: loadRuleSet('native', 'run'), inventory: loadInventoryFile('captures/lab.hosts.yaml'), onFlow: (f) => flows.push(f) });
  const flow = flows.find((f) => f.findings.length > 0);
  if (!flow) throw new Error('node-gui-exposed.pcap has no violating flow');
  return flow;
}

function lines(): { writer: JsonlEventWriter; text: () => string } {
  let text = '';
  return { writer: new JsonlEventWriter((t) => (text += t)), text: () => text };
}

describe('JsonlEventWriter (monitor events)', () => {
  it('an alert is one line: event, at, the flow record of the JSON report, then the finding', () => {
    const flow = violatingFlow();
    const finding = flow.findings[0]!;
    const { writer, text } = lines();
    writer.alert(1_700_000_000.25, flow, finding);
    expect(text().endsWith('\n')).toBe(true);
    expect(text().split('\n')).toHaveLength(2);
    const parsed = JSON.parse(text()) as Record<string, unknown>;
    const record = JSON.parse(`{${flowFields(flow)}}`) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['event', 'at', ...Object.keys(record), 'finding']);
    expect(parsed).toEqual({ event: 'alert', at: '2023-11-14T22:13:20.250000Z', ...record, finding: { code: finding.code, severity: finding.severity, message: finding.message } });
  });

  it('strings from packets cannot reach a terminal raw: controls, line separators and bidi marks are escaped', () => {
    const flow = violatingFlow();
    const { writer, text } = lines();
    writer.alert(0, flow, { code: 'inbound-to-node', severity: 'violation', message: 'sni \u001b[2J\u2028\u202e\u0085' });
    writer.event('drops', 0, { interface: 'eth\u001b0\u2029' });
    expect(text()).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202e]/);
    const [alert, drops] = text().trimEnd().split('\n').map((l) => JSON.parse(l) as { finding?: { message: string }; interface?: string });
    expect(alert?.finding?.message).toBe('sni \u001b[2J\u2028\u202e\u0085');
    expect(drops?.interface).toBe('eth\u001b0\u2029');
  });

  it('other events: event and at first, then the fields in their own order', () => {
    const { writer, text } = lines();
    writer.event('drops', 100, { interface: 'eth0', dropped: 5, ifDropped: 0, since: '1970-01-01T00:01:39.000000Z', totalDropped: 5, totalIfDropped: 0 });
    expect(text()).toBe(
      '{"event":"drops","at":"1970-01-01T00:01:40.000000Z","interface":"eth0","dropped":5,"ifDropped":0,"since":"1970-01-01T00:01:39.000000Z","totalDropped":5,"totalIfDropped":0}\n',
    );
  });

  it('the summary carries why the monitor stopped, the fields of analyze\'s summary and the capture findings', () => {
    const rules = loadRuleSet('native', 'run');
    const inventory = loadInventoryFile('captures/lab.hosts.yaml');
    const tally = new Tally();
    const result = analyzeCaptures({ files: ['captures/node-gui-exposed.pcap'], rules, inventory, onFlow: (f) => tally.add(f) });
    tally.addCapture(result.captureFindings);
    const summary = tally.summary(result);
    const { writer, text } = lines();
    writer.summary(200, 'SIGINT', summary, result.captureFindings);
    const parsed = JSON.parse(text()) as Record<string, unknown>;
    expect(Object.keys(parsed)).toEqual(['event', 'at', 'stoppedBy', ...Object.keys(summary).filter((k) => k !== 'captureFindings'), 'captureFindings']);
    expect(parsed).toEqual(JSON.parse(JSON.stringify({ event: 'summary', at: '1970-01-01T00:03:20.000000Z', stoppedBy: 'SIGINT', ...summary, captureFindings: result.captureFindings })));
    expect(parsed.exitCode).toBe(1);
  });
});
